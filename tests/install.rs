//! The admin's path without Docker, as README.md writes it: the systemd unit in `contrib/`
//! (verified by `systemd-analyze verify` where it exists), and the backup and restore
//! commands, run on a real state folder.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;
use std::process::{Command, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The unit's `Key=value` lines, in order.
fn unit_settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_systemd_unit_runs_guichet_confined_as_its_own_user() {
    let unit = std::fs::read_to_string(root().join("contrib/guichet.service")).unwrap();
    let settings = unit_settings(&unit);
    let get = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("User"), ["guichet"]);
    assert_eq!(get("WorkingDirectory"), ["/etc/guichet"]);
    assert_eq!(get("StateDirectory"), ["guichet"]);
    assert_eq!(get("StateDirectoryMode"), ["0700"]);
    // The state goes where systemd creates it for that user, whatever the file says.
    assert_eq!(get("Environment"), ["GUICHET_STATE_DIR=/var/lib/guichet"]);
    assert_eq!(
        get("ExecStart"),
        ["/usr/local/bin/guichet serve --config /etc/guichet/config.toml"]
    );
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(get(key), [value], "{key}");
    }
    // `serve` exits 78 when its configuration cannot work (tests/daemon.rs): restarting
    // would only repeat the error every RestartSec.
    assert_eq!(get("Restart"), ["on-failure"]);
    assert_eq!(get("RestartPreventExitStatus"), ["78"]);
    let stop = get("TimeoutStopSec")[0].trim_end_matches('s');
    let drain = guichet::daemon::serve::SHUTDOWN_GRACE.as_secs();
    assert!(
        stop.parse::<u64>().unwrap() >= 2 * drain,
        "TimeoutStopSec={stop}"
    );

    // README.md installs the binary where ExecStart looks for it, and the unit from here.
    let readme = readme();
    for step in [
        "cargo install --path . --locked",
        "sudo install -m 755 ~/.cargo/bin/guichet /usr/local/bin/guichet",
        "sudo cp contrib/guichet.service /etc/systemd/system/",
    ] {
        assert!(readme.contains(step), "README.md does not say {step:?}");
    }
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let Ok(version) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("skipped: no systemd-analyze here (the unit is still checked by reading it)");
        return;
    };
    if !version.status.success() {
        eprintln!("skipped: systemd-analyze does not run here");
        return;
    }
    // `verify` checks that ExecStart exists: point it at the binary this test built.
    let unit = std::fs::read_to_string(root().join("contrib/guichet.service"))
        .unwrap()
        .replace("/usr/local/bin/guichet", env!("CARGO_BIN_EXE_guichet"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guichet.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Unknown keys and bad values are only warnings, on stderr, with exit 0.
    let about_ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("guichet.service"))
        .collect();
    assert!(
        out.status.success() && about_ours.is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

/// The README's backup and restore commands for the systemd install, run on a state folder a
/// daemon wrote: `sudo` dropped, the service stopped instead of `systemctl`, the folder
/// `/var/lib/guichet` replaced by the test's.
#[test]
fn the_readme_backup_and_restore_commands_keep_the_conversations() {
    let readme = readme();
    let commands = |marker: &str| -> Vec<String> {
        let block: Vec<&str> = readme
            .split(marker)
            .nth(1)
            .unwrap_or_else(|| panic!("README.md has no {marker:?}"))
            .split("```sh\n")
            .nth(1)
            .unwrap()
            .split("```")
            .next()
            .unwrap()
            .lines()
            .collect();
        block
            .iter()
            .map(|l| l.split(" #").next().unwrap().trim())
            .filter(|l| !l.is_empty() && !l.contains("systemctl") && !l.contains("chown"))
            .map(|l| l.trim_start_matches("sudo ").to_string())
            .collect()
    };
    let backup = commands("<!-- backup (systemd) -->");
    let restore = commands("<!-- restore (systemd) -->");
    assert!(backup.iter().any(|c| c.starts_with("tar ")), "{backup:?}");
    assert!(restore.iter().any(|c| c.starts_with("tar ")), "{restore:?}");

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::write(
        dir.path().join("index.md"),
        "# Mairie\nBonjour !\n1. [Horaires](Horaires)\n## Horaires\n- horaires\nOuvert de 9 h à 17 h.\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_guichet"));
    serve
        .args(["serve", "--terminal"])
        .current_dir(dir.path())
        .env("GUICHET_CONTENT", dir.path().join("index.md"))
        .env("GUICHET_STATE_DIR", &state)
        .env("GUICHET_ADMIN_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = serve.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "1").unwrap();
    } // end of input: the daemon answers, flushes its state and stops
    assert!(child.wait().unwrap().success());
    let conversations = || {
        use guichet::store::StateStore;
        guichet::store::SqliteStore::open(state.join("state.sqlite"))
            .unwrap()
            .conversation_count()
            .unwrap()
    };
    assert_eq!(conversations(), 1);

    let run = |command: &str| {
        let command = command.replace("/var/lib/guichet", state.to_str().unwrap());
        let out = Command::new("sh")
            .args(["-c", &command])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for command in &backup {
        run(command);
    }
    // Lose the state, then restore it.
    std::fs::remove_file(state.join("state.sqlite")).unwrap();
    std::fs::write(state.join("stray"), "").unwrap();
    for command in &restore {
        run(command);
    }
    assert!(
        !state.join("stray").exists(),
        "restore leaves files of the lost state"
    );
    assert_eq!(conversations(), 1);
}

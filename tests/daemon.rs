//! `guichet serve` as an admin runs it: the terminal adapter driven through stdin, hot reload
//! of an edited knowledge base (and refusal of a broken one), `/healthz` and `/metrics`, the
//! per-user throttle, a graceful SIGTERM that keeps every conversation, and the refusals at
//! start that an admin must understand (no platform, a state folder it cannot write).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const BASE: &str = "# Mairie\nBonjour !\n1. [Horaires](Horaires)\n## Horaires\n- horaires\n- ouverture\nOuvert de 9 h à 17 h.\n## Contact\n- contact\n- téléphone\nAppelez le 01 23 45 67 89.\n";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Daemon {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start(extra_config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("content")).unwrap();
        std::fs::write(dir.path().join("content/index.md"), BASE).unwrap();
        let port = free_port();
        let config = format!(
            "content = \"{}\"\nstate_dir = \"{}\"\n[admin]\nlisten = \"127.0.0.1:{port}\"\n{extra_config}",
            dir.path().join("content").display(),
            dir.path().join("state").display(),
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(["serve", "--terminal", "--config"])
            .arg(dir.path().join("config.toml"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = err.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut daemon = Self {
            child,
            stdin,
            lines,
            stderr,
            port,
            dir,
        };
        let welcome = daemon.block();
        assert!(welcome.contains("Bonjour"), "{welcome}");
        daemon
    }

    /// The next reply block: lines up to two empty lines in a row.
    fn block(&mut self) -> String {
        let mut out = Vec::new();
        let mut empty = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while empty < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no reply; so far {out:?}; stderr: {}", self.stderr()));
            if line.is_empty() {
                empty += 1;
            } else {
                empty = 0;
            }
            out.push(line);
        }
        out.join("\n").trim().to_string()
    }

    fn ask(&mut self, text: &str) -> String {
        writeln!(self.stdin, "{text}").unwrap();
        self.stdin.flush().unwrap();
        self.block()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let code = response.split_whitespace().nth(1).unwrap().parse().unwrap();
        (
            code,
            response.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
        )
    }

    fn content(&self) -> PathBuf {
        self.dir.path().join("content/index.md")
    }

    fn terminate(mut self) -> (i32, PathBuf, tempfile::TempDir) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let state = self.dir.path().join("state/state.sqlite");
                return (status.code().unwrap_or(-1), state, self.dir);
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop; stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// How many reloads the daemon has served so far (`/metrics`).
fn reloads(daemon: &Daemon) -> u64 {
    let (_, metrics) = daemon.get("/metrics");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("guichet_reloads_total{result=\"ok\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Asks `text` after each reload served since `before` (from [`reloads`], read before the
/// edit) until the answer contains `expected`, within a deadline: a reload takes a moment,
/// longer on a loaded machine, and asking in a loop meanwhile would run into the throttle.
fn ask_after_reload(daemon: &mut Daemon, before: u64, text: &str, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = before;
    loop {
        let now = reloads(daemon);
        if now > seen {
            seen = now;
            let reply = daemon.ask(text);
            if reply.contains(expected) {
                return reply;
            }
        }
        if Instant::now() > deadline {
            return daemon.ask(text);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_answers_in_the_terminal_reloads_edits_and_refuses_broken_ones() {
    let mut daemon = Daemon::start("");
    assert!(daemon.ask("1").contains("Ouvert de 9 h à 17 h."));
    assert!(
        daemon
            .ask("un numéro de téléphone ?")
            .contains("01 23 45 67 89")
    );

    // An edit is served without a restart.
    let before = reloads(&daemon);
    std::fs::write(daemon.content(), BASE.replace("9 h à 17 h", "8 h à 18 h")).unwrap();
    let reply = ask_after_reload(&mut daemon, before, "horaires", "8 h à 18 h");
    assert!(
        reply.contains("Ouvert de 8 h à 18 h."),
        "{reply}; stderr: {}",
        daemon.stderr()
    );

    // A broken edit (an `if` never closed) is refused: the last good version keeps serving,
    // and the error is logged with its file and line.
    std::fs::write(
        daemon.content(),
        format!(
            "---\ncontenuDynamique: true\n---\n{}`if @x==1`\n",
            BASE.replace("9 h à 17 h", "CASSÉ")
        ),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !daemon.stderr().contains("`if @x==1` is never closed") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = daemon.stderr();
    assert!(
        log.contains("index.md:15: error: `if @x==1` is never closed"),
        "the error names file and line: {log}"
    );
    assert!(daemon.ask("horaires").contains("8 h à 18 h"));

    let (code, body) = daemon.get("/healthz");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"terminal\":\"connected\""), "{body}");
    let (code, metrics) = daemon.get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("guichet_messages_answered_total{platform=\"terminal\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("guichet_reloads_total{result=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("guichet_reloads_total{result=\"failed\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("guichet_conversations 1"), "{metrics}");
    assert_eq!(daemon.get("/nope").0, 404);

    // SIGTERM: exit 0, the conversation is in the state file.
    let (code, state, _dir) = daemon.terminate();
    assert_eq!(code, 0);
    let store = guichet::store::SqliteStore::open(&state).unwrap();
    use guichet::store::StateStore;
    assert_eq!(store.conversation_count().unwrap(), 1);
}

/// Issue 14, item 12: the inotify watch died with a deleted content folder, so a folder
/// deleted and recreated (`rm -r` then copy, some volume updates) was never loaded again, and
/// nothing said so. The watch is re-armed, and the log says it.
#[test]
fn the_watch_survives_the_content_folder_being_deleted_and_recreated() {
    // No throttle: the reload is awaited by asking again and again.
    let mut daemon = Daemon::start("[limits]\nmessages = 0\n");
    assert!(daemon.ask("horaires").contains("9 h à 17 h"));
    let folder = daemon.content().parent().unwrap().to_path_buf();
    std::fs::remove_dir_all(&folder).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !daemon.stderr().contains("content folder is gone") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        daemon.stderr().contains("content folder is gone"),
        "{}",
        daemon.stderr()
    );
    // The last version keeps serving meanwhile.
    assert!(daemon.ask("horaires").contains("9 h à 17 h"));
    let before = reloads(&daemon);
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        daemon.content(),
        "# Nouveau\nBienvenue.\n## Nouveau\n- nouveau\nNOUVELLE VERSION\n",
    )
    .unwrap();
    let reply = ask_after_reload(&mut daemon, before, "nouveau", "NOUVELLE VERSION");
    assert!(reply.contains("NOUVELLE VERSION"), "{reply}");
    // A reload already under way may have read the new folder first: the re-arm that makes
    // later edits count is awaited on its own.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !daemon.stderr().contains("watching it again") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        daemon.stderr().contains("watching it again"),
        "{}",
        daemon.stderr()
    );
    // Edits inside the new folder are followed too.
    let before = reloads(&daemon);
    std::fs::write(
        daemon.content(),
        "# Nouveau\nBienvenue.\n## Nouveau\n- nouveau\nTROISIÈME VERSION\n",
    )
    .unwrap();
    let reply = ask_after_reload(&mut daemon, before, "nouveau", "TROISIÈME VERSION");
    assert!(reply.contains("TROISIÈME VERSION"), "{reply}");
    let (code, _, _dir) = daemon.terminate();
    assert_eq!(code, 0);
}

#[test]
fn the_throttle_answers_once_then_stays_silent() {
    let mut daemon = Daemon::start("[limits]\nmessages = 3\nper_seconds = 60\n");
    for _ in 0..3 {
        let reply = daemon.ask("horaires");
        assert!(reply.contains("Ouvert"), "{reply}");
    }
    assert!(daemon.ask("horaires").contains("Doucement"));
    // Silent: nothing is printed but the prompt's end of block.
    assert_eq!(daemon.ask("horaires"), "");
    let (code, _, _dir) = daemon.terminate();
    assert_eq!(code, 0);
}

#[test]
fn serve_stops_at_the_end_of_input_and_health_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("index.md"), BASE).unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        format!(
            "content = \"{}\"\nstate_dir = \"{}\"\n[admin]\nlisten = \"127.0.0.1:{port}\"\n",
            dir.path().join("index.md").display(),
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(["serve", "--terminal", "--config"])
        .arg(dir.path().join("c.toml"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Nothing listens any more: `guichet health` says so with exit 1.
    let health = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(["health", "--address", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(health.status.code(), Some(1));
}

/// `guichet` with every `GUICHET_…` variable of the test's own environment removed, so that
/// only what a test sets is configured.
fn guichet() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_guichet"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GUICHET_") {
            command.env_remove(name);
        }
    }
    command
}

/// Issue 18: a container started without its configuration (env file forgotten, a variable
/// misspelt) ran the terminal on a closed stdin, exited 0 at once and restarted in a loop.
#[test]
fn serve_without_a_platform_or_a_terminal_says_what_to_configure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.md"), BASE).unwrap();
    let output = guichet()
        .arg("serve")
        .current_dir(dir.path())
        .env("GUICHET_CONTENT", dir.path().join("index.md"))
        .env("GUICHET_STATE_DIR", dir.path().join("state"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    for expected in [
        "no platform is configured",
        "[matrix]",
        "GUICHET_MATRIX_HOMESERVER",
        "[discord]",
        "GUICHET_DISCORD_TOKEN_FILE",
        "--terminal",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing from: {stderr}"
        );
    }
    // Refused before anything was created.
    assert!(!dir.path().join("state").exists());
}

/// Issue 18: a root-owned host folder mounted on the image's /data failed with SQLite's
/// "Error code 14" and no word of ownership.
#[test]
fn serve_names_the_ids_when_the_state_directory_is_not_writable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.md"), BASE).unwrap();
    let running_as_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    // Root writes in any folder with a mode that forbids it, but not in /proc.
    let state = if running_as_root {
        PathBuf::from("/proc")
    } else {
        use std::os::unix::fs::PermissionsExt;
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o500)).unwrap();
        state
    };
    let output = guichet()
        .args(["serve", "--terminal"])
        .current_dir(dir.path())
        .env("GUICHET_CONTENT", dir.path().join("index.md"))
        .env("GUICHET_STATE_DIR", &state)
        .env("GUICHET_ADMIN_LISTEN", format!("127.0.0.1:{}", free_port()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    let expected = format!(
        "the state directory {} is not writable by this user (uid ",
        state.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("it belongs to uid "), "{stderr}");
    assert!(stderr.contains("chown -R "), "{stderr}");
}

/// The image's health check: with the admin address moved by `GUICHET_ADMIN_LISTEN` (or the
/// configuration), `guichet health` without `--address` asks the moved address, and a daemon
/// listening on every interface is asked on loopback.
#[test]
fn health_follows_the_configured_admin_address() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.md"), BASE).unwrap();
    let port = free_port();
    let mut child = guichet()
        .args(["serve", "--terminal"])
        .current_dir(dir.path())
        .env("GUICHET_CONTENT", dir.path().join("index.md"))
        .env("GUICHET_STATE_DIR", dir.path().join("state"))
        .env("GUICHET_ADMIN_LISTEN", format!("0.0.0.0:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let health = |listen: &str| {
        guichet()
            .arg("health")
            .current_dir(dir.path())
            .env("GUICHET_ADMIN_LISTEN", listen)
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let healthy = loop {
        let output = health(&format!("0.0.0.0:{port}"));
        if output.status.success() || Instant::now() > deadline {
            break output;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The default address has nobody listening (or someone else): not this daemon's answer.
    let elsewhere = health(&format!("127.0.0.1:{}", free_port()));
    drop(child.stdin.take()); // end of input: the terminal daemon stops
    let status = child.wait().unwrap();
    assert!(
        healthy.status.success(),
        "{}",
        String::from_utf8_lossy(&healthy.stdout)
    );
    assert_eq!(elsewhere.status.code(), Some(1));
    assert!(status.success());
}

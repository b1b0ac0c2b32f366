#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The configuration as an admin meets it: `config.example.toml`, secrets in files and in the
//! environment, one test per error kind with its line, and `guichet config check`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use guichet::config::{self, ConfigError, MatrixLogin, Origin, Secret, Settings};

const EXAMPLE: &str = include_str!("../config.example.toml");

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

/// A temporary directory holding the example's two secrets, and the variables pointing at
/// them (the example names files relative to where guichet runs, which a test cannot choose).
struct Secrets {
    _dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

fn secrets() -> Secrets {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("matrix_access_token");
    std::fs::write(&token, "not-a-matrix-token\n").unwrap();
    let discord = dir.path().join("discord_token");
    std::fs::write(&discord, "not-a-discord-token").unwrap();
    let env = vec![
        (
            "GUICHET_MATRIX_ACCESS_TOKEN_FILE".to_owned(),
            token.display().to_string(),
        ),
        (
            "GUICHET_DISCORD_TOKEN_FILE".to_owned(),
            discord.display().to_string(),
        ),
    ];
    Secrets { _dir: dir, env }
}

fn parse(text: &str) -> Result<Settings, ConfigError> {
    Settings::parse(
        text,
        Path::new("guichet.toml"),
        Vec::<(String, String)>::new(),
    )
}

#[test]
fn the_example_parses_and_validates() {
    let secrets = secrets();
    let settings = Settings::load(Some(&example_path()), secrets.env.clone()).unwrap();
    let matrix = settings.matrix.as_ref().unwrap();
    assert_eq!(
        matrix.login,
        MatrixLogin::AccessToken(Secret::new("not-a-matrix-token"))
    );
    assert_eq!(matrix.homeserver, "https://matrix.example.org");
    let discord = settings.discord.as_ref().unwrap();
    assert_eq!(discord.token.expose(), "not-a-discord-token");
    // Apart from the platforms it shows, the example spells out the defaults.
    let defaults = Settings::default();
    assert_eq!(settings.content, defaults.content);
    assert_eq!(settings.state_dir, defaults.state_dir);
    assert_eq!(settings.matching, defaults.matching);
    assert_eq!(settings.idle_reset, defaults.idle_reset);
    assert_eq!(settings.forget_after, defaults.forget_after);
    assert_eq!(settings.strings, defaults.strings);
    assert_eq!(settings.admin, defaults.admin);
    assert_eq!(settings.throttle, defaults.throttle);
    assert_eq!(settings.stats, defaults.stats);
}

#[test]
fn the_example_without_its_secrets_names_the_missing_file() {
    let err = Settings::load(Some(&example_path()), Vec::<(String, String)>::new()).unwrap_err();
    assert!(
        matches!(&err, ConfigError::SecretFile { key, path, .. }
            if key == "matrix.access_token_file" && path == Path::new("secrets/matrix_access_token")),
        "{err}"
    );
    let line = EXAMPLE
        .lines()
        .position(|l| l.starts_with("access_token_file ="))
        .unwrap()
        + 1;
    assert_eq!(err.line(), Some(line));
}

/// Every key, in its section, written in the example (set or commented out), and nothing
/// else: the example is the reference admins read.
#[test]
fn the_example_documents_every_key() {
    let mut section = String::new();
    let mut documented = BTreeSet::new();
    for line in EXAMPLE.lines() {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.to_owned();
            continue;
        }
        let line = line.strip_prefix("# ").unwrap_or(line);
        if let Some((key, _)) = line.split_once(" = ")
            && !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            documented.insert((section.clone(), key.to_owned()));
        }
    }
    let known: BTreeSet<(String, String)> = config::known_keys().into_iter().collect();
    let undocumented: Vec<_> = known.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&known).collect();
    assert!(
        undocumented.is_empty(),
        "not in the example: {undocumented:?}"
    );
    assert!(unknown.is_empty(), "not configuration keys: {unknown:?}");
}

#[test]
fn the_example_shows_no_inline_secret() {
    for line in EXAMPLE.lines().filter(|l| !l.starts_with('#')) {
        for secret in ["password", "access_token", "recovery_key", "token"] {
            assert!(
                !line.starts_with(&format!("{secret} =")),
                "inline secret in the example: {line}"
            );
        }
    }
}

#[test]
fn no_file_means_the_terminal_on_content() {
    let settings = Settings::load(None, Vec::<(String, String)>::new()).unwrap();
    assert!(settings.terminal_only());
    assert_eq!(settings.content, Path::new("content"));
    assert_eq!(settings.state_dir, Path::new("state"));
}

/// One per error kind, each with the line it must point at.
#[test]
fn every_error_names_its_key_and_line() {
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "unknown key",
            "content = \"c\"\n[discord]\ntoken = \"t\"\ngild_ids = [1]\n",
            4,
            "guichet.toml:4: unknown key `discord.gild_ids`; did you mean `guild_ids`?",
        ),
        (
            "wrong type",
            "[matrix]\nhomeserver = \"https://m.org\"\nuser = \"@g:m.org\"\naccess_token = \"t\"\ncatch_up = true\n",
            5,
            "guichet.toml:5: `matrix.catch_up` must be a string, not a boolean",
        ),
        (
            "both token and password",
            "[matrix]\nhomeserver = \"https://m.org\"\nuser = \"@g:m.org\"\npassword = \"p\"\naccess_token = \"t\"\n",
            4,
            "guichet.toml:4: `matrix.password` and `matrix.access_token` (guichet.toml:5) are both set; keep one",
        ),
        (
            "neither token nor password",
            "content = \"c\"\n\n[matrix]\nhomeserver = \"https://m.org\"\nuser = \"@g:m.org\"\n",
            3,
            "guichet.toml:3: [matrix] needs a way to log in",
        ),
        (
            "unreadable secret file",
            "[discord]\ntoken_file = \"/nonexistent/discord_token\"\n",
            2,
            "guichet.toml:2: `discord.token_file`: cannot read /nonexistent/discord_token: ",
        ),
        (
            "bad duration",
            "idle_reset = \"24h\"\nforget_after = \"3 months\"\n",
            2,
            "guichet.toml:2: `forget_after` = \"3 months\" is not a duration: ",
        ),
        (
            "missing key",
            "[matrix]\nuser = \"@g:m.org\"\n",
            1,
            "guichet.toml:1: `matrix.homeserver` is required when [matrix] is set",
        ),
        (
            "invalid value",
            "\n[matrix]\nhomeserver = \"https://m.org\"\nuser = \"@g:m.org\"\naccess_token = \"t\"\nrooms = \"everywhere\"\n",
            6,
            "guichet.toml:6: `matrix.rooms`: must be \"mention\" or \"open\", not \"everywhere\"",
        ),
        (
            "TOML syntax",
            "content = \"c\"\n[matrix\n",
            2,
            "guichet.toml:2: invalid TOML: ",
        ),
    ];
    for (kind, text, line, message) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!(err.line(), Some(*line), "{kind}: {err}");
        assert!(
            err.to_string().starts_with(message),
            "{kind}:\n  got  {err}\n  want {message}…"
        );
    }
}

/// A one-word setting written as a table is refused as a wrong type, as any key holding a
/// table is: serde alone would read `[matching.chatmd]` as the choice `chatmd`.
#[test]
fn a_key_written_as_a_table_is_a_wrong_type() {
    for (text, line, message) in [
        (
            "[matching.chatmd]\n",
            1,
            "`matching` must be a string, not a table",
        ),
        (
            "content = \"c\"\nmatching = { chatmd = {} }\n",
            2,
            "`matching` must be a string, not a table",
        ),
        (
            "[matching]\nguichet = 1\n",
            1,
            "`matching` must be a string, not a table",
        ),
        (
            "[matrix]\nhomeserver = \"https://m.org\"\nuser = \"@g:m.org\"\naccess_token = \"t\"\nrooms = { open = {} }\n",
            5,
            "`matrix.rooms` must be a string, not a table",
        ),
    ] {
        let err = parse(text).unwrap_err();
        assert_eq!(err.line(), Some(line), "{text:?}: {err}");
        assert!(err.to_string().ends_with(message), "{text:?}: {err}");
    }
}

/// A variable whose value was not UTF-8 (passed lossily by the process environment) is
/// refused by name, not accepted as a secret with its bytes replaced.
#[test]
fn a_variable_that_was_not_utf8_is_refused_by_name() {
    let env = [(
        "GUICHET_DISCORD_TOKEN".to_owned(),
        "ab\u{FFFD}cd".to_owned(),
    )];
    let err = Settings::parse("", Path::new("guichet.toml"), env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable GUICHET_DISCORD_TOKEN: `discord.token`: the value is not valid UTF-8"
    );
}

#[test]
fn a_missing_configuration_file_is_an_error_naming_it() {
    let err = Settings::load(
        Some(Path::new("/nonexistent/guichet.toml")),
        Vec::<(String, String)>::new(),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot read the configuration file /nonexistent/guichet.toml: ")
    );
}

#[test]
fn environment_overrides_win_and_failures_name_the_variable() {
    let text = "state_dir = \"state\"\n[limits]\nmessages = 10\n";
    let settings = Settings::parse(
        text,
        Path::new("guichet.toml"),
        [
            ("GUICHET_STATE_DIR", "/data"),
            ("GUICHET_LIMITS_PER_SECONDS", "30"),
            ("GUICHET_MATCHING", "guichet"),
        ],
    )
    .unwrap();
    assert_eq!(settings.state_dir, Path::new("/data"));
    let throttle = settings.throttle.unwrap();
    assert_eq!(throttle.messages.get(), 10);
    assert_eq!(throttle.window.as_secs(), 30);
    assert_eq!(settings.matching, guichet::engine::MatchingMode::Guichet);

    let err = Settings::parse(
        text,
        Path::new("guichet.toml"),
        [("GUICHET_LIMITS_MESSAGES", "lots")],
    )
    .unwrap_err();
    assert_eq!(
        err.origin(),
        Some(&Origin::Env {
            var: "GUICHET_LIMITS_MESSAGES".to_owned()
        })
    );
    assert_eq!(
        err.to_string(),
        "environment variable GUICHET_LIMITS_MESSAGES: `limits.messages` must be a whole number, not \"lots\""
    );
}

#[test]
fn a_secret_file_from_the_environment_replaces_an_inline_secret() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "from the file\r\n").unwrap();
    let settings = Settings::parse(
        "[matrix]\nhomeserver = \"https://m.org\"\nuser = \"guichet\"\npassword = \"inline\"\n",
        Path::new("guichet.toml"),
        [(
            "GUICHET_MATRIX_PASSWORD_FILE".to_owned(),
            password.display().to_string(),
        )],
    )
    .unwrap();
    assert_eq!(
        settings.matrix.unwrap().login,
        MatrixLogin::Password(Secret::new("from the file"))
    );
}

#[test]
fn secrets_are_redacted_in_debug_and_in_the_summary() {
    let settings = parse(
        "[matrix]\nhomeserver = \"https://m.org\"\nuser = \"@g:m.org\"\npassword = \"correct horse\"\n\
         recovery_key = \"EsT0 nOtA rEaL kEy\"\n[discord]\ntoken = \"abc.def.ghi\"\n",
    )
    .unwrap();
    let debug = format!("{settings:?}");
    let pretty = format!("{settings:#?}");
    let summary = settings.to_string();
    for shown in [&debug, &pretty, &summary] {
        for secret in ["correct horse", "EsT0 nOtA rEaL kEy", "abc.def.ghi"] {
            assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
        }
    }
    assert!(debug.contains("Secret(***)"));
    assert!(summary.contains("password = \"***\""));
    assert!(summary.contains("recovery_key = \"***\""));
    assert!(summary.contains("token = \"***\""));
}

fn guichet(args: &[&str], env: &[(String, String)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

#[test]
fn config_check_prints_ok_and_a_redacted_summary() {
    let secrets = secrets();
    let example = example_path();
    let output = guichet(
        &["config", "check", example.to_str().unwrap()],
        &secrets.env,
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.starts_with(&format!("{}: ok\n", example.display())),
        "{stdout}"
    );
    assert!(stdout.contains("access_token = \"***\""), "{stdout}");
    assert!(stdout.contains("homeserver = \"https://matrix.example.org\""));
    assert!(!stdout.contains("not-a-matrix-token") && !stdout.contains("not-a-discord-token"));
}

#[test]
fn config_check_fails_with_the_error_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "content = \"content\"\n\n[stats]\nenable = true\n").unwrap();
    let output = guichet(&["config", "check", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "{}:4: unknown key `stats.enable`; did you mean `enabled`?\n",
            file.display()
        )
    );
    assert!(output.stdout.is_empty());

    // The default file, absent.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(["config", "check"])
        .current_dir(&empty)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("cannot read the configuration file config.toml: "),
        "{stderr}"
    );
}

const MATRIX_HEAD: &str = "[matrix]\nhomeserver = \"https://m.org\"\nuser = \"@g:m.org\"\n";

fn with_token_file(path: &Path) -> Result<Settings, ConfigError> {
    parse(&format!(
        "{MATRIX_HEAD}access_token_file = {:?}\n",
        path.display().to_string()
    ))
}

/// Issue 14, item 13: a FIFO secret hung `config check` (and start-up) for ever; `/dev/zero`
/// filled memory; a 4 MB "secret" was accepted. A secret file must be a small regular file.
#[test]
fn special_or_huge_secret_files_are_refused_with_a_clear_message() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo_token");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
        let err = with_token_file(path).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("guichet.toml:4: `matrix.access_token_file`: ")
                && message.contains("not a regular file"),
            "{message}"
        );
    }
    let huge = dir.path().join("huge_token");
    std::fs::write(&huge, "x".repeat(3_000_000)).unwrap();
    std::fs::set_permissions(&huge, std::fs::Permissions::from_mode(0o600)).unwrap();
    let message = with_token_file(&huge).unwrap_err().to_string();
    assert!(message.contains("larger than 64 KiB"), "{message}");
}

/// Issue 14, item 13: a secret file readable by every local user passed without a word.
#[test]
fn a_secret_file_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "syt_token\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let settings = with_token_file(&token).unwrap();
    assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
    let warning = settings.warnings[0].to_string();
    assert!(
        warning.starts_with("guichet.toml:4: warning: `matrix.access_token_file`: ")
            && warning.contains("readable by other users (mode 0644)")
            && warning.contains("chmod 600"),
        "{warning}"
    );
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(with_token_file(&token).unwrap().warnings.is_empty());

    // `config check` says it too, and still succeeds.
    let file = dir.path().join("config.toml");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(
        &file,
        format!(
            "{MATRIX_HEAD}access_token_file = {:?}\n",
            token.display().to_string()
        ),
    )
    .unwrap();
    let output = guichet(&["config", "check", file.to_str().unwrap()], &[]);
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("readable by other users"), "{stderr}");
}

/// Issue 14, item 13: `GUICHET_MATRX_HOMESERVER` (a misspelt section) was silently ignored,
/// while an unknown key in a known section is an error.
#[test]
fn a_misspelt_section_variable_names_the_closest_one() {
    let err = Settings::load(None, [("GUICHET_MATRX_HOMESERVER", "https://m.org")]).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("environment variable GUICHET_MATRX_HOMESERVER: ")
            && message.contains("did you mean GUICHET_MATRIX_HOMESERVER?"),
        "{message}"
    );
    let err = Settings::load(None, [("GUICHET_LIMIT_MESSAGES", "3")]).unwrap_err();
    assert!(
        err.to_string()
            .contains("did you mean GUICHET_LIMITS_MESSAGES?"),
        "{err}"
    );
    // A top-level name close to a key is a warning naming it; a foreign one, a plain warning.
    let settings = Settings::load(
        None,
        [
            ("GUICHET_CONTNET", "content"),
            ("GUICHET_TEST_HARNESS", "1"),
        ],
    )
    .unwrap();
    let warnings: Vec<String> = settings.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("environment variable GUICHET_CONTNET: warning: ")
            && warnings[0].contains("did you mean GUICHET_CONTENT?"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].ends_with("not a configuration variable, ignored"),
        "{warnings:?}"
    );
    // Known variables raise nothing.
    let settings = Settings::load(None, [("GUICHET_STATE_DIR", "/data")]).unwrap();
    assert!(settings.warnings.is_empty());
}

/// Issue 14, item 13: an `http://` homeserver (token and messages in clear) was accepted
/// without a word; on this machine it is fine.
#[test]
fn a_plain_http_homeserver_is_warned_about_unless_local() {
    let config = |homeserver: &str| {
        parse(&format!(
            "[matrix]\nhomeserver = {homeserver:?}\nuser = \"@g:m.org\"\naccess_token = \"t\"\n"
        ))
        .unwrap()
    };
    let settings = config("http://matrix.example.org");
    assert_eq!(settings.warnings.len(), 1);
    let warning = settings.warnings[0].to_string();
    assert!(
        warning.starts_with("guichet.toml:2: warning: `matrix.homeserver`")
            && warning.contains("plain http"),
        "{warning}"
    );
    for local in [
        "http://127.0.0.1:8008",
        "http://localhost:8008/",
        "http://[::1]:8008",
        "https://matrix.example.org",
    ] {
        assert!(config(local).warnings.is_empty(), "{local}");
    }
}

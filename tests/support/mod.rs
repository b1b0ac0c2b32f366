//! The Matrix end-to-end harness: a real Synapse from PyPI on loopback, "human" clients on
//! matrix-sdk (Element's strict key sharing) that record what they see, and the bot, either
//! in this process or as `guichet serve`.
//!
//! Shared by `tests/matrix.rs` and `tests/matrix_bench.rs`; each uses part of it.
#![allow(dead_code)]

use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::encryption::EncryptionSettings;
use matrix_sdk::encryption::vodozemac;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::receipt::{ReceiptEventContent, ReceiptType};
use matrix_sdk::ruma::events::room::member::{MembershipState, OriginalSyncRoomMemberEvent};
use matrix_sdk::ruma::events::room::message::{
    OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::ruma::events::typing::TypingEventContent;
use matrix_sdk::ruma::events::{Mentions, SyncEphemeralRoomEvent};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, OwnedUserId, UserId};
use matrix_sdk::{Client, deserialized_responses::EncryptionInfo};

use guichet::config::{MatrixLogin, MatrixSettings, MessageType, RoomPolicy, Secret};
use guichet::engine::{Engine, MatchingMode};
use guichet::service::{Bot, DEFAULT_IDLE_RESET};
use guichet::service::{Context, Status};
use guichet::store::{SqliteStore, StateStore};
use guichet::strings::Strings;

/// The Synapse the suite installs and runs (the version the adapter was verified against).
pub const SYNAPSE_VERSION: &str = "1.163.2";
/// The only way to skip these tests; CI never sets it.
pub const SKIP_VARIABLE: &str = "GUICHET_SKIP_SYNAPSE";
pub const SERVER_NAME: &str = "localhost";
pub const PASSWORD: &str = "correct horse battery staple";

/// Generous bounds for waits: they only end a test that is failing anyway.
pub const WAIT: Duration = Duration::from_secs(30);

/// True, with a note on stderr, when the person running the tests asked to skip Synapse.
pub fn skip() -> bool {
    if std::env::var_os(SKIP_VARIABLE).is_some_and(|v| v == "1") {
        eprintln!("{SKIP_VARIABLE}=1: Matrix end-to-end test skipped");
        return true;
    }
    false
}

/// The knowledge base every scenario talks to: a role menu, a role-conditional answer, free
/// questions, and one-word answers for bursts.
pub const CONTENT: &str = "---
contenuDynamique: true
---
# Aide test
Bienvenue ! Qui êtes-vous ?
1. [Enseignant @role=prof](Menu)
2. [Direction @role=direction](Menu)

## Menu
- menu principal
`if @role==prof`
Bonjour professeur : que voulez-vous savoir ?
`endif`
`if @role==direction`
Bonjour direction : que voulez-vous savoir ?
`endif`
1. [Horaires](Horaires)
2. [Cantine](Cantine)

## Horaires
- horaires
- heures d'ouverture
Le collège est ouvert de **8 h à 17 h**.

## Cantine
- cantine
- déjeuner
La cantine ouvre à 11 h 30.

## Pomme
- pomme
Réponse : pomme.

## Poire
- poire
Réponse : poire.

## Cerise
- cerise
Réponse : cerise.

## Fraise
- fraise
Réponse : fraise.

## Banane
- banane
Réponse : banane.

## Kiwi
- kiwi
Réponse : kiwi.
";

/// One-word questions whose answers name them, for ordered bursts.
pub const FRUITS: &[&str] = &["pomme", "poire", "cerise", "fraise", "banane", "kiwi"];

// ---------------------------------------------------------------------------------------------
// Synapse

/// Installs Synapse into `$HOME/.cache/guichet/synapse-<version>` once (a venv from PyPI),
/// under a file lock so test binaries running at once do not install it twice. Panics with
/// the reason when it cannot.
pub fn synapse_python() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let cache = home.join(".cache").join("guichet");
    let dir = cache.join(format!("synapse-{SYNAPSE_VERSION}"));
    let python = dir.join("bin").join("python");
    let ready = dir.join(".installed");
    if ready.exists() {
        return python;
    }
    std::fs::create_dir_all(&cache)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", cache.display()));
    let lock_path = cache.join(format!("synapse-{SYNAPSE_VERSION}.lock"));
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    if ready.exists() {
        return python;
    }
    eprintln!(
        "installing Synapse {SYNAPSE_VERSION} from PyPI into {} (once; about 30 s)",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
    run_or_panic(
        Command::new("python3").args(["-m", "venv"]).arg(&dir),
        "python3 -m venv (Synapse needs python3 >= 3.10 with the venv module; on Debian: apt-get install python3-venv)",
    );
    run_or_panic(
        Command::new(dir.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("matrix-synapse=={SYNAPSE_VERSION}")),
        "pip install matrix-synapse (needs network access to PyPI)",
    );
    std::fs::write(&ready, SYNAPSE_VERSION).unwrap();
    python
}

fn run_or_panic(command: &mut Command, what: &str) {
    match command.output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "Synapse cannot be installed: {what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => panic!("Synapse cannot be installed: {what}: {err}"),
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// 32 random bytes as unpadded base64, from the standard library's random hasher seeds.
fn random_base64(bytes: usize) -> String {
    use std::hash::{BuildHasher, RandomState};
    let mut raw = Vec::with_capacity(bytes + 8);
    while raw.len() < bytes {
        raw.extend_from_slice(&RandomState::new().hash_one(raw.len()).to_le_bytes());
    }
    raw.truncate(bytes);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in raw.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Rate limits: raised everywhere, except `rc_message` when a test wants to see 429s.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    pub messages_per_second: f64,
    pub message_burst: u32,
}

impl RateLimits {
    pub const RAISED: Self = Self {
        messages_per_second: 1000.0,
        message_burst: 1000,
    };
}

/// A Synapse on 127.0.0.1, stopped when dropped (also when a test panics, and when the test
/// process dies: it is tethered to a pipe this process holds).
pub struct Synapse {
    pub url: String,
    pub port: u16,
    dir: PathBuf,
    python: PathBuf,
    process: Option<Tethered>,
    secret: String,
    http: matrix_sdk::reqwest::Client,
}

impl Synapse {
    pub async fn start(dir: &Path, limits: RateLimits) -> Self {
        let python = synapse_python();
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let secret = random_base64(24);
        let config = format!(
            r#"server_name: "{SERVER_NAME}"
pid_file: "{dir}/homeserver.pid"
public_baseurl: "http://127.0.0.1:{port}/"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
media_store_path: "{dir}/media"
signing_key_path: "{dir}/signing.key"
registration_shared_secret: "{secret}"
macaroon_secret_key: "{macaroon}"
form_secret: "{form}"
enable_registration: false
report_stats: false
enable_metrics: false
url_preview_enabled: false
trusted_key_servers: []
federation_domain_whitelist: []
suppress_key_server_warning: true
bcrypt_rounds: 4
presence:
  enabled: false
rc_message:
  per_second: {per_second}
  burst_count: {burst}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
rc_joins_per_room: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
  per_issuer: {{per_second: 1000, burst_count: 1000}}
rc_room_creation: {{per_second: 1000, burst_count: 1000}}
rc_key_requests: {{per_second: 1000, burst_count: 1000}}
rc_admin_redaction: {{per_second: 1000, burst_count: 1000}}
rc_3pid_validation: {{per_second: 1000, burst_count: 1000}}
rc_delayed_event_mgmt: {{per_second: 1000, burst_count: 1000}}
"#,
            dir = dir.display(),
            macaroon = random_base64(24),
            form = random_base64(24),
            per_second = limits.messages_per_second,
            burst = limits.message_burst,
        );
        std::fs::write(dir.join("homeserver.yaml"), config).unwrap();
        // The server's signing key, written here rather than by `--generate-keys` (a second
        // Python start-up).
        std::fs::write(
            dir.join("signing.key"),
            format!("ed25519 a_test {}\n", random_base64(32)),
        )
        .unwrap();
        let mut synapse = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir: dir.to_owned(),
            python,
            process: None,
            secret,
            http: matrix_sdk::reqwest::Client::new(),
        };
        synapse.launch().await;
        synapse
    }

    async fn launch(&mut self) {
        let mut command = Command::new(&self.python);
        command
            .args(["-m", "synapse.app.homeserver", "--config-path"])
            .arg(self.dir.join("homeserver.yaml"))
            .current_dir(&self.dir);
        let process = Tethered::spawn(command, &self.dir.join("synapse.log"));
        self.process = Some(process);
        let started = Instant::now();
        let versions = format!("{}/_matrix/client/versions", self.url);
        loop {
            if let Ok(response) = self.http.get(&versions).send().await
                && response.status().is_success()
            {
                return;
            }
            let exited = self.process.as_mut().is_some_and(Tethered::exited);
            if exited || started.elapsed() > Duration::from_secs(60) {
                panic!(
                    "Synapse did not start ({}):\n{}",
                    if exited {
                        "it exited"
                    } else {
                        "no answer within 60 s"
                    },
                    tail(&self.dir.join("synapse.log"), 30)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server (SIGTERM), keeping its database.
    pub fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.stop();
        }
    }

    /// Starts it again on the same port with the same database.
    pub async fn restart(&mut self) {
        self.stop();
        self.launch().await;
    }

    /// Registers a user through the shared-secret admin API; returns the full user id.
    pub async fn register(&self, localpart: &str, admin: bool) -> OwnedUserId {
        use hmac::{Hmac, Mac};
        let endpoint = format!("{}/_synapse/admin/v1/register", self.url);
        let nonce: serde_json::Value = serde_json::from_slice(
            &self
                .http
                .get(&endpoint)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        let nonce = nonce["nonce"].as_str().unwrap().to_owned();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(self.secret.as_bytes()).unwrap();
        let role = if admin { "admin" } else { "notadmin" };
        mac.update(format!("{nonce}\0{localpart}\0{PASSWORD}\0{role}").as_bytes());
        let digest: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let body = serde_json::json!({
            "nonce": nonce, "username": localpart, "password": PASSWORD,
            "admin": admin, "mac": digest,
        });
        let response = self
            .http
            .post(&endpoint)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "cannot register {localpart}: {status} {text}"
        );
        UserId::parse(format!("@{localpart}:{SERVER_NAME}")).unwrap()
    }

    /// A client-server or admin API call with an access token; returns status and JSON.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}{path}", self.url);
        let request = match method {
            "GET" => self.http.get(url),
            "PUT" => self.http.put(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url),
        };
        let request = request.bearer_auth(token);
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(body.to_string()),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Logs in with the password outside matrix-sdk; returns an access token on a new device.
    pub async fn login_token(&self, localpart: &str) -> String {
        let body = serde_json::json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": PASSWORD,
        });
        let response = self
            .http
            .post(format!("{}/_matrix/client/v3/login", self.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        json["access_token"].as_str().unwrap().to_owned()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.dir.join("synapse.log"), lines)
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- Synapse log (tail) ---\n{}", self.log_tail(25));
        }
        self.stop();
    }
}

/// A child process that dies with this one: it runs under `sh`, which kills it (SIGTERM)
/// when its stdin, a pipe only this process writes to, reaches end of file: on `stop()`,
/// on drop during a panic, or when this process is killed.
pub struct Tethered {
    shell: Child,
    stdin: Option<ChildStdin>,
    /// The program the shell runs, to find it for [`Tethered::kill`].
    program: std::ffi::OsString,
}

impl Tethered {
    pub fn spawn(command: Command, log: &Path) -> Self {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            // A non-interactive shell gives background jobs /dev/null as stdin: the watcher
            // reads the pipe through fd 3. The shell exits with the child's status.
            .arg(
                "exec 3<&0; \"$@\" </dev/null & child=$!; \
                 (read _ <&3; kill -TERM $child 2>/dev/null) & wait $child",
            )
            .arg("tethered")
            .arg(command.get_program())
            .args(command.get_args())
            .envs(command.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        if let Some(dir) = command.get_current_dir() {
            shell.current_dir(dir);
        }
        let mut shell = shell.spawn().expect("cannot run sh");
        let stdin = shell.stdin.take();
        Self {
            shell,
            stdin,
            program: command.get_program().to_owned(),
        }
    }

    pub fn exited(&mut self) -> bool {
        matches!(self.shell.try_wait(), Ok(Some(_)))
    }

    /// SIGTERM, then waits up to 15 s for it to end (then SIGKILLs the shell).
    pub fn stop(mut self) {
        self.stop_inner();
    }

    /// SIGKILL to the process (not its shell), as a crash or the OOM killer would, and waits
    /// for it to be gone.
    pub fn kill(mut self) {
        let shell = self.shell.id().to_string();
        let name = std::path::Path::new(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &shell, "-x", &name])
            .status();
        let _ = self.shell.wait();
        self.stdin = None;
    }

    fn stop_inner(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.shell.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.shell.kill();
        let _ = self.shell.wait();
    }

    /// Waits for the process to end by itself; returns its exit code (the shell passes the
    /// child's on).
    pub fn wait(mut self, timeout: Duration) -> Option<i32> {
        self.wait_inner(timeout)
    }

    fn wait_inner(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.shell.try_wait() {
                self.stdin = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Tethered {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            self.stop_inner();
        }
    }
}

pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(32 * 1024)));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// The bot

/// Bot settings for a test: password login, raised limits, everything else default.
pub fn bot_settings(synapse: &Synapse, localpart: &str) -> MatrixSettings {
    MatrixSettings {
        homeserver: synapse.url.clone(),
        user: format!("@{localpart}:{SERVER_NAME}"),
        login: MatrixLogin::Password(Secret::new(PASSWORD)),
        device_name: guichet::config::DEFAULT_DEVICE_NAME.into(),
        recovery_key: None,
        allowed_inviters: vec![format!("@*:{SERVER_NAME}")],
        rooms: RoomPolicy::Mention,
        msgtype: MessageType::Notice,
        catch_up: guichet::config::DEFAULT_CATCH_UP,
        prefix: guichet::config::DEFAULT_MATRIX_PREFIX.into(),
        admin_room: None,
        late_key_wait: guichet::config::DEFAULT_LATE_KEY_WAIT,
        key_recipients: guichet::config::KeyRecipients::All,
    }
}

pub fn write_content(dir: &Path) -> PathBuf {
    let content = dir.join("content");
    std::fs::create_dir_all(&content).unwrap();
    std::fs::write(content.join("index.md"), CONTENT).unwrap();
    content
}

/// The adapter running in this process, on the test's runtime.
pub struct InProcessBot {
    /// What `/healthz` and `/metrics` would show.
    pub status: Arc<Status>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<Result<(), guichet::platform::matrix::MatrixError>>>,
    pub state_dir: PathBuf,
}

/// With `RUST_LOG` set, the in-process bots log to stderr (all tests mixed): for debugging.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .try_init();
        }
    });
}

impl InProcessBot {
    pub fn start(settings: MatrixSettings, state_dir: &Path) -> Self {
        init_logs();
        std::fs::create_dir_all(state_dir).unwrap();
        let content = write_content(state_dir);
        let (kb, _) = guichet::kb::load(&content).unwrap();
        let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
        let store: Arc<dyn StateStore> =
            Arc::new(SqliteStore::open(state_dir.join("state.sqlite")).unwrap());
        let (shutdown, receiver) = tokio::sync::watch::channel(false);
        let status = Arc::new(Status::new());
        let ctx = Context {
            bot: Arc::new(Bot::new(engine, store, DEFAULT_IDLE_RESET)),
            status: status.clone(),
            throttle: None,
            shutdown: receiver,
            throttle_notice: Strings::default().throttled,
            stats: None,
        };
        let dir = state_dir.to_owned();
        let task =
            tokio::spawn(async move { guichet::platform::matrix::run(settings, &dir, ctx).await });
        Self {
            status,
            shutdown,
            task: Some(task),
            state_dir: state_dir.to_owned(),
        }
    }

    /// Waits until `/metrics` shows `line` (a whole line, like
    /// `guichet_messages_undecryptable_total{platform="matrix",reason="missing_key"} 1`).
    pub async fn wait_metric(&self, line: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.status.metrics(0, 0).lines().any(|l| l == line) {
            assert!(
                Instant::now() < deadline,
                "/metrics never showed {line}:\n{}",
                self.status.metrics(0, 0)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asks the adapter to stop and waits for it; returns what `run` returned.
    pub async fn stop(mut self) -> Result<(), guichet::platform::matrix::MatrixError> {
        let _ = self.shutdown.send(true);
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("the adapter did not stop within 15 s")
            .unwrap()
    }
}

impl Drop for InProcessBot {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `guichet serve --config FILE` as a separate process, tethered like Synapse.
pub struct ServeProcess {
    process: Option<Tethered>,
    pub log: PathBuf,
    /// The admin endpoint's port (`/healthz`, `/metrics`).
    pub admin_port: u16,
}

/// The `[matrix]` line of a password login.
pub fn password_line() -> String {
    format!("password = {PASSWORD:?}")
}

impl ServeProcess {
    /// Writes a config with a `[matrix]` section for `localpart`, completed by `matrix_lines`
    /// (the login: [`password_line`] or an `access_token`), and starts the daemon.
    pub fn start(synapse: &Synapse, localpart: &str, state_dir: &Path, matrix_lines: &str) -> Self {
        std::fs::create_dir_all(state_dir).unwrap();
        let content = write_content(state_dir);
        let config = state_dir.join("guichet.toml");
        let admin_port = free_port();
        std::fs::write(
            &config,
            format!(
                "content = {content:?}\nstate_dir = {state:?}\n\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n\n\
                 [matrix]\nhomeserver = {hs:?}\nuser = \"@{localpart}:{SERVER_NAME}\"\n\
                 allowed_inviters = [\"@*:{SERVER_NAME}\"]\n{matrix_lines}\n",
                content = content.display().to_string(),
                state = state_dir.display().to_string(),
                admin = admin_port,
                hs = synapse.url,
            ),
        )
        .unwrap();
        let log = state_dir.join("guichet.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_guichet"));
        command.arg("serve").arg("--config").arg(&config);
        command.env(
            "RUST_LOG",
            "info,guichet=debug,matrix_sdk=warn,matrix_sdk_crypto=error,matrix_sdk::http_client=off",
        );
        let process = Tethered::spawn(command, &log);
        Self {
            process: Some(process),
            log,
            admin_port,
        }
    }

    /// `GET path` on the admin endpoint: the status code and the body, or `None` while
    /// nothing listens.
    pub async fn admin_get(&self, path: &str) -> Option<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.admin_port))
            .await
            .ok()?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let code = response.split(' ').nth(1)?.parse().ok()?;
        let (_, body) = response.split_once("\r\n\r\n")?;
        Some((code, body.to_owned()))
    }

    /// `GET /healthz`: the status code and the JSON, or `None` while nothing listens.
    pub async fn health(&self) -> Option<(u16, serde_json::Value)> {
        let (code, body) = self.admin_get("/healthz").await?;
        Some((code, serde_json::from_str(&body).ok()?))
    }

    /// The undecryptable messages counted in `/metrics`, by reason.
    pub async fn undecryptable(&self) -> Vec<(String, u64)> {
        let Some((_, metrics)) = self.admin_get("/metrics").await else {
            return Vec::new();
        };
        metrics
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix(
                    "guichet_messages_undecryptable_total{platform=\"matrix\",reason=\"",
                )?;
                let (reason, count) = rest.split_once("\"} ")?;
                Some((reason.to_owned(), count.parse().ok()?))
            })
            .collect()
    }

    /// Polls `/healthz` until `done` says so; returns what it said then.
    pub async fn wait_health(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(u16, &serde_json::Value) -> bool,
    ) -> (u16, serde_json::Value) {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some((code, health)) = self.health().await {
                if done(code, &health) {
                    return (code, health);
                }
                last = Some((code, health));
            }
            assert!(
                Instant::now() < deadline,
                "/healthz never said {what}; last: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, as `docker stop` sends it; waits for the exit and returns its code.
    pub fn terminate(mut self) -> Option<i32> {
        let mut process = self.process.take()?;
        drop(process.stdin.take());
        process.wait_inner(Duration::from_secs(30))
    }

    /// SIGTERM (a graceful shutdown) and wait.
    pub fn stop(mut self) {
        if let Some(process) = self.process.take() {
            process.stop();
        }
    }

    /// SIGKILL: no shutdown at all, wherever the daemon was.
    pub fn kill(mut self) {
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }

    /// Waits for the daemon to exit by itself; its exit code.
    pub fn exit_code(mut self, timeout: Duration) -> Option<i32> {
        self.process.take().and_then(|p| p.wait(timeout))
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- guichet serve log (tail) ---\n{}", tail(&self.log, 40));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Human clients

/// What a human client saw, in order.
#[derive(Debug, Clone)]
pub enum Seen {
    Message(Message),
    /// A read receipt of `user` on `event`.
    Receipt {
        room: OwnedRoomId,
        user: OwnedUserId,
        event: OwnedEventId,
    },
    Typing {
        room: OwnedRoomId,
        users: Vec<OwnedUserId>,
    },
    Member {
        room: OwnedRoomId,
        user: OwnedUserId,
        membership: MembershipState,
    },
}

#[derive(Debug, Clone)]
pub struct Message {
    pub room: OwnedRoomId,
    pub event_id: OwnedEventId,
    pub sender: OwnedUserId,
    /// The event's content as JSON (decrypted).
    pub content: serde_json::Value,
    pub encrypted: bool,
    pub sender_device: Option<String>,
    pub origin_ms: u64,
}

impl Message {
    pub fn body(&self) -> &str {
        self.content["body"].as_str().unwrap_or_default()
    }

    pub fn html(&self) -> &str {
        self.content["formatted_body"].as_str().unwrap_or_default()
    }

    pub fn msgtype(&self) -> &str {
        self.content["msgtype"].as_str().unwrap_or_default()
    }

    /// The event this one replies to (rich reply or reply within a thread).
    pub fn in_reply_to(&self) -> Option<&str> {
        self.content["m.relates_to"]["m.in_reply_to"]["event_id"].as_str()
    }

    pub fn thread_root(&self) -> Option<&str> {
        let relation = &self.content["m.relates_to"];
        (relation["rel_type"] == "m.thread")
            .then(|| relation["event_id"].as_str())
            .flatten()
    }

    pub fn mentions(&self, user: &UserId) -> bool {
        self.content["m.mentions"]["user_ids"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| id == user.as_str()))
    }
}

#[derive(Default)]
struct Inbox {
    seen: Mutex<Vec<Seen>>,
    arrived: tokio::sync::Notify,
}

impl Inbox {
    fn push(&self, seen: Seen) {
        self.seen.lock().unwrap().push(seen);
        self.arrived.notify_waiters();
    }
}

/// A person on Element: a matrix-sdk client with its own store, cross-signed, sharing room
/// keys only with devices their owner signed (Element's "exclude insecure devices").
pub struct Human {
    pub client: Client,
    pub user_id: OwnedUserId,
    inbox: Arc<Inbox>,
    sync: tokio::task::JoinHandle<()>,
}

impl Drop for Human {
    fn drop(&mut self) {
        self.sync.abort();
    }
}

impl Human {
    pub async fn login(synapse: &Synapse, localpart: &str, dir: &Path) -> Self {
        // Element's "exclude insecure devices" key sharing. matrix-sdk does not re-export
        // `CollectStrategy` and its default shares with every device: name the variant through
        // serde rather than add matrix-sdk-base, which `--no-default-features` would then build.
        let strategy = serde_json::from_value(serde_json::json!("IdentityBasedStrategy")).unwrap();
        assert_eq!(
            serde_json::to_value(&strategy).unwrap(),
            serde_json::json!("IdentityBasedStrategy")
        );
        let client = Client::builder()
            .homeserver_url(&synapse.url)
            .sqlite_store(dir.join(format!("human-{localpart}")), None)
            .with_encryption_settings(EncryptionSettings {
                auto_enable_cross_signing: true,
                ..Default::default()
            })
            .with_room_key_recipient_strategy(strategy)
            .build()
            .await
            .unwrap();
        client
            .matrix_auth()
            .login_username(localpart, PASSWORD)
            .initial_device_display_name("element")
            .send()
            .await
            .unwrap();
        let user_id = client.user_id().unwrap().to_owned();
        let inbox = Arc::new(Inbox::default());
        {
            let inbox = inbox.clone();
            client.add_event_handler(
                move |event: OriginalSyncRoomMessageEvent,
                      room: Room,
                      encryption: Option<EncryptionInfo>| {
                    let inbox = inbox.clone();
                    async move {
                        inbox.push(Seen::Message(Message {
                            room: room.room_id().to_owned(),
                            event_id: event.event_id.clone(),
                            sender: event.sender.clone(),
                            content: serde_json::to_value(&event.content).unwrap(),
                            sender_device: encryption
                                .as_ref()
                                .and_then(|e| e.sender_device.as_ref().map(|d| d.to_string())),
                            encrypted: encryption.is_some(),
                            origin_ms: event.origin_server_ts.get().into(),
                        }));
                    }
                },
            );
        }
        {
            let inbox = inbox.clone();
            client.add_event_handler(
                move |event: SyncEphemeralRoomEvent<ReceiptEventContent>, room: Room| {
                    let inbox = inbox.clone();
                    async move {
                        for (event_id, receipts) in &event.content.0 {
                            for user in receipts
                                .get(&ReceiptType::Read)
                                .into_iter()
                                .flat_map(|r| r.keys())
                            {
                                inbox.push(Seen::Receipt {
                                    room: room.room_id().to_owned(),
                                    user: user.clone(),
                                    event: event_id.clone(),
                                });
                            }
                        }
                    }
                },
            );
        }
        {
            let inbox = inbox.clone();
            client.add_event_handler(
                move |event: SyncEphemeralRoomEvent<TypingEventContent>, room: Room| {
                    let inbox = inbox.clone();
                    async move {
                        inbox.push(Seen::Typing {
                            room: room.room_id().to_owned(),
                            users: event.content.user_ids.clone(),
                        });
                    }
                },
            );
        }
        {
            let inbox = inbox.clone();
            client.add_event_handler(move |event: OriginalSyncRoomMemberEvent, room: Room| {
                let inbox = inbox.clone();
                async move {
                    inbox.push(Seen::Member {
                        room: room.room_id().to_owned(),
                        user: event.state_key.clone(),
                        membership: event.content.membership.clone(),
                    });
                }
            });
        }
        let settings = sync_settings();
        client.sync_once(settings.clone()).await.unwrap();
        // Cross-signing is bootstrapped in the background after login: wait for it, so the
        // bot (or anyone) can trust this device.
        client
            .encryption()
            .wait_for_e2ee_initialization_tasks()
            .await;
        let sync = tokio::spawn({
            let client = client.clone();
            async move {
                // `sync_once` in a loop rather than `sync`, which ends on the first network
                // error (a homeserver restart) and waits a second between syncs (that second
                // would be in every round trip measured here).
                let mut settings = sync_settings();
                loop {
                    match client.sync_once(settings.clone()).await {
                        Ok(response) => settings = settings.token(response.next_batch),
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            }
        });
        Self {
            client,
            user_id,
            inbox,
            sync,
        }
    }

    /// The first thing seen (and not yet taken) that matches, waiting up to `timeout`.
    pub async fn expect<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut pick: impl FnMut(&Seen) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.inbox.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut seen = self.inbox.seen.lock().unwrap();
                if let Some((index, found)) = seen
                    .iter()
                    .enumerate()
                    .find_map(|(i, s)| pick(s).map(|f| (i, f)))
                {
                    seen.remove(index);
                    return found;
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{} did not see {what} within {timeout:?}", self.user_id);
            }
        }
    }

    /// The next message from `from` in `room`.
    pub async fn next_message(&self, room: &Room, from: &UserId) -> Message {
        let room_id = room.room_id().to_owned();
        self.expect(&format!("a message from {from}"), WAIT, |seen| match seen {
            Seen::Message(m) if m.room == room_id && m.sender == from => Some(m.clone()),
            _ => None,
        })
        .await
    }

    /// The message from `from` in `room` that replies to `question` (rich reply, or reply
    /// within a thread), waiting for it.
    pub async fn answer_to(&self, room: &Room, from: &UserId, question: &OwnedEventId) -> Message {
        let room_id = room.room_id().to_owned();
        self.expect(
            &format!("an answer from {from} to {question}"),
            WAIT,
            |seen| match seen {
                Seen::Message(m)
                    if m.room == room_id
                        && m.sender == from
                        && m.in_reply_to() == Some(question.as_str()) =>
                {
                    Some(m.clone())
                }
                _ => None,
            },
        )
        .await
    }

    /// Whether an answer from `from` to `question` arrived (not taken), without waiting.
    /// How many answers from `from` to `question` arrived and were not taken.
    pub fn count_answers_to(&self, room: &Room, from: &UserId, question: &OwnedEventId) -> usize {
        self.inbox.seen.lock().unwrap().iter().filter(|s| {
            matches!(s, Seen::Message(m) if m.room == room.room_id() && m.sender == from && m.in_reply_to() == Some(question.as_str()))
        }).count()
    }

    pub fn has_answer_to(&self, room: &Room, from: &UserId, question: &OwnedEventId) -> bool {
        self.inbox.seen.lock().unwrap().iter().any(|s| {
            matches!(s, Seen::Message(m) if m.room == room.room_id() && m.sender == from && m.in_reply_to() == Some(question.as_str()))
        })
    }

    pub async fn member(&self, room: &Room, user: &UserId, membership: MembershipState) {
        let room_id = room.room_id().to_owned();
        self.expect(&format!("{user} {membership}"), WAIT, |seen| match seen {
            Seen::Member {
                room,
                user: u,
                membership: m,
            } if *room == room_id && u == user && *m == membership => Some(()),
            _ => None,
        })
        .await;
    }

    pub async fn receipt(&self, room: &Room, user: &UserId, event: &OwnedEventId) {
        let room_id = room.room_id().to_owned();
        self.expect(
            &format!("a read receipt of {user}"),
            WAIT,
            |seen| match seen {
                Seen::Receipt {
                    room,
                    user: u,
                    event: e,
                } if *room == room_id && u == user && e == event => Some(()),
                _ => None,
            },
        )
        .await;
    }

    /// Whether `user` was seen typing in `room` (taking those notices).
    pub fn saw_typing(&self, room: &Room, user: &UserId) -> bool {
        let mut seen = self.inbox.seen.lock().unwrap();
        let before = seen.len();
        seen.retain(|s| !matches!(s, Seen::Typing { room: r, users } if r == room.room_id() && users.iter().any(|u| u == user)));
        seen.len() != before
    }

    /// A room created like Element does: private, the bot invited. `direct` marks it a DM;
    /// `encrypted` adds `m.room.encryption` to the initial state.
    pub async fn create_room(&self, invite: &[&UserId], direct: bool, encrypted: bool) -> Room {
        if direct && encrypted && invite.len() == 1 {
            return self.client.create_dm(invite[0]).await.unwrap();
        }
        let mut request = CreateRoom::new();
        request.invite = invite.iter().map(|u| (*u).to_owned()).collect();
        request.is_direct = direct;
        request.preset = Some(if direct {
            RoomPreset::TrustedPrivateChat
        } else {
            RoomPreset::PrivateChat
        });
        assert!(
            !encrypted || direct,
            "encrypted group rooms are not used here"
        );
        self.client.create_room(request).await.unwrap()
    }

    /// A group room with a public alias `#<alias>:localhost`, inviting `invite`.
    pub async fn create_room_with_alias(&self, alias: &str, invite: &[&UserId]) -> Room {
        let mut request = CreateRoom::new();
        request.invite = invite.iter().map(|u| (*u).to_owned()).collect();
        request.room_alias_name = Some(alias.to_owned());
        request.preset = Some(RoomPreset::PrivateChat);
        self.client.create_room(request).await.unwrap()
    }

    pub async fn join(&self, room_id: &OwnedRoomId) -> Room {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.client.join_room_by_id(room_id).await {
                Ok(room) => return room,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("cannot join: {err}"),
            }
        }
    }

    pub async fn send(&self, room: &Room, body: &str) -> OwnedEventId {
        self.send_content(
            room,
            RoomMessageEventContent::text_plain(body).add_mentions(Mentions::new()),
        )
        .await
    }

    /// A message with an intentional mention (a pill) of `user`.
    pub async fn send_mention(
        &self,
        room: &Room,
        user: &UserId,
        display: &str,
        text: &str,
    ) -> OwnedEventId {
        let content = RoomMessageEventContent::text_html(
            format!("{display}: {text}"),
            format!("<a href=\"https://matrix.to/#/{user}\">{display}</a>: {text}"),
        )
        .add_mentions(Mentions::with_user_ids([user.to_owned()]));
        self.send_content(room, content).await
    }

    pub async fn send_content(
        &self,
        room: &Room,
        content: RoomMessageEventContent,
    ) -> OwnedEventId {
        room.send(content).await.unwrap().response.event_id
    }

    /// Waits until every device of `user` is signed by its owner, as this client sees it:
    /// before that, strict clients share no room keys with it.
    pub async fn wait_cross_signed(&self, user: &UserId) -> Vec<String> {
        self.wait_cross_signed_within(user, WAIT).await
    }

    pub async fn wait_cross_signed_within(&self, user: &UserId, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let _ = self.client.encryption().request_user_identity(user).await;
            if let Ok(devices) = self.client.encryption().get_user_devices(user).await {
                let devices: Vec<_> = devices.devices().collect();
                if !devices.is_empty() && devices.iter().all(|d| d.is_cross_signed_by_owner()) {
                    return devices.iter().map(|d| d.device_id().to_string()).collect();
                }
            }
            assert!(
                Instant::now() < deadline,
                "{user} never cross-signed its devices"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `user`'s devices as the server has them now, and whether each is signed by its owner:
    /// no waiting.
    pub async fn devices_now(&self, user: &UserId) -> Vec<(String, bool)> {
        self.client
            .encryption()
            .request_user_identity(user)
            .await
            .unwrap();
        let devices = self
            .client
            .encryption()
            .get_user_devices(user)
            .await
            .unwrap();
        devices
            .devices()
            .map(|d| (d.device_id().to_string(), d.is_cross_signed_by_owner()))
            .collect()
    }

    /// An encrypted room with several people, inviting `invite`.
    pub async fn create_encrypted_group(&self, invite: &[&UserId]) -> Room {
        let mut request = CreateRoom::new();
        request.invite = invite.iter().map(|u| (*u).to_owned()).collect();
        request.preset = Some(RoomPreset::PrivateChat);
        let room = self.client.create_room(request).await.unwrap();
        room.enable_encryption().await.unwrap();
        room
    }

    /// The base64 master key of `user`'s cross-signing identity, fresh from the server.
    pub async fn master_key(&self, user: &UserId) -> Option<String> {
        let identity = self
            .client
            .encryption()
            .request_user_identity(user)
            .await
            .ok()??;
        identity.master_key().get_first_key().map(|k| k.to_base64())
    }
}

pub fn sync_settings() -> SyncSettings {
    SyncSettings::default()
        .filter(FilterDefinition::with_lazy_loading().into())
        .timeout(Duration::from_secs(10))
}

/// A fresh directory under the cargo target's temp dir, named after the test; removed when
/// the test passes, kept (with the logs of Synapse and the bot) when it fails.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("matrix")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test files kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A figure for the person running the tests (shown with `--nocapture`).
pub fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

// ---------------------------------------------------------------------------------------------
// A client made by hand

/// A device whose encryption the test drives step by step (vodozemac, as matrix-sdk uses it):
/// it sends an encrypted message now and shares its key when the test says, as a slow or
/// strict client does. No matrix-sdk behind it, so nothing shares keys on its own.
pub struct HandmadeDevice {
    pub user_id: OwnedUserId,
    pub device_id: String,
    pub token: String,
    account: vodozemac::olm::Account,
}

/// A Megolm session of a [`HandmadeDevice`]: its key, exported before the first message.
pub struct HandmadeSession {
    session: vodozemac::megolm::GroupSession,
    key: String,
}

impl HandmadeSession {
    pub fn new() -> Self {
        let session =
            vodozemac::megolm::GroupSession::new(vodozemac::megolm::SessionConfig::version_1());
        let key = session.session_key().to_base64();
        Self { session, key }
    }

    pub fn id(&self) -> String {
        self.session.session_id()
    }
}

impl HandmadeDevice {
    /// Logs `localpart` in on a new device and publishes that device's keys.
    pub async fn login(synapse: &Synapse, localpart: &str) -> Self {
        let body = serde_json::json!({
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": PASSWORD,
        });
        let response = synapse
            .http
            .post(format!("{}/_matrix/client/v3/login", synapse.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let login: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        let device = Self {
            user_id: UserId::parse(login["user_id"].as_str().unwrap()).unwrap(),
            device_id: login["device_id"].as_str().unwrap().to_owned(),
            token: login["access_token"].as_str().unwrap().to_owned(),
            account: vodozemac::olm::Account::new(),
        };
        let keys = device.account.identity_keys();
        let dev = &device.device_id;
        // Keys in sorted order: serialized, this is the canonical JSON that is signed.
        let unsigned = serde_json::json!({
            "algorithms": ["m.megolm.v1.aes-sha2", "m.olm.v1.curve25519-aes-sha2"],
            "device_id": dev,
            "keys": {
                format!("curve25519:{dev}"): keys.curve25519.to_base64(),
                format!("ed25519:{dev}"): keys.ed25519.to_base64(),
            },
            "user_id": device.user_id.as_str(),
        });
        let signature = device.account.sign(unsigned.to_string()).to_base64();
        let mut signed = unsigned;
        signed["signatures"] = serde_json::json!({
            device.user_id.as_str(): { format!("ed25519:{dev}"): signature }
        });
        let (status, body) = synapse
            .call(
                "POST",
                "/_matrix/client/v3/keys/upload",
                &device.token,
                Some(serde_json::json!({ "device_keys": signed })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        device
    }

    /// Publishes one-time keys, so other devices can open Olm sessions with this one and
    /// send it room keys.
    pub async fn publish_one_time_keys(&mut self, synapse: &Synapse) {
        self.account.generate_one_time_keys(5);
        let dev = &self.device_id;
        let mut keys = serde_json::Map::new();
        for (id, key) in self.account.one_time_keys() {
            let unsigned = serde_json::json!({ "key": key.to_base64() });
            let signature = self.account.sign(unsigned.to_string()).to_base64();
            keys.insert(
                format!("signed_curve25519:{}", id.to_base64()),
                serde_json::json!({
                    "key": key.to_base64(),
                    "signatures": { self.user_id.as_str(): { format!("ed25519:{dev}"): signature } },
                }),
            );
        }
        self.account.mark_keys_as_published();
        let (status, body) = synapse
            .call(
                "POST",
                "/_matrix/client/v3/keys/upload",
                &self.token,
                Some(serde_json::json!({ "one_time_keys": keys })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// The to-device events this device received from `sender`, waiting up to `timeout`
    /// for at least one; `(type, content)`.
    pub async fn to_device_from(
        &self,
        synapse: &Synapse,
        sender: &UserId,
        timeout: Duration,
    ) -> Vec<(String, serde_json::Value)> {
        let deadline = Instant::now() + timeout;
        let mut since: Option<String> = None;
        let mut found = Vec::new();
        loop {
            let path = match &since {
                Some(token) => format!("/_matrix/client/v3/sync?timeout=1000&since={token}"),
                None => "/_matrix/client/v3/sync?timeout=0".to_owned(),
            };
            let (status, sync) = synapse.call("GET", &path, &self.token, None).await;
            assert_eq!(status, 200, "{sync}");
            since = sync["next_batch"].as_str().map(ToOwned::to_owned);
            for event in sync["to_device"]["events"].as_array().into_iter().flatten() {
                if event["sender"] == sender.as_str() {
                    found.push((
                        event["type"].as_str().unwrap_or_default().to_owned(),
                        event["content"].clone(),
                    ));
                }
            }
            if !found.is_empty() || Instant::now() >= deadline {
                return found;
            }
        }
    }

    pub async fn join(&self, synapse: &Synapse, room_id: &str) {
        let (status, body) = synapse
            .call(
                "POST",
                &format!("/_matrix/client/v3/join/{room_id}"),
                &self.token,
                Some(serde_json::json!({})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Sends `content` (an `m.room.message` content) encrypted with `session`, sharing the
    /// key with no one.
    pub async fn send_encrypted(
        &self,
        synapse: &Synapse,
        room_id: &str,
        session: &mut HandmadeSession,
        content: serde_json::Value,
    ) -> OwnedEventId {
        let plaintext = serde_json::json!({
            "content": content, "room_id": room_id, "type": "m.room.message",
        });
        let ciphertext = session.session.encrypt(plaintext.to_string()).to_base64();
        let encrypted = serde_json::json!({
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": ciphertext,
            "device_id": self.device_id,
            "sender_key": self.account.identity_keys().curve25519.to_base64(),
            "session_id": session.id(),
        });
        let (status, body) = synapse
            .call(
                "PUT",
                &format!(
                    "/_matrix/client/v3/rooms/{room_id}/send/m.room.encrypted/{}",
                    random_base64(9).replace(['/', '+'], "_")
                ),
                &self.token,
                Some(encrypted),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        OwnedEventId::try_from(body["event_id"].as_str().unwrap()).unwrap()
    }

    /// Shares `session`'s key with every device of `user` over Olm (`m.room_key`), as a
    /// client does before its first message, here as late as the test wants.
    pub async fn share_key(
        &mut self,
        synapse: &Synapse,
        user: &UserId,
        room_id: &str,
        session: &HandmadeSession,
    ) {
        let (status, query) = synapse
            .call(
                "POST",
                "/_matrix/client/v3/keys/query",
                &self.token,
                Some(serde_json::json!({ "device_keys": { user.as_str(): [] } })),
            )
            .await;
        assert_eq!(status, 200, "{query}");
        let devices = query["device_keys"][user.as_str()]
            .as_object()
            .unwrap()
            .clone();
        assert!(!devices.is_empty(), "{user} has no device keys");
        let mut messages = serde_json::Map::new();
        for (device_id, keys) in devices {
            let curve = keys["keys"][format!("curve25519:{device_id}")]
                .as_str()
                .unwrap()
                .to_owned();
            let ed = keys["keys"][format!("ed25519:{device_id}")]
                .as_str()
                .unwrap()
                .to_owned();
            let (status, claimed) = synapse
                .call(
                    "POST",
                    "/_matrix/client/v3/keys/claim",
                    &self.token,
                    Some(serde_json::json!({
                        "one_time_keys": { user.as_str(): { &device_id: "signed_curve25519" } }
                    })),
                )
                .await;
            assert_eq!(status, 200, "{claimed}");
            let one_time = claimed["one_time_keys"][user.as_str()][&device_id]
                .as_object()
                .and_then(|keys| keys.values().next())
                .and_then(|key| key["key"].as_str())
                .unwrap_or_else(|| panic!("no one-time key for {device_id}: {claimed}"))
                .to_owned();
            let mut olm = self
                .account
                .create_outbound_session(
                    vodozemac::olm::SessionConfig::version_1(),
                    vodozemac::Curve25519PublicKey::from_base64(&curve).unwrap(),
                    vodozemac::Curve25519PublicKey::from_base64(&one_time).unwrap(),
                )
                .unwrap();
            let payload = serde_json::json!({
                "content": {
                    "algorithm": "m.megolm.v1.aes-sha2",
                    "room_id": room_id,
                    "session_id": session.id(),
                    "session_key": session.key,
                },
                "keys": { "ed25519": self.account.identity_keys().ed25519.to_base64() },
                "recipient": user.as_str(),
                "recipient_keys": { "ed25519": ed },
                "sender": self.user_id.as_str(),
                "sender_device": self.device_id,
                "type": "m.room_key",
            });
            let (kind, body) = match olm.encrypt(payload.to_string()).unwrap() {
                vodozemac::olm::OlmMessage::PreKey(m) => (0, m.to_base64()),
                vodozemac::olm::OlmMessage::Normal(m) => (1, m.to_base64()),
            };
            let sender_key = self.account.identity_keys().curve25519.to_base64();
            messages.insert(
                device_id,
                serde_json::json!({
                    "algorithm": "m.olm.v1.curve25519-aes-sha2",
                    "ciphertext": { curve: { "body": body, "type": kind } },
                    "sender_key": sender_key,
                }),
            );
        }
        let (status, body) = synapse
            .call(
                "PUT",
                &format!(
                    "/_matrix/client/v3/sendToDevice/m.room.encrypted/{}",
                    random_base64(9).replace(['/', '+'], "_")
                ),
                &self.token,
                Some(serde_json::json!({ "messages": { user.as_str(): messages } })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

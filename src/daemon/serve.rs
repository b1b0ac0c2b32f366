//! `guichet serve`: loads the configuration's knowledge base and state store, starts every
//! enabled adapter in one tokio runtime sharing one engine and one store, the admin endpoint,
//! hot reload and the privacy purge; on SIGTERM/SIGINT stops taking messages, lets replies in
//! flight finish (10 s at most), flushes the store and returns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::config::Settings;
use crate::engine::Engine;
use crate::kb::LoadError;
use crate::service::{Bot, now_ms};
use crate::store::{DEFAULT_EVENT_RETENTION, SqliteStore, StateStore, StoreError};

use super::admin::{self, AdminError};
use super::reload::Reloader;
use crate::service::stats::{Stats, StatsError};
use crate::service::{Context, Status, Throttle};

/// Replies in flight get this long to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How often forgotten conversations and old event claims are purged.
const PURGE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Name of the state database inside `state_dir`.
pub const STATE_FILE: &str = "state.sqlite";
/// Name of the opt-in statistics database inside `state_dir`.
pub const STATS_FILE: &str = "stats.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot load the knowledge base {}:\n{source}", .path.display())]
    KnowledgeBase {
        path: PathBuf,
        #[source]
        source: LoadError,
    },
    #[error("cannot create the state directory {}: {source}", .path.display())]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state directory exists but this user cannot write in it: typically a host folder
    /// bind-mounted on the image's `/data` that belongs to root.
    #[error("{}", not_writable(.path, *.owner, *.user, .cause))]
    StateDirNotWritable {
        path: PathBuf,
        /// The directory's uid and gid.
        owner: Option<(u32, u32)>,
        /// This process's effective uid and gid.
        user: Option<(u32, u32)>,
        /// Shown in the message, before the advice (not as a `source`, which would be
        /// printed again after it).
        cause: std::io::Error,
    },
    /// Nothing would be served: no platform configured and no terminal to chat in. A
    /// container started without its environment would otherwise exit 0 at once and restart
    /// in a loop (issue 18).
    #[error(
        "no platform is configured, and stdin is not a terminal to chat in.\n\
         Configure one in the configuration file (--config, or config.toml in the working \
         directory) or in the environment:\n  \
         - Matrix: a [matrix] section, or GUICHET_MATRIX_HOMESERVER, GUICHET_MATRIX_USER and \
         GUICHET_MATRIX_ACCESS_TOKEN_FILE (or GUICHET_MATRIX_PASSWORD_FILE);\n  \
         - Discord: a [discord] section, or GUICHET_DISCORD_TOKEN_FILE.\n\
         `guichet config check` shows what was read. To chat through stdin anyway, pass --terminal."
    )]
    NoPlatform,
    /// A platform is configured but this binary was built without its cargo feature.
    #[error(
        "[{platform}] is configured, but this guichet was built without {platform}: rebuild it \
         with the default features (`cargo install --path . --locked`)"
    )]
    NotBuiltWith { platform: &'static str },
    #[error(transparent)]
    State(#[from] StoreError),
    #[error(transparent)]
    Stats(#[from] StatsError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// An adapter could not start or stopped with an error.
    #[error("the {adapter} adapter failed: {message}")]
    Adapter {
        adapter: &'static str,
        message: String,
        /// The platform refused the configuration itself (a bad or revoked token, an intent
        /// the bot may not use): restarting does not help.
        configuration: bool,
    },
}

impl ServeError {
    /// Whether restarting cannot help: the configuration must change first (`serve` exits
    /// with sysexits' EX_CONFIG, on which the systemd unit does not restart).
    pub fn is_configuration(&self) -> bool {
        match self {
            ServeError::NoPlatform
            | ServeError::NotBuiltWith { .. }
            | ServeError::StateDirNotWritable { .. } => true,
            ServeError::Adapter { configuration, .. } => *configuration,
            _ => false,
        }
    }
}

/// How an adapter failed: its error and its causes on one line, and whether the platform
/// refused the configuration itself.
#[derive(Debug)]
struct AdapterFailure {
    message: String,
    configuration: bool,
}

impl AdapterFailure {
    fn into_error(self, adapter: &'static str) -> ServeError {
        ServeError::Adapter {
            adapter,
            message: self.message,
            configuration: self.configuration,
        }
    }
}

/// What an adapter task ends with.
type AdapterResult = (&'static str, Result<(), AdapterFailure>);

/// Options that come from the command line rather than the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Also chat in this terminal (always on when no platform is configured).
    pub terminal: bool,
}

/// Runs the daemon until a shutdown signal (or, for a terminal-only daemon, the end of input).
pub async fn serve(settings: Settings, options: ServeOptions) -> Result<(), ServeError> {
    for warning in &settings.warnings {
        tracing::warn!("configuration: {warning}");
    }
    let terminal = {
        use std::io::IsTerminal;
        options.terminal || (settings.terminal_only() && std::io::stdin().is_terminal())
    };
    check_platforms(&settings, terminal)?;
    let (kb, warnings) =
        crate::kb::load(&settings.content).map_err(|source| ServeError::KnowledgeBase {
            path: settings.content.clone(),
            source,
        })?;
    if !warnings.is_empty() {
        tracing::warn!(
            count = warnings.len(),
            "the knowledge base has warnings: run `guichet check`"
        );
    }
    crate::store::create_private_dir(&settings.state_dir).map_err(|source| {
        ServeError::StateDir {
            path: settings.state_dir.clone(),
            source,
        }
    })?;
    ensure_writable(&settings.state_dir)?;
    let store: Arc<dyn StateStore> =
        Arc::new(SqliteStore::open(settings.state_dir.join(STATE_FILE))?);
    let mode = settings.matching;
    let engine = Engine::new(Arc::new(kb), mode, settings.strings.clone());
    let bot = Arc::new(Bot::new(engine, store.clone(), settings.idle_reset));
    let status = Arc::new(Status::new());
    let stats = if settings.stats.enabled {
        Some(Arc::new(Stats::open(&settings.state_dir.join(STATS_FILE))?))
    } else {
        None
    };
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let ctx = Context {
        bot: bot.clone(),
        status: status.clone(),
        throttle: settings.throttle.as_ref().map(|t| {
            Arc::new(Throttle::new(
                usize::try_from(t.messages.get()).unwrap_or(usize::MAX),
                t.window,
            ))
        }),
        shutdown: shutdown_rx.clone(),
        throttle_notice: settings.strings.throttled.clone(),
        stats,
    };

    let listener = admin::bind(settings.admin.listen).await?;
    tracing::info!(address = %settings.admin.listen, "admin endpoint: /healthz and /metrics");
    let mut background = JoinSet::new();
    background.spawn(admin::serve(
        listener,
        admin::AdminLimits::default(),
        status.clone(),
        bot.clone(),
        shutdown_rx.clone(),
    ));
    let reloader = Reloader::new(
        settings.content.clone(),
        mode,
        settings.strings.clone(),
        bot.clone(),
        status.clone(),
    );
    background.spawn(reloader.watch(shutdown_rx.clone()));
    background.spawn(purge(
        bot.clone(),
        ctx.stats.clone(),
        settings.forget_after,
        shutdown_rx.clone(),
    ));

    let mut adapters: JoinSet<AdapterResult> = JoinSet::new();
    let terminal_done = if terminal {
        Some(spawn_terminal(&ctx))
    } else {
        None
    };
    spawn_adapters(&settings, &ctx, &mut adapters);
    tracing::info!(
        adapters = adapters.len() + usize::from(terminal),
        "guichet is serving"
    );

    let terminal_ended = async {
        match terminal_done {
            Some(done) => done.await.unwrap_or(("terminal", Ok(()))),
            None => std::future::pending().await,
        }
    };
    let mut result = Ok(());
    tokio::select! {
        reason = terminate_signal() => tracing::info!(signal = reason, "shutting down"),
        (adapter, ended) = terminal_ended => match ended {
            Ok(()) => tracing::info!("end of terminal input; shutting down"),
            Err(failure) => result = Err(failure.into_error(adapter)),
        },
        Some(ended) = adapters.join_next(), if !adapters.is_empty() => {
            match ended {
                Ok((name, Ok(()))) => tracing::info!(adapter = name, "adapter ended; shutting down"),
                Ok((adapter, Err(failure))) => result = Err(failure.into_error(adapter)),
                Err(join) => result = Err(ServeError::Adapter {
                    adapter: "unknown",
                    message: join.to_string(),
                    configuration: false,
                }),
            }
        }
    }
    let _ = shutdown_tx.send(true);
    // Replies in flight finish; adapters return once they have stopped taking messages.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(ended) = adapters.join_next().await {
            if let Ok((adapter, Err(failure))) = ended {
                tracing::warn!(adapter, message = %failure.message, "adapter stopped with an error");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("some replies did not finish within {SHUTDOWN_GRACE:?}");
        adapters.abort_all();
    }
    background.abort_all();
    store.flush()?;
    tracing::info!("state flushed; bye");
    result
}

/// Refuses to start when nothing would be served: every configured platform must be built
/// in, and without any platform there must be a terminal (`terminal`: stdin is one, or
/// `--terminal` was given).
fn check_platforms(settings: &Settings, terminal: bool) -> Result<(), ServeError> {
    #[cfg(not(feature = "matrix"))]
    if settings.matrix.is_some() {
        return Err(ServeError::NotBuiltWith { platform: "matrix" });
    }
    #[cfg(not(feature = "discord"))]
    if settings.discord.is_some() {
        return Err(ServeError::NotBuiltWith {
            platform: "discord",
        });
    }
    if settings.terminal_only() && !terminal {
        return Err(ServeError::NoPlatform);
    }
    Ok(())
}

/// Fails at start, with the ids to fix, when the state directory is not writable: SQLite
/// would only say "unable to open database file (Error code 14)".
fn ensure_writable(dir: &Path) -> Result<(), ServeError> {
    let probe = dir.join(".guichet-write-test");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe);
    match written {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(cause) => {
            #[cfg(unix)]
            let owner = {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(dir).ok().map(|m| (m.uid(), m.gid()))
            };
            #[cfg(not(unix))]
            let owner = None;
            Err(ServeError::StateDirNotWritable {
                path: dir.to_owned(),
                owner,
                user: process_ids(),
                cause,
            })
        }
    }
}

/// This process's effective uid and gid, from `/proc/self/status` (Linux; `None` elsewhere:
/// the standard library has no safe call for them).
fn process_ids() -> Option<(u32, u32)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let effective = |name: &str| -> Option<u32> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(2)?.parse().ok()
    };
    Some((effective("Uid:")?, effective("Gid:")?))
}

/// The message of [`ServeError::StateDirNotWritable`]: which ids to give the folder.
fn not_writable(
    path: &Path,
    owner: Option<(u32, u32)>,
    user: Option<(u32, u32)>,
    cause: &std::io::Error,
) -> String {
    let shown = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let mut message = format!("the state directory {} is not writable", shown.display());
    if let Some((uid, gid)) = user {
        message.push_str(&format!(" by this user (uid {uid}, gid {gid})"));
    }
    message.push_str(&format!(": {cause}"));
    if let Some((uid, gid)) = owner {
        message.push_str(&format!("; it belongs to uid {uid}, gid {gid}"));
    }
    match user {
        Some((uid, gid)) => message.push_str(&format!(
            ".\nGive it to guichet's user: chown -R {uid}:{gid} {} (for a container, on the \
             host folder mounted there)",
            shown.display()
        )),
        None => message.push_str(".\nGive it to the user guichet runs as"),
    }
    message
}

/// The terminal adapter reads stdin on a blocking thread, which a shutdown cannot interrupt:
/// it is kept out of the adapters a shutdown waits for (it has nothing in flight while it
/// waits for a line), and its end (end of input, `/quit`) ends a terminal daemon.
fn spawn_terminal(ctx: &Context) -> tokio::sync::oneshot::Receiver<AdapterResult> {
    ctx.status.register("terminal");
    let ctx = ctx.clone();
    let (done, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        use std::io::IsTerminal;
        let stdin = std::io::stdin();
        let interactive = stdin.is_terminal();
        let result = crate::platform::terminal::run(
            &ctx,
            stdin.lock(),
            std::io::stdout().lock(),
            interactive,
        )
        .map_err(|err| AdapterFailure {
            message: err.to_string(),
            configuration: false,
        });
        let _ = done.send(("terminal", result));
    });
    receiver
}

/// Starts every enabled platform adapter. Each adds its block here, behind its cargo feature,
/// with its error as an [`AdapterFailure`].
fn spawn_adapters(settings: &Settings, ctx: &Context, adapters: &mut JoinSet<AdapterResult>) {
    #[cfg(feature = "discord")]
    if let Some(discord) = settings.discord.clone() {
        let ctx = ctx.clone();
        adapters.spawn(async move {
            let result = crate::platform::discord::run(discord, ctx).await;
            let failure = |e: crate::platform::discord::DiscordError| AdapterFailure {
                configuration: e.is_configuration(),
                message: with_sources(&e),
            };
            ("discord", result.map_err(failure))
        });
    }
    #[cfg(feature = "matrix")]
    if let Some(matrix) = settings.matrix.clone() {
        let ctx = ctx.clone();
        let state_dir = settings.state_dir.clone();
        adapters.spawn(async move {
            let result = crate::platform::matrix::run(matrix, &state_dir, ctx).await;
            let failure = |e: crate::platform::matrix::MatrixError| AdapterFailure {
                configuration: e.is_configuration(),
                message: with_sources(&e),
            };
            ("matrix", result.map_err(failure))
        });
    }
    let _ = (settings, ctx, adapters);
}

/// An error and its causes on one line: adapters' errors wrap the library's.
#[cfg(any(feature = "discord", feature = "matrix"))]
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// Deletes conversations unused for `forget_after`, unanswered questions of the statistics
/// not asked for as long, and old event claims, every hour.
async fn purge(
    bot: Arc<Bot>,
    stats: Option<Arc<Stats>>,
    forget_after: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                // SQLite deletes: on the blocking pool, off the workers replies need.
                let (bot, stats) = (Arc::clone(&bot), stats.clone());
                let purged = tokio::task::spawn_blocking(move || {
                    purge_once(&bot, stats.as_deref(), now_ms(), forget_after);
                });
                if let Err(err) = purged.await {
                    tracing::warn!(error = %err, "the purge stopped unexpectedly");
                }
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

/// One purge: conversations and unanswered questions unused since `forget_after`, event
/// claims older than a week.
fn purge_once(bot: &Bot, stats: Option<&Stats>, now: i64, forget_after: Duration) {
    match bot.forget_unused(now, forget_after) {
        Ok(0) => {}
        Ok(n) => tracing::info!(conversations = n, "forgot unused conversations"),
        Err(err) => tracing::warn!(error = %err, "purge of unused conversations failed"),
    }
    if let Some(stats) = stats {
        match stats.forget_before(crate::store::forget_cutoff(now, forget_after)) {
            Ok(0) => {}
            Ok(n) => tracing::info!(questions = n, "forgot old unanswered questions"),
            Err(err) => tracing::warn!(error = %err, "purge of old unanswered questions failed"),
        }
    }
    let cutoff = crate::store::forget_cutoff(now, DEFAULT_EVENT_RETENTION);
    if let Err(err) = bot.store().forget_events_before(cutoff) {
        tracing::warn!(error = %err, "purge of old event ids failed");
    }
}

/// Waits for SIGTERM or SIGINT.
async fn terminate_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let term = async {
        match term.as_mut() {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    };
    let int = async {
        match int.as_mut() {
            Some(s) => s.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = term => "SIGTERM",
        _ = int => "SIGINT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unwritable_state_message_names_the_ids_and_the_fix() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let message = not_writable(
            Path::new("/data"),
            Some((0, 0)),
            Some((10001, 10001)),
            &denied,
        );
        assert!(
            message.starts_with(
                "the state directory /data is not writable by this user (uid 10001, gid 10001): "
            ),
            "{message}"
        );
        assert!(
            message.contains("; it belongs to uid 0, gid 0."),
            "{message}"
        );
        assert!(message.ends_with(
            "Give it to guichet's user: chown -R 10001:10001 /data (for a container, on the host folder mounted there)"
        ), "{message}");
        // Where the ids are unknown, the advice stays general; an empty path is the current
        // folder.
        let message = not_writable(Path::new(""), None, None, &denied);
        assert!(
            message.starts_with("the state directory . is not writable: "),
            "{message}"
        );
        assert!(
            message.ends_with("Give it to the user guichet runs as"),
            "{message}"
        );
    }

    #[test]
    fn nothing_to_serve_is_refused_unless_a_terminal_chats() {
        let settings = Settings::default();
        assert!(matches!(
            check_platforms(&settings, false),
            Err(ServeError::NoPlatform)
        ));
        assert!(check_platforms(&settings, true).is_ok());
    }
}

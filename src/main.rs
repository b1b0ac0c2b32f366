//! The `guichet` command line: check a knowledge base or a configuration, chat with a
//! knowledge base, replay messages.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use guichet::config::{self, Settings};
use guichet::engine::{Engine, MatchingMode};
use guichet::kb;
use guichet::service::Context as AdapterContext;
use guichet::service::{Bot, DEFAULT_IDLE_RESET};
use guichet::store::MemoryStore;
use guichet::strings::Strings;

#[derive(Debug, Parser)]
#[command(
    name = "guichet",
    version,
    about = "Serve ChatMD help chatbots in the chat staff already use",
    long_about = "Serve ChatMD help chatbots in the chat staff already use.\n\nWith no command, chats in the terminal with the knowledge base in content/."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log format: `text` for people, `json` for containers and log collectors. The level is
    /// set with RUST_LOG (default: info for serve, warn otherwise).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a knowledge base (a main file or a folder) and print every error and warning.
    Check {
        /// The main file or its folder.
        #[arg(default_value = "content")]
        path: PathBuf,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Chat with a knowledge base in the terminal (/reset starts over, /quit leaves).
    Chat {
        #[arg(default_value = "content")]
        path: PathBuf,
        /// `guichet` (made for chats, the default) or `chatmd` (exactly ChatMD 8.12).
        #[arg(long, value_enum, default_value = "guichet")]
        mode: MatchingMode,
        /// Seed for random choices (alternatives, shuffled choices), for reproducible runs.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Replay typed messages (JSON lines on stdin) and print what was answered, one JSON
    /// line each: {"input", "answer", "path", "score", "text", "choices", "history_answers"};
    /// a line that cannot be read (bad JSON, not UTF-8) gets {"line", "error"} and the replay
    /// goes on.
    Replay {
        path: PathBuf,
        /// `guichet` (made for chats, the default) or `chatmd` (exactly ChatMD 8.12).
        #[arg(long, value_enum, default_value = "guichet")]
        mode: MatchingMode,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Run the daemon: every platform enabled in the configuration, one engine, one state
    /// store, hot reload, and the admin endpoint (/healthz, /metrics).
    Serve {
        /// The configuration file; without it (and no config.toml here), the terminal
        /// adapter on content/.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also chat on stdin. Without any platform configured, serve chats in the terminal
        /// it is started from, and refuses to start when stdin is not a terminal (a
        /// container without its configuration) unless this is given.
        #[arg(long)]
        terminal: bool,
    },
    /// Ask a running daemon whether it is healthy (exit 0) or not (exit 1); for Docker's
    /// HEALTHCHECK.
    Health {
        /// Read the admin address from this configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The admin address, e.g. 127.0.0.1:9100 (default: the configuration's, with
        /// `GUICHET_ADMIN_LISTEN` applied; an unspecified address such as 0.0.0.0 is asked
        /// on loopback).
        #[arg(long)]
        address: Option<std::net::SocketAddr>,
    },
    /// Print the most frequent unanswered questions and answered responses (needs
    /// `[stats] enabled = true`).
    Stats {
        #[arg(long)]
        config: Option<PathBuf>,
        /// How many lines of each list.
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
    /// Work with the daemon's configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file without starting anything.
    ///
    /// Reads the file, the GUICHET_… environment overrides and the *_file secrets exactly as
    /// `serve` does, then prints "ok" and the resulting settings with secrets hidden, or the
    /// first error with its line or variable (exit 1).
    Check {
        #[arg(default_value = config::DEFAULT_FILE)]
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_level = if matches!(cli.command, Some(Command::Serve { .. })) {
        // matrix-sdk logs expected 404s (absent account data…) as errors, and its crypto
        // warns at each sync while key backup is off; the Matrix adapter logs what matters.
        "info,matrix_sdk=warn,matrix_sdk_crypto=error,matrix_sdk::http_client=off"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("guichet: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Some(Command::Check {
            path,
            deny_warnings,
        }) => check(&path, deny_warnings),
        Some(Command::Chat { path, mode, seed }) => chat(&path, mode, seed),
        Some(Command::Serve { config, terminal }) => serve(config.as_deref(), terminal),
        Some(Command::Health { config, address }) => health(config.as_deref(), address),
        Some(Command::Stats { config, top }) => stats(config.as_deref(), top),
        Some(Command::Replay { path, mode, seed }) => {
            let engine = load_engine(&path, mode)?;
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout().lock();
            guichet::replay::run(&engine, stdin, std::io::BufWriter::new(stdout), seed)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Config(ConfigCommand::Check { file })) => config_check(&file),
        None => chat(Path::new("content"), MatchingMode::Guichet, None),
    }
}

/// The configuration: the named file, else `config.toml` if present, else defaults (the
/// terminal on content/); environment overrides apply in every case.
fn load_settings(file: Option<&Path>) -> Result<Settings, config::ConfigError> {
    let default = Path::new(config::DEFAULT_FILE);
    let file = file.or_else(|| default.exists().then_some(default));
    Settings::load(file, config::process_env())
}

/// `serve`'s exit status when the configuration cannot work, which restarting does not fix
/// (sysexits' EX_CONFIG): the systemd unit does not restart on it. Other failures (an
/// adapter that lost its server, a knowledge base being edited) exit 2 and are restarted.
const EXIT_CONFIG: u8 = 78;

fn serve(file: Option<&Path>, terminal: bool) -> Result<ExitCode> {
    let settings = match load_settings(file) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("guichet: {err}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = runtime.block_on(guichet::daemon::serve::serve(
        settings,
        guichet::daemon::serve::ServeOptions { terminal },
    ));
    // The terminal's stdin reader may still be blocked on a line: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match served {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) if err.is_configuration() => {
            eprintln!("guichet: {err}");
            Ok(ExitCode::from(EXIT_CONFIG))
        }
        Err(err) => Err(err.into()),
    }
}

fn health(file: Option<&Path>, address: Option<std::net::SocketAddr>) -> Result<ExitCode> {
    let address = probe_address(match address {
        Some(address) => address,
        None => load_settings(file)?.admin.listen,
    });
    match guichet::daemon::admin::probe(address) {
        Ok((200, body)) => {
            println!("{body}");
            Ok(ExitCode::SUCCESS)
        }
        Ok((code, body)) => {
            println!("{code} {body}");
            Ok(ExitCode::from(1))
        }
        Err(err) => {
            println!("no answer from {address}: {err}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Where to ask for the health of a daemon listening on `listen`: a daemon listening on
/// every interface (`0.0.0.0`, `[::]`) is asked on loopback, which it serves too.
fn probe_address(listen: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, listen.port())
}

fn stats(file: Option<&Path>, top: usize) -> Result<ExitCode> {
    let settings = load_settings(file)?;
    let path = settings.state_dir.join(guichet::daemon::serve::STATS_FILE);
    if !settings.stats.enabled || !path.exists() {
        println!(
            "No statistics: they are off unless the configuration says `[stats] enabled = true`."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let stats = guichet::service::stats::Stats::open(&path)?;
    // What the daemon's hourly purge would have removed by now is not shown either; the
    // purge itself is the daemon's, not a reader's.
    let cutoff = guichet::store::forget_cutoff(guichet::service::now_ms(), settings.forget_after);
    println!("Questions without an answer (most frequent first):");
    for (question, count) in stats.top_unanswered(top, cutoff)? {
        println!("{count:>6}  {question}");
    }
    println!("\nResponses answered:");
    for (title, count) in stats.top_answered(top)? {
        println!("{count:>6}  {title}");
    }
    Ok(ExitCode::SUCCESS)
}

fn config_check(file: &Path) -> Result<ExitCode> {
    match Settings::load(Some(file), config::process_env()) {
        Ok(settings) => {
            for warning in &settings.warnings {
                eprintln!("{warning}");
            }
            println!("{}: ok\n\n{settings}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("{err}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Loads a knowledge base for answering; its errors are shown like `check` shows them.
fn load_engine(path: &Path, mode: MatchingMode) -> Result<Engine> {
    let (mut kb, warnings) = kb::load(path)
        .with_context(|| format!("cannot load the knowledge base {}", path.display()))?;
    if !warnings.is_empty() {
        tracing::info!(
            count = warnings.len(),
            "the knowledge base has warnings: run `guichet check`"
        );
    }
    kb.release_source_text();
    Ok(Engine::new(Arc::new(kb), mode, Strings::default()))
}

fn chat(path: &Path, mode: MatchingMode, seed: Option<u64>) -> Result<ExitCode> {
    let engine = load_engine(path, mode)?;
    let bot = Bot::new(engine, Arc::new(MemoryStore::new()), DEFAULT_IDLE_RESET);
    if let Some(seed) = seed {
        bot.set_seed(seed);
    }
    let ctx = AdapterContext::local(Arc::new(bot), Strings::default().throttled);
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    guichet::platform::terminal::run(&ctx, stdin.lock(), std::io::stdout().lock(), interactive)?;
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path, deny_warnings: bool) -> Result<ExitCode> {
    let checked = kb::check_path(path)?;
    print!("{}", checked.report());
    let errors = checked.error_count();
    let warnings = checked.warning_count();
    let (responses, files) = checked
        .kb
        .as_ref()
        .map_or((0, 0), |kb| (kb.responses.len(), kb.files.len()));
    println!(
        "{}: {errors} error{}, {warnings} warning{} ({responses} responses in {files} file{})",
        path.display(),
        plural(errors),
        plural(warnings),
        plural(files)
    );
    let failed = errors > 0 || (deny_warnings && warnings > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

//! The `guichet` command line: check a knowledge base, chat with it, replay messages.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use guichet::engine::{Engine, MatchingMode, Rng};
use guichet::kb;
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
        /// Seed for random choices (alternatives, shuffled choices), for reproducible runs.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Replay typed messages (JSON lines on stdin) and print what was answered, one JSON
    /// line each: {"input", "answer", "path", "score", "text", "choices", "history_answers"}.
    Replay {
        path: PathBuf,
        #[arg(long, value_enum, default_value = "chatmd")]
        mode: Mode,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Mode {
    Chatmd,
}

impl From<Mode> for MatchingMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Chatmd => MatchingMode::Chatmd,
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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
        Some(Command::Chat { path, seed }) => chat(&path, seed),
        Some(Command::Replay { path, mode, seed }) => {
            let engine = load_engine(&path, mode.into())?;
            let stdin = std::io::stdin().lock();
            let stdout = std::io::stdout().lock();
            guichet::replay::run(&engine, stdin, std::io::BufWriter::new(stdout), seed)?;
            Ok(ExitCode::SUCCESS)
        }
        None => chat(Path::new("content"), None),
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

fn chat(path: &Path, seed: Option<u64>) -> Result<ExitCode> {
    let engine = load_engine(path, MatchingMode::Chatmd)?;
    let bot = Bot::new(engine, Arc::new(MemoryStore::new()), DEFAULT_IDLE_RESET);
    let mut rng = seed.map_or_else(Rng::from_time, Rng::seeded);
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    guichet::platform::terminal::run(
        &bot,
        stdin.lock(),
        std::io::stdout().lock(),
        interactive,
        &mut rng,
    )?;
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

//! The `guichet` command line: check a knowledge base, chat with it, serve it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "guichet",
    version,
    about = "Serve ChatMD help chatbots in the chat staff already use"
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
}

fn main() -> ExitCode {
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
        None => check(&PathBuf::from("content"), false),
    }
}

fn check(path: &std::path::Path, deny_warnings: bool) -> Result<ExitCode> {
    let checked = guichet::kb::check_path(path)?;
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

//! Hot reload: the content folder is watched (and SIGHUP asks too); a new version that
//! `check` rejects is refused and the last good one keeps serving, with the errors logged as
//! `file:line`. Conversations continue; a position that no longer exists falls back to the
//! welcome message (the engine refers to responses by title).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::engine::{Engine, MatchingMode};
use crate::service::Bot;
use crate::strings::Strings;

use super::Status;

/// Editors write a file in several steps (temporary file, rename, chmod): wait for the
/// burst of events to settle before reading.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// What a reload needs to build a new engine.
#[derive(Debug, Clone)]
pub struct Reloader {
    pub content: PathBuf,
    pub mode: MatchingMode,
    pub strings: Strings,
    pub bot: Arc<Bot>,
    pub status: Arc<Status>,
}

impl Reloader {
    /// Loads the content again; serves it if it has no error. Returns whether it did.
    pub fn reload(&self) -> bool {
        match crate::kb::load(&self.content) {
            // A main file without its title or any response is a file caught half-written
            // (or emptied by mistake): serving it would answer nothing. Keep the last one.
            Ok((kb, _)) if !kb.has_title || kb.responses.is_empty() => {
                self.status.reloaded(false);
                tracing::error!(
                    content = %self.content.display(),
                    "knowledge base change refused: no `# ` title or no response (the previous version keeps serving)"
                );
                false
            }
            Ok((kb, warnings)) => {
                let responses = kb.responses.len();
                self.bot
                    .replace_engine(Engine::new(Arc::new(kb), self.mode, self.strings.clone()));
                self.status.reloaded(true);
                tracing::info!(
                    responses,
                    warnings = warnings.len(),
                    "knowledge base reloaded"
                );
                true
            }
            Err(err) => {
                self.status.reloaded(false);
                tracing::error!(
                    "knowledge base change refused, the previous version keeps serving:\n{err}"
                );
                self.status
                    .notify_admins(format!("{}\n{err}", self.strings.reload_refused));
                false
            }
        }
    }

    /// Watches the content and SIGHUP until `shutdown` turns true.
    pub async fn watch(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let folder = watched_folder(&self.content);
        let mut watcher = match notify::recommended_watcher(
            move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && (event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove())
                {
                    let _ = tx.send(());
                }
            },
        ) {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch the content folder; reload with SIGHUP");
                None
            }
        };
        if let Some(w) = watcher.as_mut()
            && let Err(err) = w.watch(&folder, RecursiveMode::Recursive)
        {
            tracing::warn!(error = %err, folder = %folder.display(), "cannot watch the content folder; reload with SIGHUP");
        }
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            let hup = async {
                match hangup.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(()) = rx.recv() => {
                    // Let the editor finish, and fold the burst into one reload.
                    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
                    self.reload();
                }
                _ = hup => {
                    tracing::info!("SIGHUP: reloading the knowledge base");
                    self.reload();
                }
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

/// The folder to watch: the content folder itself, or the main file's folder.
fn watched_folder(content: &Path) -> PathBuf {
    if content.is_dir() {
        content.to_path_buf()
    } else {
        content
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

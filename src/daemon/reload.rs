//! Hot reload: the content folder is watched (and SIGHUP asks too); a new version that
//! `check` rejects is refused and the last good one keeps serving, with the errors logged as
//! `file:line`. Conversations continue; a position that no longer exists falls back to the
//! welcome message (the engine refers to responses by title).
//!
//! Parsing and indexing run on tokio's blocking pool: a huge base (or a file that is slow to
//! read) must not hold an async worker that replies and `/healthz` need. The watch follows the
//! folder being deleted and recreated (`rm -r` then copy, `mv new content`): an inotify watch
//! dies with its folder, so the folder's identity is checked now and then and the watch re-armed.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::engine::{Engine, MatchingMode};
use crate::kb::{Diagnostic, KnowledgeBase, LoadError};
use crate::service::{Bot, Status};
use crate::strings::Strings;

/// Editors write a file in several steps (temporary file, rename, chmod): wait for the
/// burst of events to settle before reading.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How often the watched folder is checked for having been deleted or replaced. A `stat`:
/// cheap, and a replaced folder is picked up within this delay.
const REARM_CHECK: Duration = Duration::from_secs(2);
/// How often the polling watcher (when file notifications are not available) reads the
/// content folder's files.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// How the content is read: [`crate::kb::load`], or a test's stand-in.
type Loader = fn(&Path) -> Result<(KnowledgeBase, Vec<Diagnostic>), LoadError>;

/// What a reload needs to build a new engine.
#[derive(Debug, Clone)]
pub struct Reloader {
    pub content: PathBuf,
    pub mode: MatchingMode,
    pub strings: Strings,
    pub bot: Arc<Bot>,
    pub status: Arc<Status>,
    load: Loader,
}

impl Reloader {
    pub fn new(
        content: PathBuf,
        mode: MatchingMode,
        strings: Strings,
        bot: Arc<Bot>,
        status: Arc<Status>,
    ) -> Self {
        Self {
            content,
            mode,
            strings,
            bot,
            status,
            load: crate::kb::load,
        }
    }

    /// Loads the content again; serves it if it has no error. Returns whether it did.
    /// Blocking: from async code, use [`Reloader::reload_off_workers`].
    pub fn reload(&self) -> bool {
        match (self.load)(&self.content) {
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

    /// [`Reloader::reload`] on the blocking pool: the async workers keep answering while a
    /// base is parsed and indexed, however long that takes.
    pub async fn reload_off_workers(&self) -> bool {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.reload()).await {
            Ok(served) => served,
            Err(err) => {
                self.status.reloaded(false);
                tracing::error!(error = %err, "knowledge base reload failed; the previous version keeps serving");
                false
            }
        }
    }

    /// Watches the content and SIGHUP until `shutdown` turns true. The watch is armed when
    /// this is called, not when the returned future first runs: an edit made as soon as the
    /// daemon says it is serving is seen (a task spawned on a busy runtime may start late).
    /// Call it within the runtime.
    pub fn watch(
        self,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let folder = watched_folder(&self.content);
        let changed = tx.clone();
        // Set when the watched folder itself is removed: its watch is then dead even if a new
        // folder with the same inode number (inodes are reused) appears before the next check.
        let root_removed = Arc::new(AtomicBool::new(false));
        let removed = root_removed.clone();
        let root = folder.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && (event.kind.is_modify() || event.kind.is_create() || event.kind.is_remove())
            {
                if event.kind.is_remove() && event.paths.iter().any(|p| p == &root) {
                    removed.store(true, Ordering::SeqCst);
                }
                let _ = tx.send(());
            }
        };
        let mut watcher = watcher_for(&folder, handler, true);
        // The folder the watch is attached to; `None` while it is missing.
        let mut armed = identity(&folder);
        let mut rearm = tokio::time::interval(REARM_CHECK);
        rearm.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        async move {
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
                        self.reload_off_workers().await;
                    }
                    _ = hup => {
                        tracing::info!("SIGHUP: reloading the knowledge base");
                        self.reload_off_workers().await;
                    }
                    _ = rearm.tick() => {
                        let now = identity(&folder);
                        if now == armed && !(now.is_some() && root_removed.load(Ordering::SeqCst)) {
                            continue;
                        }
                        let Some(w) = watcher.as_mut() else { continue };
                        if now.is_none() {
                            tracing::warn!(folder = %folder.display(), "the content folder is gone; the last version keeps serving, and the folder is watched again when it comes back");
                            armed = None;
                            continue;
                        }
                        // The old watch (if any) belongs to a folder that no longer is this path.
                        let _ = w.unwatch(&folder);
                        match w.watch(&folder, RecursiveMode::Recursive) {
                            Ok(()) => {
                                root_removed.store(false, Ordering::SeqCst);
                                tracing::info!(folder = %folder.display(), "the content folder was replaced; watching it again and reloading");
                                armed = now;
                                let _ = changed.send(());
                            }
                            Err(err) => {
                                // Tried again at the next check.
                                tracing::debug!(error = %err, folder = %folder.display(), "cannot watch the new content folder yet");
                            }
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
    }
}

/// A watch on `folder`: the system's own notifications (inotify) when `native` and they
/// work, else a watcher that polls. inotify can fail for reasons no admin sees coming: every
/// process of the user shares a small number of instances (128 by default on Linux). A
/// folder missing at start is not such a failure: the native watcher is kept, and the
/// re-arm check attaches it once the folder exists. Polling reads the content folder's
/// files every [`POLL_INTERVAL`] (sizes and times can stay the same across an edit), which
/// the content of a bot can afford.
fn watcher_for<F>(folder: &Path, handler: F, native: bool) -> Option<Box<dyn Watcher + Send>>
where
    F: Fn(notify::Result<notify::Event>) + Clone + Send + 'static,
{
    if native {
        match notify::recommended_watcher(handler.clone()) {
            Ok(mut watcher) => match watcher.watch(folder, RecursiveMode::Recursive) {
                Ok(()) => return Some(Box::new(watcher)),
                Err(err) if !folder.exists() => {
                    tracing::warn!(error = %err, folder = %folder.display(), "cannot watch the content folder; reload with SIGHUP");
                    // Kept: the re-arm check watches the folder once it exists.
                    return Some(Box::new(watcher));
                }
                Err(err) => {
                    tracing::warn!(error = %err, folder = %folder.display(), every = ?POLL_INTERVAL, "file notifications do not work for the content folder; checking it periodically instead");
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, every = ?POLL_INTERVAL, "file notifications are not available; checking the content folder periodically instead");
            }
        }
    }
    let config = notify::Config::default()
        .with_poll_interval(POLL_INTERVAL)
        .with_compare_contents(true);
    match notify::PollWatcher::new(handler, config) {
        Ok(mut watcher) => match watcher.watch(folder, RecursiveMode::Recursive) {
            Ok(()) => Some(Box::new(watcher)),
            Err(err) => {
                tracing::warn!(error = %err, folder = %folder.display(), "cannot watch the content folder; reload with SIGHUP");
                // Kept: the re-arm check watches the folder again once it exists.
                Some(Box::new(watcher))
            }
        },
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch the content folder; reload with SIGHUP");
            None
        }
    }
}

/// Which folder a path is now (device and inode), or `None` when it does not exist.
fn identity(folder: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(folder).ok().map(|m| (m.dev(), m.ino()))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

    use std::sync::Mutex;
    use std::sync::mpsc;

    use super::*;
    use crate::store::MemoryStore;

    const BASE: &str = "# T\n\nB\n## A\n- alpha\nA\n";

    /// Told when the gated load starts; it then waits for [`RELEASE`].
    static STARTED: Mutex<Option<mpsc::Sender<()>>> = Mutex::new(None);
    static RELEASE: Mutex<Option<mpsc::Receiver<()>>> = Mutex::new(None);

    /// A load as slow as the test wants: the first call blocks until released.
    fn gated_load(path: &Path) -> Result<(KnowledgeBase, Vec<Diagnostic>), LoadError> {
        if let Some(started) = STARTED.lock().unwrap().take() {
            let _ = started.send(());
        }
        let release = RELEASE.lock().unwrap().take();
        if let Some(release) = release {
            let _ = release.recv_timeout(Duration::from_secs(120));
        }
        crate::kb::load(path)
    }

    /// Issue 14 (reloads off the async workers): a reload parsed the base on the async
    /// worker that ran the watch, so a slow one (a 50 MB base, a FIFO include) stalled every
    /// task on that worker, `/healthz` included. On a one-thread runtime, another task must
    /// keep running while a reload is stuck.
    #[test]
    fn a_stuck_reload_leaves_the_async_workers_free() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("content");
        std::fs::create_dir(&content).unwrap();
        std::fs::write(content.join("index.md"), BASE).unwrap();
        let (kb, _) = crate::kb::load(&content).unwrap();
        let strings = Strings::default();
        let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, strings.clone());
        let bot = Arc::new(Bot::new(
            engine,
            Arc::new(MemoryStore::new()),
            Duration::from_secs(60),
        ));
        let status = Arc::new(Status::new());
        let mut reloader = Reloader::new(
            content.clone(),
            MatchingMode::Guichet,
            strings,
            bot,
            status.clone(),
        );
        reloader.load = gated_load;
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        *STARTED.lock().unwrap() = Some(started_tx);
        *RELEASE.lock().unwrap() = Some(release_rx);

        let (ticks_tx, ticks) = mpsc::channel();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let daemon = std::thread::spawn(move || {
            runtime.block_on(async move {
                let watch = tokio::spawn(reloader.watch(shutdown));
                // A heartbeat: stands for replies and `/healthz` on the same worker.
                while ticks_tx.send(()).is_ok() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                watch.abort();
            });
        });
        ticks.recv_timeout(Duration::from_secs(30)).unwrap();
        // Edit until the watch notices (it may not be armed at the very first write).
        let mut reloading = false;
        for round in 0..30 {
            std::fs::write(
                content.join("index.md"),
                format!("{BASE}\n<!-- {round} -->\n"),
            )
            .unwrap();
            if started.recv_timeout(Duration::from_secs(2)).is_ok() {
                reloading = true;
                break;
            }
        }
        assert!(reloading, "the edit did not start a reload");
        while ticks.try_recv().is_ok() {}
        let alive = ticks.recv_timeout(Duration::from_secs(30)).is_ok();
        release.send(()).unwrap();
        // The released reload finishes and is counted.
        let mut reloaded = false;
        for _ in 0..300 {
            if status
                .metrics(0, 0)
                .contains("guichet_reloads_total{result=\"ok\"} 1")
            {
                reloaded = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = stop.send(true);
        drop(ticks);
        daemon.join().unwrap();
        assert!(alive, "the async worker stalled while the reload was stuck");
        assert!(reloaded, "{}", status.metrics(0, 0));
    }

    /// Where inotify is not available (no instance left, a mount without events), the
    /// fallback watcher still sees an edit, even one that keeps the file's size.
    #[test]
    fn without_file_notifications_an_edit_is_still_seen() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("index.md");
        std::fs::write(&file, "# T\n9 h à 17 h\n").unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let handler = move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| e.kind.is_modify()) {
                let _ = tx.send(());
            }
        };
        let watcher = watcher_for(dir.path(), handler, false);
        assert!(watcher.is_some());
        std::fs::write(&file, "# T\n8 h à 18 h\n").unwrap();
        assert!(
            rx.recv_timeout(Duration::from_secs(60)).is_ok(),
            "the edit was never seen"
        );
    }
}

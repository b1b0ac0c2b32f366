//! The admin HTTP endpoint (loopback by default): `GET /healthz` (200 when every enabled
//! adapter is connected and past its start, 503 otherwise, JSON per adapter with the reason
//! of a degraded one) and `GET /metrics` (Prometheus text). Two read-only routes do not need a web framework: a small HTTP/1.1 responder on
//! tokio keeps the binary lean; every connection gets one answer and is closed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::service::{Bot, Status};

/// A request head larger than this is refused: only `GET /path` is expected.
const MAX_REQUEST: usize = 8 * 1024;
/// After an `accept` error (EMFILE, ENFILE, ENOBUFS…) the loop waits this long, doubling up
/// to [`ACCEPT_BACKOFF_MAX`]: retrying at once would spin a core while the condition lasts
/// and starve the rest of the daemon.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How much the admin endpoint gives each client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminLimits {
    /// From accept to the last byte of the answer. A whole-request bound, not a per-read
    /// one: a client trickling a byte every few seconds must not hold a connection for hours.
    pub request_deadline: Duration,
    /// Connections served at once. More are closed at once, unanswered: each one held costs a
    /// file descriptor that Matrix, Discord and SQLite also need.
    pub max_connections: usize,
}

impl Default for AdminLimits {
    /// Health checks and Prometheus scrapes take milliseconds and come a few at a time.
    fn default() -> Self {
        Self {
            request_deadline: Duration::from_secs(5),
            max_connections: 64,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("admin: cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds the admin address (an error names it, so a port clash is obvious at start-up).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, AdminError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| AdminError::Bind { address, source })
}

/// Where connections come from: the TCP listener, or a test's stand-in that fails on demand.
pub(crate) trait Incoming: Send {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn next(&mut self) -> impl Future<Output = std::io::Result<Self::Stream>> + Send;
}

impl Incoming for TcpListener {
    type Stream = TcpStream;
    async fn next(&mut self) -> std::io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

/// Serves until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    limits: AdminLimits,
    status: Arc<Status>,
    bot: Arc<Bot>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    serve_from(listener, limits, status, bot, shutdown).await;
}

pub(crate) async fn serve_from<I: Incoming>(
    mut incoming: I,
    limits: AdminLimits,
    status: Arc<Status>,
    bot: Arc<Bot>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Above its minimum exactly while accepting fails.
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        tokio::select! {
            accepted = incoming.next() => {
                let stream = match accepted {
                    Ok(stream) => stream,
                    Err(err) => {
                        // Said once per episode, not once per retry.
                        if backoff == ACCEPT_BACKOFF_MIN {
                            tracing::warn!(error = %err, "admin: cannot accept connections; retrying with back-off");
                        } else {
                            tracing::debug!(error = %err, "admin: accept failed again");
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                        continue;
                    }
                };
                if backoff != ACCEPT_BACKOFF_MIN {
                    tracing::info!("admin: accepting connections again");
                }
                backoff = ACCEPT_BACKOFF_MIN;
                // Over the cap the connection is dropped here, closing it: no task, no buffer.
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::debug!("admin: too many connections; one closed unanswered");
                    continue;
                };
                let status = status.clone();
                let bot = bot.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        limits.request_deadline,
                        answer(stream, &status, &bot),
                    )
                    .await;
                    drop(slot);
                });
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

async fn answer<S>(mut stream: S, status: &Status, bot: &Arc<Bot>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buffer = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await? {
            0 => return Ok(()),
            n => buffer.extend_from_slice(&chunk[..n]),
        }
        if buffer.len() > MAX_REQUEST {
            return respond(&mut stream, 431, "text/plain", "request too large\n").await;
        }
    }
    let head = String::from_utf8_lossy(&buffer);
    let mut parts = head.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or(path);
    match (method, path) {
        ("GET", "/healthz") => {
            let code = if status.healthy() { 200 } else { 503 };
            respond(&mut stream, code, "application/json", &status.health_json()).await
        }
        ("GET", "/metrics") => {
            let conversations = conversation_count(bot).await;
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4",
                &status.metrics(conversations, bot.unreadable_states()),
            )
            .await
        }
        ("GET", _) => respond(&mut stream, 404, "text/plain", "not found\n").await,
        _ => respond(&mut stream, 405, "text/plain", "method not allowed\n").await,
    }
}

/// The stored conversations, counted on the blocking pool: a SQLite `COUNT(*)` on a large
/// or busy file must not hold an async worker that replies and `/healthz` need. An error
/// counts 0, as a scrape is no place to fail.
async fn conversation_count(bot: &Arc<Bot>) -> usize {
    let bot = Arc::clone(bot);
    match tokio::task::spawn_blocking(move || bot.store().conversation_count()).await {
        Ok(Ok(count)) => count,
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "admin: cannot count the conversations");
            0
        }
        Err(err) => {
            tracing::debug!(error = %err, "admin: the conversation count stopped unexpectedly");
            0
        }
    }
}

async fn respond(
    stream: &mut (impl AsyncWrite + Unpin),
    code: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// `guichet health`: asks the admin endpoint, blocking, with a short timeout (for Docker's
/// HEALTHCHECK, which has no curl in a slim image). Returns the status code and body.
pub fn probe(address: SocketAddr) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(3))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((code, body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::engine::{Engine, MatchingMode};
    use crate::store::{
        ConversationKey, MemoryStore, PendingReply, StateStore, StoreError, StoredConversation,
    };
    use crate::strings::Strings;

    fn bot() -> Arc<Bot> {
        bot_on(Arc::new(MemoryStore::new()))
    }

    fn bot_on(store: Arc<dyn StateStore>) -> Arc<Bot> {
        let checked = crate::kb::parse_str("index.md", "# T\n\nB\n## A\n- alpha\nA\n");
        let kb = checked.kb.expect("a valid base");
        let engine = Engine::new(Arc::new(kb), MatchingMode::Guichet, Strings::default());
        Arc::new(Bot::new(engine, store, Duration::from_secs(60)))
    }

    async fn start(limits: AdminLimits) -> (SocketAddr, tokio::sync::watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        tokio::spawn(serve(
            listener,
            limits,
            Arc::new(Status::new()),
            bot(),
            shutdown,
        ));
        (address, stop)
    }

    async fn get(address: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response).await;
        response
    }

    /// Issue 14, item 5: the 5 s timeout was per read, so a client sending one byte every few
    /// seconds held its connection for hours. Now the whole request has one deadline.
    #[tokio::test]
    async fn a_trickling_client_is_cut_at_the_request_deadline() {
        let limits = AdminLimits {
            request_deadline: Duration::from_millis(300),
            ..AdminLimits::default()
        };
        let (address, _stop) = start(limits).await;
        let mut stream = TcpStream::connect(address).await.unwrap();
        let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        // One byte every 50 ms, well inside any per-read timeout, for up to 4 s: far longer
        // than the deadline. The server must close the connection before the bytes run out.
        let mut closed = false;
        for byte in request.iter().cycle().take(80) {
            if stream.write_all(&[*byte]).await.is_err() {
                closed = true;
                break;
            }
            let mut probe = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(_)) => panic!("no answer is due to an unfinished request"),
                Err(_) => {}
            }
        }
        assert!(closed, "the trickling client kept its connection");
    }

    /// Issue 14, item 5: connections were not counted. Over the cap a connection is closed
    /// unanswered, and the endpoint answers again once the held ones are gone.
    #[tokio::test]
    async fn connections_over_the_cap_are_closed_and_health_comes_back() {
        let limits = AdminLimits {
            request_deadline: Duration::from_secs(60),
            max_connections: 2,
        };
        let (address, _stop) = start(limits).await;
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream.write_all(b"GET /hea").await.unwrap();
            held.push(stream);
        }
        // Let the server take both before the third arrives.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused = get(address, "/healthz").await;
        assert_eq!(refused, "", "over the cap: closed unanswered");
        drop(held);
        // The held connections' slots come back once the server sees them closed.
        let mut answered = String::new();
        for _ in 0..100 {
            answered = get(address, "/healthz").await;
            if !answered.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(answered.starts_with("HTTP/1.1 200"), "{answered:?}");
    }

    /// Fails every accept, as a listener at the descriptor limit does (EMFILE).
    struct Exhausted {
        calls: Arc<AtomicUsize>,
    }

    impl Incoming for Exhausted {
        type Stream = TcpStream;
        async fn next(&mut self) -> std::io::Result<TcpStream> {
            let calls = self.calls.fetch_add(1, Ordering::SeqCst);
            // A bound for the old, spinning loop: stop answering so the test can end and fail
            // instead of spinning for ever.
            if calls > 10_000 {
                std::future::pending::<()>().await;
            }
            Err(std::io::Error::from_raw_os_error(24)) // EMFILE
        }
    }

    /// Issue 14, item 5: at the descriptor limit the accept loop retried at once, using a
    /// whole core and starving `/healthz`. Now it backs off: over ten (virtual) seconds it
    /// tries a few dozen times at most.
    #[tokio::test(start_paused = true)]
    async fn accept_errors_back_off_instead_of_spinning() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(serve_from(
            Exhausted {
                calls: calls.clone(),
            },
            AdminLimits::default(),
            Arc::new(Status::new()),
            bot(),
            shutdown,
        ));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let _ = stop.send(true);
        server.await.unwrap();
        let calls = calls.load(Ordering::SeqCst);
        // 10 ms doubling to 1 s: 7 tries in the first 1.27 s, then one a second.
        assert!((2..=30).contains(&calls), "{calls} accept calls in 10 s");
    }

    /// A store whose conversation count blocks until released (a large SQLite file, a busy
    /// disk); everything else is a memory store's.
    struct SlowCount {
        inner: MemoryStore,
        counting: std::sync::mpsc::SyncSender<()>,
        release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
        counted: std::sync::atomic::AtomicBool,
    }

    type StoreResult<T> = Result<T, StoreError>;

    impl StateStore for SlowCount {
        fn load(&self, key: &ConversationKey) -> StoreResult<Option<StoredConversation>> {
            self.inner.load(key)
        }
        fn save(&self, key: &ConversationKey, c: &StoredConversation) -> StoreResult<()> {
            self.inner.save(key, c)
        }
        fn commit_turn(
            &self,
            key: &ConversationKey,
            c: &StoredConversation,
            event_id: &str,
            reply: &str,
            now_ms: i64,
        ) -> StoreResult<bool> {
            self.inner.commit_turn(key, c, event_id, reply, now_ms)
        }
        fn mark_sent(&self, platform: &str, event_id: &str) -> StoreResult<()> {
            self.inner.mark_sent(platform, event_id)
        }
        fn update_pending_reply(
            &self,
            platform: &str,
            event_id: &str,
            reply: &str,
        ) -> StoreResult<()> {
            self.inner.update_pending_reply(platform, event_id, reply)
        }
        fn pending_replies(&self, platform: &str) -> StoreResult<Vec<PendingReply>> {
            self.inner.pending_replies(platform)
        }
        fn delete(&self, key: &ConversationKey) -> StoreResult<bool> {
            self.inner.delete(key)
        }
        fn forget_unused_since(&self, cutoff_ms: i64) -> StoreResult<usize> {
            self.inner.forget_unused_since(cutoff_ms)
        }
        fn conversation_count(&self) -> StoreResult<usize> {
            let _ = self.counting.try_send(());
            // Bounded, so that the old inline count fails the test instead of hanging it.
            let _ = self
                .release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(5));
            self.counted.store(true, Ordering::SeqCst);
            self.inner.conversation_count()
        }
        fn claim_event(&self, platform: &str, event_id: &str, now_ms: i64) -> StoreResult<bool> {
            self.inner.claim_event(platform, event_id, now_ms)
        }
        fn event_claimed(&self, platform: &str, event_id: &str) -> StoreResult<bool> {
            self.inner.event_claimed(platform, event_id)
        }
        fn forget_events_before(&self, cutoff_ms: i64) -> StoreResult<usize> {
            self.inner.forget_events_before(cutoff_ms)
        }
        fn get_meta(&self, key: &str) -> StoreResult<Option<String>> {
            self.inner.get_meta(key)
        }
        fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
            self.inner.set_meta(key, value)
        }
        fn flush(&self) -> StoreResult<()> {
            self.inner.flush()
        }
    }

    /// Issue 17, item 7: `/metrics` counted the conversations in SQLite on the async worker,
    /// so a slow count stalled `/healthz` (and, in the daemon, the adapters). On a
    /// single-threaded runtime, `/healthz` is answered while the count is stuck.
    #[tokio::test]
    async fn a_slow_conversation_count_leaves_the_async_worker_free() {
        let (counting, counting_rx) = std::sync::mpsc::sync_channel(1);
        let (release, release_rx) = std::sync::mpsc::channel();
        let store = Arc::new(SlowCount {
            inner: MemoryStore::new(),
            counting,
            release: std::sync::Mutex::new(release_rx),
            counted: std::sync::atomic::AtomicBool::new(false),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        tokio::spawn(serve(
            listener,
            AdminLimits::default(),
            Arc::new(Status::new()),
            bot_on(store.clone()),
            shutdown,
        ));
        let metrics = tokio::spawn(get(address, "/metrics"));
        // Wait for the count to start, without blocking this (the only) worker.
        let mut started = false;
        for _ in 0..200 {
            if counting_rx.try_recv().is_ok() {
                started = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(started, "/metrics did not count the conversations");
        let health = get(address, "/healthz").await;
        assert!(
            !store.counted.load(Ordering::SeqCst),
            "/healthz waited for the conversation count"
        );
        assert!(health.starts_with("HTTP/1.1 200"), "{health:?}");
        release.send(()).unwrap();
        let metrics = metrics.await.unwrap();
        assert!(metrics.contains("guichet_conversations 0"), "{metrics}");
    }
}

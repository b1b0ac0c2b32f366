//! The Matrix adapter: syncs with the homeserver, decides which messages are addressed to the
//! bot ([`decide`]), hands them to the daemon's [`Context`], and sends the answers
//! ([`dispatch`]), end-to-end encrypted where the room is.
//!
//! Each room has one worker task, so a room's questions are answered, and its answers
//! delivered, in order; rooms do not wait for each other. Exactly once: an event is claimed
//! in the state store before it is answered, and the sync token is saved only when every
//! event before it has been handled, so a restart redelivers and never repeats. A message
//! that cannot be decrypted yet waits for its key (`late_keys`), and `/healthz` says
//! `starting` until the device's trust is known, then `ok`, or `degraded` with the reason.

mod backoff;
pub mod decide;
pub mod dispatch;
mod late_keys;
mod outbox;
mod session;
pub mod undecryptable;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::event_handler::RawEvent;
use matrix_sdk::room::{MessagesOptions, Room};
use matrix_sdk::ruma::api::client::filter::FilterDefinition;
use matrix_sdk::ruma::api::client::receipt::create_receipt::v3::ReceiptType;
use matrix_sdk::ruma::api::error::ErrorKind;
use matrix_sdk::ruma::events::receipt::ReceiptThread;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::member::{
    MembershipState, OriginalSyncRoomMemberEvent, StrippedRoomMemberEvent,
};
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
};
use matrix_sdk::ruma::{EventId, OwnedRoomId, OwnedUserId, RoomId, RoomOrAliasId, UInt};
use matrix_sdk::{Client, RoomState};
use outbox::{Queued, transaction_id};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, error, info, info_span, warn};

use self::backoff::Backoff;
use self::decide::{Answer, Decision, Incoming, Me, PLATFORM, RoomKind};
use self::session::DeviceTrust;
use self::undecryptable::{PENDING_META, Pending, Told};
use crate::config::MatrixSettings;
use crate::service::now_ms;
use crate::service::{Context, Outcome, Readiness};

/// Where the sync position is kept in the state store.
const SYNC_TOKEN_META: &str = "matrix.sync_token";
/// The long-poll: the homeserver holds a sync this long when nothing happens.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages per room in one sync: after downtime, enough to cover the catch-up window in a
/// busy room.
const TIMELINE_LIMIT: u32 = 50;
/// Reconnection back-off. The cap keeps the bot answering within seconds of a homeserver
/// coming back.
const RECONNECT_FIRST: Duration = Duration::from_millis(500);
const RECONNECT_CAP: Duration = Duration::from_secs(5);
/// A reply slower than this shows the bot typing.
const TYPING_AFTER: Duration = Duration::from_millis(300);
/// Typing notices last 4 s in the SDK: refresh before they lapse.
const TYPING_REFRESH: Duration = Duration::from_secs(3);
/// On shutdown, answers in flight get this long to go out.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(8);
/// On shutdown, after the answers in flight, the device's set-up and a key-backup upload in
/// flight get this long, together, to finish: cut short, they resume at the next start. With
/// [`DRAIN_TIMEOUT`], within the daemon's shutdown grace.
const BACKUP_TIMEOUT: Duration = Duration::from_secs(2);
/// While the bot's device is unverified, how often it checks whether an admin verified it
/// from another session.
const TRUST_RECHECK: Duration = Duration::from_secs(60);

/// Errors that stop the adapter. Each says what the admin can do; the daemon prints them with
/// their causes, after the adapter's name.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("cannot use {}", path.display())]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the store in {}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: Box<matrix_sdk::ClientBuildError>,
    },
    #[error("cannot reach the homeserver {url}")]
    Homeserver {
        url: String,
        #[source]
        source: Box<matrix_sdk::ClientBuildError>,
    },
    #[error(
        "{} is not a saved session (delete it to log in again)",
        path.display()
    )]
    CorruptSession { path: PathBuf },
    #[error(
        "the homeserver no longer accepts the bot's access token (revoked or expired). \
         Configure a new `access_token`, or with a `password` delete {} to log in again",
        session_file.display()
    )]
    Unauthorized { session_file: PathBuf },
    #[error("login failed: {reason}")]
    Login { reason: String },
    /// Only ever retried, never returned by [`run`].
    #[error("homeserver unreachable: {0}")]
    Unreachable(String),
}

impl MatrixError {
    /// The homeserver refused the bot's credentials, or the saved session cannot be read:
    /// restarting with the same configuration and state fails the same way.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            MatrixError::Unauthorized { .. }
                | MatrixError::CorruptSession { .. }
                | MatrixError::Login { .. }
        )
    }
}

/// How long a homeserver remembers a transaction id (Synapse: 30 minutes): past it, an answer
/// sent again could be a second event, so one left unsent that long is dropped.
const TRANSACTION_MEMORY: Duration = Duration::from_secs(30 * 60);

/// Serves Matrix until `ctx.shutdown` turns true, then lets the answers in flight go out and
/// returns. Returns an error only for what retrying cannot fix (revoked credentials…).
pub async fn run(
    settings: MatrixSettings,
    state_dir: &Path,
    ctx: Context,
) -> Result<(), MatrixError> {
    ctx.status.register(PLATFORM);
    // Until the first sync is done and the device's trust is known, a strict client may not
    // share its keys with the bot: not healthy yet.
    ctx.status.set_readiness(PLATFORM, Readiness::Starting);
    let started_ms = now_ms();
    let mut shutdown = ctx.shutdown.clone();

    let connected = {
        let mut backoff = Backoff::new(RECONNECT_FIRST, RECONNECT_CAP);
        let mut told = false;
        loop {
            match session::connect(&settings, state_dir).await {
                Ok(connected) => break connected,
                Err(MatrixError::Unreachable(reason)) => {
                    if !told {
                        warn!(%reason, "matrix: homeserver unreachable at start-up; retrying");
                        told = true;
                    }
                    if sleep_or_shutdown(backoff.next_delay(), &mut shutdown).await {
                        return Ok(());
                    }
                }
                Err(err) => return Err(err),
            }
        }
    };
    let client = connected.client;
    let Some(user_id) = client.user_id().map(ToOwned::to_owned) else {
        return Err(MatrixError::Login {
            reason: "no user after logging in".into(),
        });
    };
    let saved_token = match ctx.bot.store().get_meta(SYNC_TOKEN_META) {
        Ok(token) => token,
        Err(err) => {
            error!(error = %err, "matrix: cannot read the saved sync position");
            None
        }
    };
    let resumed = connected.restored && saved_token.is_some();
    let catch_up_ms = i64::try_from(settings.catch_up.as_millis()).unwrap_or(i64::MAX);
    let cutoff_ms = decide::cutoff_ms(started_ms, resumed, catch_up_ms);
    let display_name = client.account().get_display_name().await.ok().flatten();
    info!(
        device = client
            .device_id()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        restored = connected.restored,
        "matrix: logged in"
    );

    let pending = match ctx.bot.store().get_meta(PENDING_META) {
        Ok(Some(text)) => Pending::from_json(&text),
        Ok(None) => Pending::default(),
        Err(err) => {
            error!(error = %err, "matrix: cannot read the messages waiting for their keys");
            Pending::default()
        }
    };
    let (device_known, _) = tokio::sync::watch::channel(false);
    let adapter = Arc::new(Adapter {
        me: Me {
            user_id,
            display_name,
            prefix: settings.prefix.clone(),
            rooms: settings.rooms,
            cutoff_ms,
        },
        client: client.clone(),
        settings,
        ctx,
        session_file: connected.session_file,
        rooms: Mutex::new(HashMap::new()),
        in_flight: AtomicUsize::new(0),
        synced_to: Mutex::new(None),
        saved_sync_token: Mutex::new(None),
        resumed_from: if resumed { saved_token.clone() } else { None },
        caught_up: AtomicBool::new(!resumed),
        pending: Mutex::new(pending),
        saving: tokio::sync::Mutex::new(()),
        told: Mutex::new(Told::default()),
        device_known,
        setup: Mutex::new(None),
    });
    adapter.register_handlers();
    adapter.resume_pending().await;
    // Before the first sync: keys it brings for messages kept from the last run count.
    tokio::spawn(Arc::clone(&adapter).watch_room_keys());
    if adapter.settings.admin_room.is_some() {
        let notices = adapter.ctx.status.admin_notices();
        tokio::spawn(Arc::clone(&adapter).post_admin_notices(notices));
    }
    let result = adapter
        .sync_loop(if resumed { saved_token } else { None })
        .await;
    adapter.drain().await;
    let deadline = tokio::time::Instant::now() + BACKUP_TIMEOUT;
    adapter.finish_setup(deadline).await;
    adapter.wait_for_backup(deadline).await;
    adapter.ctx.status.set_connected(PLATFORM, false);
    if let Err(err) = adapter.ctx.bot.store().flush() {
        error!(error = %err, "matrix: cannot flush the state store");
    }
    result
}

/// One message waiting for its room's worker.
struct Job {
    event: OriginalSyncRoomMessageEvent,
    /// When the sync handed the event over: the start of the bot's own time.
    received: Instant,
}

/// A room's worker: its queue and task.
type RoomWorker = (mpsc::UnboundedSender<Job>, JoinHandle<()>);

struct Adapter {
    me: Me,
    client: Client,
    settings: MatrixSettings,
    ctx: Context,
    session_file: PathBuf,
    rooms: Mutex<HashMap<OwnedRoomId, RoomWorker>>,
    /// Events handed to workers and not finished: the sync token is saved only at zero.
    in_flight: AtomicUsize,
    /// The position of the last sync, and the last one saved (see
    /// [`Adapter::save_sync_position`]).
    synced_to: Mutex<Option<String>>,
    saved_sync_token: Mutex<Option<String>>,
    /// The sync position this run resumed from: what the rooms said since is read again
    /// through `/messages` after the first sync (see [`Adapter::catch_up_history`]).
    resumed_from: Option<String>,
    /// Whether what the rooms said since `resumed_from` is queued (see
    /// [`Adapter::catch_up_history`]). Until then the sync position is not saved: the SDK does
    /// not hand over again what it had received before a crash, so a position saved after
    /// the first sync and before the catch-up would, if the daemon died in between, skip
    /// those messages for good.
    caught_up: AtomicBool,
    /// Messages that could not be decrypted yet, waiting for their keys; saved in the state
    /// store on every change.
    pending: Mutex<Pending>,
    /// One save of `pending` at a time, each writing the latest list.
    saving: tokio::sync::Mutex<()>,
    told: Mutex<Told>,
    /// Turns true once the device's trust is known (first sync, cross-signing done or known
    /// impossible): a request to send a message again waits for it, since a strict client
    /// reads nothing from a device its owner has not signed.
    device_known: tokio::sync::watch::Sender<bool>,
    /// The device's set-up after the first sync (cross-signing, key storage): waited for
    /// at shutdown, so it does not end halfway after the daemon's last line.
    setup: Mutex<Option<JoinHandle<()>>>,
}

impl Adapter {
    fn register_handlers(self: &Arc<Self>) {
        let adapter = Arc::clone(self);
        self.client
            .add_event_handler(move |event: OriginalSyncRoomMessageEvent, room: Room| {
                let adapter = Arc::clone(&adapter);
                async move { adapter.enqueue(event, room) }
            });
        let adapter = Arc::clone(self);
        self.client
            .add_event_handler(move |event: StrippedRoomMemberEvent, room: Room| {
                let adapter = Arc::clone(&adapter);
                async move { adapter.on_invite(event, room) }
            });
        let adapter = Arc::clone(self);
        self.client
            .add_event_handler(move |event: OriginalSyncRoomMemberEvent, room: Room| {
                let adapter = Arc::clone(&adapter);
                async move { adapter.on_membership(&event, room).await }
            });
        // The SDK hands over what it could not decrypt: the key has not reached this device
        // (yet), see docs/matrix.md.
        let adapter = Arc::clone(self);
        self.client.add_event_handler(
            move |event: OriginalSyncRoomEncryptedEvent, room: Room, raw: RawEvent| {
                let adapter = Arc::clone(&adapter);
                async move { adapter.on_undecryptable(event, raw, room).await }
            },
        );
    }

    /// Hands a message to its room's worker, starting one if needed. Runs inside the sync, so
    /// it only queues.
    fn enqueue(self: &Arc<Self>, event: OriginalSyncRoomMessageEvent, room: Room) {
        debug!(event = %event.event_id, "matrix: queued");
        let job = Job {
            event,
            received: Instant::now(),
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let mut rooms = lock(&self.rooms);
        let room_id = room.room_id().to_owned();
        let job = match rooms.get(&room_id) {
            Some((queue, _)) => match queue.send(job) {
                Ok(()) => return,
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (queue, jobs) = mpsc::unbounded_channel();
        let worker = tokio::spawn(Arc::clone(self).room_worker(room, jobs));
        if queue.send(job).is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        rooms.insert(room_id, (queue, worker));
    }

    async fn room_worker(self: Arc<Self>, room: Room, mut jobs: mpsc::UnboundedReceiver<Job>) {
        let span = info_span!("matrix_room", platform = PLATFORM, room = %room.room_id());
        async {
            while let Some(job) = jobs.recv().await {
                self.handle(&room, job).await;
                if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
                    // The last event in flight is done: the sync position can move on.
                    self.save_sync_position();
                }
            }
        }
        .instrument(span)
        .await;
    }

    async fn handle(&self, room: &Room, job: Job) {
        let message = Incoming::from_event(&job.event);
        let kind = room_kind(room).await;
        let replied_to = match decide::reply_target_to_check(&message, kind, &self.me) {
            Some(event_id) => self.sender_of(room, event_id).await,
            None => None,
        };
        let decision = decide::decide(
            &message,
            room.room_id().as_str(),
            kind,
            &self.me,
            replied_to.as_deref(),
        );
        match decision {
            Decision::Skip(skip) => debug!(?skip, "matrix: not answered"),
            Decision::Answer(answer) => {
                let claim = answer
                    .edit_of
                    .as_ref()
                    .unwrap_or(&message.event_id)
                    .to_string();
                self.answer(room, answer, claim, job.received).await;
            }
        }
    }

    /// Answers one question exactly once: the engine's turn, its event claim and its answer
    /// commit together (the outbox, see [`crate::store::StateStore`]); the answer is sent with
    /// transaction ids derived from the claim, then marked sent; typing notice and read
    /// receipt around it.
    async fn answer(&self, room: &Room, answer: Answer, claim: String, received: Instant) {
        debug!(user = %answer.asker, input = ?answer.input, event = %claim, "matrix: answering");
        let typing = Typing::start(room.clone());
        let ctx = self.ctx.clone();
        let key = answer.key.clone();
        let input = answer.input.clone();
        let for_queue = answer.clone();
        let msgtype = self.settings.msgtype;
        let room_id = room.room_id().to_string();
        let event = claim.clone();
        // The engine and the store are blocking calls: keep them off the async workers.
        let outcome = tokio::task::spawn_blocking(move || {
            let engine = ctx.bot.engine();
            ctx.handle_event(&key, input, &event, |reply| {
                let outcome = Outcome::Reply(reply.clone());
                let contents = dispatch::contents(&outcome, &for_queue, msgtype, engine.strings());
                Queued::new(&room_id, &contents).to_json()
            })
        })
        .await;
        let outcome = match outcome {
            Ok(Ok(Some(outcome))) => outcome,
            Ok(Ok(None)) => {
                debug!("matrix: already answered");
                typing.stop().await;
                return;
            }
            Ok(Err(err)) => {
                error!(error = %err, "matrix: the state store failed; not answered");
                // The person learns that something went wrong, not silence.
                Outcome::Notice(self.ctx.bot.engine().strings().failed.clone())
            }
            Err(err) => {
                error!(error = %err, "matrix: the engine task failed; not answered");
                typing.stop().await;
                return;
            }
        };
        let queued = matches!(outcome, Outcome::Reply(_));
        let engine = self.ctx.bot.engine();
        let contents =
            dispatch::contents(&outcome, &answer, self.settings.msgtype, engine.strings());
        if !contents.is_empty() {
            // The bot's own time, event in to send out (issue 6, item 8).
            debug!(
                target: "guichet::platform::matrix::latency",
                micros = u64::try_from(received.elapsed().as_micros()).unwrap_or(u64::MAX),
                "matrix: event to send"
            );
        }
        let mut sent = true;
        for (i, content) in contents.into_iter().enumerate() {
            let transaction = queued.then(|| transaction_id(&claim, i));
            if dispatch::deliver_as(room, content, transaction)
                .await
                .is_err()
            {
                sent = false;
                break;
            }
        }
        if queued && sent {
            self.mark_sent(claim).await;
        }
        typing.stop().await;
        if let Err(err) = room
            .send_single_receipt(
                ReceiptType::Read,
                ReceiptThread::Unthreaded,
                answer.question,
            )
            .await
        {
            debug!(error = %err, "matrix: read receipt not sent");
        }
    }

    /// The answer to `claim` has gone out: it leaves the outbox.
    async fn mark_sent(&self, claim: String) {
        let ctx = self.ctx.clone();
        match tokio::task::spawn_blocking(move || ctx.bot.store().mark_sent(PLATFORM, &claim)).await
        {
            Ok(Ok(())) => {}
            Ok(Err(err)) => warn!(error = %err, "matrix: cannot mark an answer sent"),
            Err(err) => warn!(error = %err, "matrix: cannot mark an answer sent"),
        }
    }

    /// Sends again the answers committed before a stop and not marked sent, with the
    /// transaction ids of their first try: the homeserver keeps the first event for a
    /// transaction id it has seen from this device, so an answer that went out is not
    /// repeated, and one that did not goes out now. Older than `catch_up` (a question that old
    /// is not answered either), or than [`TRANSACTION_MEMORY`], an answer is dropped.
    async fn resend_pending(&self) {
        let ctx = self.ctx.clone();
        let pending =
            match tokio::task::spawn_blocking(move || ctx.bot.store().pending_replies(PLATFORM))
                .await
            {
                Ok(Ok(pending)) => pending,
                Ok(Err(err)) => {
                    warn!(error = %err, "matrix: cannot read the answers left to send");
                    return;
                }
                Err(err) => {
                    warn!(error = %err, "matrix: cannot read the answers left to send");
                    return;
                }
            };
        let window = self.settings.catch_up.min(TRANSACTION_MEMORY);
        let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms().saturating_sub(window_ms);
        let (mut sent, mut dropped) = (0_usize, 0_usize);
        for pending in pending {
            let room = Queued::from_json(&pending.reply).and_then(|queued| {
                let room_id = matrix_sdk::ruma::RoomId::parse(&queued.room).ok()?;
                Some((self.client.get_room(&room_id)?, queued))
            });
            match room {
                Some((room, queued)) if pending.created_at >= cutoff => {
                    let mut delivered = true;
                    for (i, content) in queued.contents().into_iter().enumerate() {
                        let transaction = Some(transaction_id(&pending.event_id, i));
                        if dispatch::deliver_as(&room, content, transaction)
                            .await
                            .is_err()
                        {
                            delivered = false;
                            break;
                        }
                    }
                    if !delivered {
                        // Still queued: the next start tries again.
                        continue;
                    }
                    sent += 1;
                }
                _ => dropped += 1,
            }
            self.mark_sent(pending.event_id).await;
        }
        if sent + dropped > 0 {
            info!(
                sent,
                dropped, "matrix: answers left from before the restart"
            );
        }
    }

    /// Reads again, through `/messages`, what each room said since the position this run
    /// resumed from, and queues its messages like the sync's. After a crash the SDK does not
    /// hand over again the events it had already received when the process died, and a
    /// restart that resumes from far back gets a limited timeline with gaps: without this,
    /// such a question would never be answered. Messages already answered are dropped by
    /// their claims, and the catch-up window (`catch_up`) applies as to the sync's.
    async fn catch_up_history(self: &Arc<Self>) {
        /// Pages of history read per room: a restart within `catch_up` needs one or two.
        const MAX_PAGES: usize = 10;
        let Some(from) = self.resumed_from.clone() else {
            return;
        };
        let mut queued = 0_usize;
        for room in self.client.joined_rooms() {
            let mut token = Some(from.clone());
            for _ in 0..MAX_PAGES {
                let options = MessagesOptions::forward().from(token.as_deref());
                let page = match room.messages(options).await {
                    Ok(page) => page,
                    Err(err) => {
                        debug!(error = %err, "matrix: cannot read a room's recent history");
                        break;
                    }
                };
                for event in &page.chunk {
                    if let Ok(AnySyncTimelineEvent::MessageLike(
                        AnySyncMessageLikeEvent::RoomMessage(SyncMessageLikeEvent::Original(
                            message,
                        )),
                    )) = event.raw().deserialize()
                    {
                        self.enqueue(message, room.clone());
                        queued += 1;
                    }
                }
                if page.chunk.is_empty() || page.end.is_none() {
                    break;
                }
                token = page.end;
            }
        }
        debug!(
            queued,
            "matrix: recent history read again after the restart"
        );
        // Queued, so in flight: the position is saved once they are answered.
        self.caught_up.store(true, Ordering::SeqCst);
        self.save_sync_position();
    }

    /// Who sent a replied-to event; `None` when it cannot be found.
    async fn sender_of(&self, room: &Room, event_id: &EventId) -> Option<OwnedUserId> {
        match room.load_or_fetch_event(event_id, None).await {
            Ok(event) => event
                .raw()
                .get_field::<OwnedUserId>("sender")
                .ok()
                .flatten(),
            Err(err) => {
                debug!(error = %err, "matrix: replied-to event not found");
                None
            }
        }
    }

    fn on_invite(self: &Arc<Self>, event: StrippedRoomMemberEvent, room: Room) {
        if event.state_key != self.me.user_id
            || event.content.membership != MembershipState::Invite
            || room.state() != RoomState::Invited
        {
            return;
        }
        let accepted =
            decide::accepts_invite(&self.settings.allowed_inviters, event.sender.as_str());
        debug!(inviter = %event.sender, accepted, "matrix: invited");
        tokio::spawn(async move {
            if accepted {
                join(&room).await;
            } else {
                info!(room = %room.room_id(), "matrix: declined an invitation from someone not in `allowed_inviters`");
                if let Err(err) = room.leave().await {
                    debug!(error = %err, "matrix: cannot decline an invitation");
                }
            }
        });
    }

    async fn on_membership(&self, event: &OriginalSyncRoomMemberEvent, room: Room) {
        let left = matches!(
            event.content.membership,
            MembershipState::Leave | MembershipState::Ban
        );
        if left && event.state_key != self.me.user_id {
            leave_if_alone(&room).await;
        }
    }

    async fn sync_loop(self: &Arc<Self>, saved_token: Option<String>) -> Result<(), MatrixError> {
        let mut shutdown = self.ctx.shutdown.clone();
        let mut filter = FilterDefinition::with_lazy_loading();
        // Lazy loading makes Synapse send member counts, which tell direct chats apart.
        filter.room.timeline.limit = Some(UInt::from(TIMELINE_LIMIT));
        // The first sync returns at once: with a saved position and nothing new, a long poll
        // would keep the adapter "starting", and the answers left in the outbox unsent, for
        // `SYNC_TIMEOUT`. The following ones wait for news.
        let mut sync_settings = SyncSettings::default()
            .timeout(Duration::ZERO)
            .filter(filter.into());
        if let Some(token) = saved_token {
            sync_settings = sync_settings.token(token);
        }
        let mut backoff = Backoff::new(RECONNECT_FIRST, RECONNECT_CAP);
        let mut connected: Option<bool> = None;
        let mut first_sync = true;
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            let result = tokio::select! {
                result = self.client.sync_once(sync_settings.clone()) => result,
                _ = shutdown.changed() => return Ok(()),
            };
            match result {
                Ok(response) => {
                    if connected != Some(true) {
                        info!("matrix: syncing");
                        self.ctx.status.set_connected(PLATFORM, true);
                        connected = Some(true);
                    }
                    backoff.reset();
                    sync_settings = sync_settings
                        .token(response.next_batch.clone())
                        .timeout(SYNC_TIMEOUT);
                    self.save_sync_token(&response.next_batch);
                    if first_sync {
                        first_sync = false;
                        let adapter = Arc::clone(self);
                        let setup = tokio::spawn(async move { adapter.after_first_sync().await });
                        *lock(&self.setup) = Some(setup);
                    }
                }
                Err(err) => {
                    if matches!(
                        err.client_api_error_kind(),
                        Some(ErrorKind::UnknownToken(_))
                    ) {
                        error!("matrix: the access token was revoked; stopping");
                        return Err(MatrixError::Unauthorized {
                            session_file: self.session_file.clone(),
                        });
                    }
                    if connected != Some(false) {
                        warn!(error = %err, "matrix: sync failed; retrying with back-off");
                        self.ctx.status.set_connected(PLATFORM, false);
                        connected = Some(false);
                    }
                    if sleep_or_shutdown(backoff.next_delay(), &mut shutdown).await {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Records where the sync is, and saves it if no event is being handled. A restart then
    /// redelivers whatever was unfinished, and the event claims drop the rest.
    fn save_sync_token(&self, token: &str) {
        *lock(&self.synced_to) = Some(token.to_owned());
        self.save_sync_position();
    }

    /// Saves the last sync position when no event is in flight and a restart's catch-up is
    /// queued: every event of that sync was queued before the sync returned (the SDK awaits
    /// the handlers), so none is left behind.
    /// Also called when the last event in flight is done: under steady traffic the queue is
    /// rarely empty at the moment a sync returns, and a position that never moves makes a
    /// restart resync from far back, where the homeserver's limited timeline has gaps.
    fn save_sync_position(&self) {
        if self.in_flight.load(Ordering::SeqCst) != 0 || !self.caught_up.load(Ordering::SeqCst) {
            return;
        }
        let Some(token) = lock(&self.synced_to).clone() else {
            return;
        };
        let mut saved = lock(&self.saved_sync_token);
        if saved.as_deref() == Some(token.as_str()) {
            return;
        }
        match self.ctx.bot.store().set_meta(SYNC_TOKEN_META, &token) {
            Ok(()) => {
                debug!(%token, "matrix: sync position saved");
                *saved = Some(token);
            }
            Err(err) => warn!(error = %err, "matrix: cannot save the sync position"),
        }
    }

    async fn after_first_sync(self: &Arc<Self>) {
        for room in self.client.joined_rooms() {
            leave_if_alone(&room).await;
        }
        self.resend_pending().await;
        self.catch_up_history().await;
        // Joined now, so a wrong `admin_room` shows at start-up, not at the first notice.
        if self.settings.admin_room.is_some() {
            self.admin_room().await;
        }
        let trust = session::verify_device(&self.client, &self.settings).await;
        self.report_trust(trust).await;
        session::enable_recovery(&self.client, &self.settings).await;
        if trust != DeviceTrust::CrossSigned {
            self.recheck_trust().await;
        }
    }

    /// Health and the admin room learn whether the device is verified: once, at start-up.
    async fn report_trust(&self, trust: DeviceTrust) {
        match trust {
            DeviceTrust::CrossSigned => self.ctx.status.set_readiness(PLATFORM, Readiness::Ready),
            DeviceTrust::Unverified(why) => {
                self.ctx
                    .status
                    .set_readiness(PLATFORM, Readiness::Degraded(why.reason().to_owned()));
                if self.settings.admin_room.is_some()
                    && let Some(room) = self.admin_room().await
                {
                    let text = self
                        .ctx
                        .bot
                        .engine()
                        .strings()
                        .device_unverified
                        .replace("{reason}", why.reason());
                    let _ = dispatch::deliver(&room, dispatch::admin_notice(&text)).await;
                }
            }
        }
        self.device_known.send_replace(true);
    }

    /// An unverified device may be verified by an admin from another session: health follows.
    async fn recheck_trust(&self) {
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            if sleep_or_shutdown(TRUST_RECHECK, &mut shutdown).await {
                return;
            }
            if session::is_cross_signed(&self.client).await {
                info!("matrix: the bot's device is verified (cross-signed) now");
                self.ctx.status.set_readiness(PLATFORM, Readiness::Ready);
                return;
            }
        }
    }

    /// On shutdown, lets the device's set-up finish (enabling key storage uploads every key)
    /// until `deadline`, then stops it.
    async fn finish_setup(&self, deadline: tokio::time::Instant) {
        let Some(mut setup) = lock(&self.setup).take() else {
            return;
        };
        if tokio::time::timeout_at(deadline, &mut setup).await.is_err() {
            warn!(
                "matrix: the device's set-up was still running at shutdown; it resumes at the next start"
            );
            setup.abort();
        }
    }

    /// On shutdown, lets a key-backup upload in flight finish until `deadline`.
    async fn wait_for_backup(&self, deadline: tokio::time::Instant) {
        let backups = self.client.encryption().backups();
        if !backups.are_enabled().await {
            return;
        }
        match tokio::time::timeout_at(deadline, backups.wait_for_steady_state().into_future()).await
        {
            Ok(Ok(())) => debug!("matrix: key backup up to date"),
            Ok(Err(err)) => {
                warn!(error = %err, "matrix: key backup unfinished at shutdown; it resumes at the next start")
            }
            Err(_) => {
                warn!(
                    "matrix: key backup still uploading at shutdown; it resumes at the next start"
                )
            }
        }
    }

    /// Posts the daemon's notices for the admins (a refused reload) to `admin_room`.
    async fn post_admin_notices(
        self: Arc<Self>,
        mut notices: tokio::sync::broadcast::Receiver<String>,
    ) {
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            let notice = tokio::select! {
                notice = notices.recv() => notice,
                _ = shutdown.changed() => return,
            };
            let text = match notice {
                Ok(text) => text,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    warn!(missed, "matrix: admin notices dropped");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            if let Some(room) = self.admin_room().await {
                // An error report: the first line is the sentence, the rest is kept as is.
                let _ = dispatch::deliver(&room, dispatch::admin_notice(&text)).await;
            }
        }
    }

    /// The admin room, joined (by id or alias) if the bot is not in it yet.
    async fn admin_room(&self) -> Option<Room> {
        let configured = self.settings.admin_room.as_deref()?;
        if let Ok(room_id) = RoomId::parse(configured)
            && let Some(room) = self.client.get_room(&room_id)
            && room.state() == RoomState::Joined
        {
            return Some(room);
        }
        let target = match RoomOrAliasId::parse(configured) {
            Ok(target) => target,
            Err(err) => {
                warn!(room = configured, error = %err, "matrix: `admin_room` is not a room id or alias");
                return None;
            }
        };
        match self.client.join_room_by_id_or_alias(&target, &[]).await {
            Ok(room) => Some(room),
            Err(err) => {
                warn!(room = configured, error = %err, "matrix: cannot join `admin_room` (invite the bot)");
                None
            }
        }
    }

    /// Closes the room queues and waits, within [`DRAIN_TIMEOUT`], for the answers in flight.
    async fn drain(&self) {
        let workers: Vec<JoinHandle<()>> = lock(&self.rooms)
            .drain()
            .map(|(_, (queue, worker))| {
                drop(queue);
                worker
            })
            .collect();
        let all = async {
            for worker in workers {
                if let Err(err) = worker.await {
                    error!(error = %err, "matrix: a room worker failed");
                }
            }
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, all).await.is_err() {
            warn!("matrix: some answers were still being sent at shutdown");
        }
    }
}

/// A direct chat: `is_direct` (the room is in the bot's `m.direct`), or exactly two members.
async fn room_kind(room: &Room) -> RoomKind {
    if room.is_direct().await.unwrap_or(false) || room.joined_members_count() == 2 {
        RoomKind::Direct
    } else {
        RoomKind::Group
    }
}

/// Joins an invited room, retrying: right after an invite, the homeserver may not let the
/// join through yet.
async fn join(room: &Room) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(8));
    loop {
        match room.join().await {
            Ok(()) => {
                info!(room = %room.room_id(), "matrix: joined");
                return;
            }
            Err(err) if backoff.attempts() < 5 => {
                debug!(error = %err, "matrix: join failed, retrying");
                tokio::time::sleep(backoff.next_delay()).await;
            }
            Err(err) => {
                warn!(room = %room.room_id(), error = %err, "matrix: cannot join an invited room");
                return;
            }
        }
    }
}

/// A bot alone in a room has no one to help: leave. A count of zero means "unknown".
async fn leave_if_alone(room: &Room) {
    if room.state() == RoomState::Joined && room.joined_members_count() == 1 {
        info!(room = %room.room_id(), "matrix: leaving a room where the bot is alone");
        if let Err(err) = room.leave().await {
            debug!(error = %err, "matrix: cannot leave");
        }
    }
}

/// Shows the bot typing while a reply takes longer than [`TYPING_AFTER`].
struct Typing {
    room: Room,
    task: JoinHandle<()>,
    shown: Arc<std::sync::atomic::AtomicBool>,
}

impl Typing {
    fn start(room: Room) -> Self {
        let shown = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = tokio::spawn({
            let room = room.clone();
            let shown = Arc::clone(&shown);
            async move {
                tokio::time::sleep(TYPING_AFTER).await;
                loop {
                    shown.store(true, Ordering::SeqCst);
                    if let Err(err) = room.typing_notice(true).await {
                        debug!(error = %err, "matrix: typing notice not sent");
                    }
                    tokio::time::sleep(TYPING_REFRESH).await;
                }
            }
        });
        Self { room, task, shown }
    }

    async fn stop(self) {
        self.task.abort();
        if self.shown.load(Ordering::SeqCst)
            && let Err(err) = self.room.typing_notice(false).await
        {
            debug!(error = %err, "matrix: typing notice not cleared");
        }
    }
}

/// Sleeps, or returns `true` early when the daemon shuts down.
async fn sleep_or_shutdown(
    delay: Duration,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

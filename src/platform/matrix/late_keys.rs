//! Late keys: a message the bot cannot decrypt yet is counted, kept in the state store, and
//! answered when its key comes; if it does not come in time, its sender is asked once to send
//! it again. The bookkeeping is in [`super::undecryptable`]; this is the I/O around it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use matrix_sdk::deserialized_responses::{TimelineEvent, TimelineEventKind};
use matrix_sdk::event_handler::RawEvent;
use matrix_sdk::room::Room;
use matrix_sdk::ruma::events::room::encrypted::OriginalSyncRoomEncryptedEvent;
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
};
use matrix_sdk::ruma::serde::Raw;
use matrix_sdk::ruma::{EventId, OwnedEventId, OwnedUserId, RoomId};
use tracing::{debug, info, warn};

use super::decide::{PLATFORM, RoomKind};
use super::undecryptable::{PENDING_META, PendingEvent, Reason};
use super::{Adapter, dispatch, lock, room_kind, sleep_or_shutdown};
use crate::config::RoomPolicy;
use crate::service::now_ms;

/// A person whose message could not be read is asked to send it again at most once per room
/// in this window: several unreadable messages in a row get one request.
const ASK_AGAIN_WINDOW: Duration = Duration::from_secs(10 * 60);

impl Adapter {
    /// A message the SDK could not decrypt: counted, logged once per room and reason, and
    /// kept until its key comes (or the wait ends).
    pub(super) async fn on_undecryptable(
        self: &Arc<Self>,
        event: OriginalSyncRoomEncryptedEvent,
        raw: RawEvent,
        room: Room,
    ) {
        if event.sender == self.me.user_id {
            return;
        }
        let sent_ms = i64::try_from(u64::from(event.origin_server_ts.get())).unwrap_or(i64::MAX);
        if sent_ms < self.me.cutoff_ms {
            // History from before the start (or the catch-up window): not a question.
            debug!("matrix: an old message could not be decrypted");
            return;
        }
        let room_id = room.room_id().to_owned();
        // The SDK does not tell handlers why; ask the crypto store again. The key may also
        // have come since, and a key backup, if set up, starts downloading it.
        let raw = Raw::<OriginalSyncRoomEncryptedEvent>::from_json(raw.0);
        let retried = room.decrypt_event(&raw, None).await.ok();
        let (reason, session_id) = match retried.map(opened) {
            Some(Opened::Message(message)) => {
                self.enqueue(*message, room);
                return;
            }
            Some(Opened::Other) => return,
            Some(Opened::Locked { reason, session_id }) => (reason, session_id),
            None => (Reason::Other, None),
        };
        self.ctx.status.undecryptable(PLATFORM, reason.label());
        if lock(&self.told).first_warning(room_id.as_str(), reason) {
            warn!(
                room = %room_id,
                reason = reason.label(),
                advice = reason.advice(),
                "matrix: a message could not be decrypted; it is answered if its key comes. \
                 Later ones in this room for the same reason are only counted \
                 (guichet_messages_undecryptable_total)"
            );
        } else {
            debug!(room = %room_id, reason = reason.label(), "matrix: a message could not be decrypted");
        }
        let waiting = PendingEvent {
            event_id: event.event_id.to_string(),
            room_id: room_id.to_string(),
            sender: event.sender.to_string(),
            session_id,
            sent_ms,
            seen_ms: now_ms(),
        };
        if lock(&self.pending).add(waiting.clone()) {
            self.save_pending().await;
            tokio::spawn(Arc::clone(self).wait_for_key(waiting));
        }
    }

    /// At start-up: messages kept from the last run wait on, unless older than `catch_up`.
    pub(super) async fn resume_pending(self: &Arc<Self>) {
        let cutoff = now_ms().saturating_sub(self.catch_up_ms());
        let (dropped, waiting) = {
            let mut pending = lock(&self.pending);
            (pending.drop_older_than(cutoff), pending.events().to_vec())
        };
        if dropped > 0 {
            info!(
                dropped,
                "matrix: messages whose keys never came are too old now"
            );
            self.save_pending().await;
        }
        for event in waiting {
            tokio::spawn(Arc::clone(self).wait_for_key(event));
        }
    }

    /// Tries the waiting messages a newly arrived key may open (a room key from the sender,
    /// forwarded, or from the key backup).
    pub(super) async fn watch_room_keys(self: Arc<Self>) {
        let Some(keys) = self.client.encryption().room_keys_received_stream().await else {
            warn!("matrix: no encryption; late keys will not be noticed");
            return;
        };
        let mut keys = std::pin::pin!(keys);
        let mut shutdown = self.ctx.shutdown.clone();
        loop {
            let batch = tokio::select! {
                batch = keys.next() => batch,
                _ = shutdown.changed() => return,
            };
            let candidates: Vec<PendingEvent> = match batch {
                None => return,
                Some(Ok(keys)) => {
                    let pending = lock(&self.pending);
                    keys.iter()
                        .flat_map(|key| pending.opened_by(key.room_id.as_str(), &key.session_id))
                        .collect()
                }
                // Some notices were missed: any waiting message may be open now.
                Some(Err(_)) => lock(&self.pending).events().to_vec(),
            };
            let mut tried = std::collections::HashSet::new();
            for event in candidates {
                if tried.insert(event.event_id.clone()) {
                    self.try_open(&event).await;
                }
            }
        }
    }

    /// Fetches a waiting message again and, if it decrypts now, answers it like any other;
    /// `true` when it no longer waits.
    async fn try_open(self: &Arc<Self>, event: &PendingEvent) -> bool {
        let (Ok(room_id), Ok(event_id)) = (
            RoomId::parse(&event.room_id),
            EventId::parse(&event.event_id),
        ) else {
            return self.stop_waiting(&event.event_id).await;
        };
        let Some(room) = self.client.get_room(&room_id) else {
            return self.stop_waiting(&event.event_id).await;
        };
        let fetched = match room.event(&event_id, None).await {
            Ok(fetched) => fetched,
            Err(err) => {
                debug!(error = %err, "matrix: cannot fetch a message waiting for its key");
                return false;
            }
        };
        match opened(fetched) {
            Opened::Locked { .. } => false,
            Opened::Other => self.stop_waiting(&event.event_id).await,
            Opened::Message(message) => {
                // Whoever takes it answers it: the key notice, or the end of the wait.
                if !self.stop_waiting(&event.event_id).await {
                    return true;
                }
                if event.sent_ms < now_ms().saturating_sub(self.catch_up_ms()) {
                    info!(room = %room_id, "matrix: a message's key came after `catch_up`; not answered");
                } else {
                    info!(room = %room_id, "matrix: a message's key came; answering it");
                    self.enqueue(*message, room);
                }
                true
            }
        }
    }

    /// Takes a message off the waiting list; `false` if it was not on it any more.
    async fn stop_waiting(&self, event_id: &str) -> bool {
        let taken = lock(&self.pending).take(event_id).is_some();
        if taken {
            self.save_pending().await;
        }
        taken
    }

    /// The end of a message's wait for its key: one last try, then, where every message is
    /// for the bot, one request to send it again.
    async fn wait_for_key(self: Arc<Self>, event: PendingEvent) {
        let mut shutdown = self.ctx.shutdown.clone();
        let wait_ms = i64::try_from(self.settings.late_key_wait.as_millis()).unwrap_or(i64::MAX);
        let due = event
            .seen_ms
            .saturating_add(wait_ms)
            .saturating_sub(now_ms());
        if sleep_or_shutdown(millis(due), &mut shutdown).await {
            return;
        }
        if !lock(&self.pending)
            .events()
            .iter()
            .any(|e| e.event_id == event.event_id)
        {
            return;
        }
        // A key from the backup or forwarded may have come without a notice.
        if self.try_open(&event).await {
            return;
        }
        let Some(room) = RoomId::parse(&event.room_id)
            .ok()
            .and_then(|id| self.client.get_room(&id))
        else {
            self.stop_waiting(&event.event_id).await;
            return;
        };
        let kind = room_kind(&room).await;
        if kind == RoomKind::Group && self.me.rooms == RoomPolicy::Mention {
            // Unread, it may not be for the bot at all: asking would answer chatter. Its key
            // may still come within `catch_up`.
            let until = event
                .sent_ms
                .saturating_add(self.catch_up_ms())
                .saturating_sub(now_ms());
            if sleep_or_shutdown(millis(until), &mut shutdown).await {
                return;
            }
            if !self.try_open(&event).await && self.stop_waiting(&event.event_id).await {
                debug!("matrix: a message's key never came");
            }
            return;
        }
        // A strict client reads nothing from a device its owner has not signed: ask once the
        // device's trust is settled.
        let mut known = self.device_known.subscribe();
        tokio::select! {
            _ = known.wait_for(|known| *known) => {}
            _ = shutdown.changed() => return,
        }
        if !self.stop_waiting(&event.event_id).await {
            return;
        }
        self.ask_again(&room, &event, kind).await;
    }

    /// Asks the sender of an unreadable message to send it again, at most once per room in
    /// [`ASK_AGAIN_WINDOW`].
    async fn ask_again(&self, room: &Room, event: &PendingEvent, kind: RoomKind) {
        let (Ok(event_id), Ok(sender)) = (
            OwnedEventId::try_from(event.event_id.as_str()),
            OwnedUserId::try_from(event.sender.as_str()),
        ) else {
            return;
        };
        // Claimed like an answer: a key coming later finds it handled, a restart does not
        // ask again.
        let ctx = self.ctx.clone();
        let claim = event.event_id.clone();
        let claimed = tokio::task::spawn_blocking(move || {
            ctx.bot.store().claim_event(PLATFORM, &claim, now_ms())
        })
        .await;
        if !matches!(claimed, Ok(Ok(true))) {
            debug!("matrix: an unreadable message is already handled");
            return;
        }
        let window = i64::try_from(ASK_AGAIN_WINDOW.as_millis()).unwrap_or(i64::MAX);
        if !lock(&self.told).may_ask(&event.room_id, &event.sender, now_ms(), window) {
            debug!("matrix: the sender was already asked to send again");
            return;
        }
        let text = self.ctx.bot.engine().strings().unreadable_message.clone();
        let content = dispatch::unreadable(
            &text,
            self.settings.msgtype,
            &event_id,
            &sender,
            kind == RoomKind::Direct,
        );
        if dispatch::deliver(room, content).await.is_ok() {
            info!(room = %room.room_id(), "matrix: asked to send an unreadable message again");
        }
    }

    /// Saves the waiting list in the state store.
    async fn save_pending(&self) {
        let _one_at_a_time = self.saving.lock().await;
        let json = lock(&self.pending).to_json();
        let ctx = self.ctx.clone();
        let saved =
            tokio::task::spawn_blocking(move || ctx.bot.store().set_meta(PENDING_META, &json))
                .await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                warn!(error = %err, "matrix: cannot save the messages waiting for their keys")
            }
            Err(err) => warn!(error = %err, "matrix: the task saving the waiting messages failed"),
        }
    }

    fn catch_up_ms(&self) -> i64 {
        i64::try_from(self.settings.catch_up.as_millis()).unwrap_or(i64::MAX)
    }
}

/// What a fetched or retried encrypted event turned out to be.
enum Opened {
    /// Decrypted: a message, to answer like any other.
    Message(Box<OriginalSyncRoomMessageEvent>),
    /// Decrypted, but not a message (a reaction, an edit of something else…).
    Other,
    /// Still no key.
    Locked {
        reason: Reason,
        session_id: Option<String>,
    },
}

fn opened(event: TimelineEvent) -> Opened {
    if let TimelineEventKind::UnableToDecrypt { utd_info, .. } = &event.kind {
        return Opened::Locked {
            reason: Reason::from_sdk(&utd_info.reason),
            session_id: utd_info.session_id.clone(),
        };
    }
    match event.raw().deserialize() {
        Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
            SyncMessageLikeEvent::Original(message),
        ))) => Opened::Message(Box::new(message)),
        _ => Opened::Other,
    }
}

/// A wait in ms, none if negative.
fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

//! Conversation state store: each user's conversation survives restarts, and adapters remember
//! which platform events they have already answered, so a crash repeats no reply.
//!
//! One store is shared by every platform adapter of the process, hence `&self` methods and
//! `Send + Sync`. Calls are plain blocking calls: every SQLite statement here is a short
//! indexed lookup or write.

mod memory;
mod permissions;
mod sqlite;

pub use memory::MemoryStore;
pub use permissions::{PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, create_private_dir};
pub(crate) use permissions::{create_private_file, restrict_database_files};
/// The stats database follows the state store's durability choice.
pub(crate) use sqlite::SYNCHRONOUS;
pub use sqlite::SqliteStore;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How long an unused conversation is kept before [`StateStore::forget_unused_since`] deletes
/// it (config key `forget_after`): nothing about a person outlives this (RGPD).
pub const DEFAULT_FORGET_AFTER: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// How long claimed event ids are kept. It only has to outlast the window in which a platform
/// may deliver an event again (a Matrix catch-up after downtime, a Discord gateway resume);
/// a week leaves a wide margin while keeping the table small.
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Errors of the state store. Messages name the database file where one is involved, since
/// the admin fixes these by looking at `state_dir`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the state store {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{} is not a readable SQLite database (corrupt, or another kind of file): \
         move it away or point `state_dir` elsewhere",
        path.display()
    )]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{} is an SQLite database but not a guichet state store: refusing to write into it",
        path.display()
    )]
    ForeignDatabase { path: PathBuf },
    #[error(
        "the state store {} has schema version {found}, newer than version {supported} that \
         this guichet understands: run a newer guichet or restore a backup",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot migrate the state store {} to schema version {version}", path.display())]
    Migration {
        path: PathBuf,
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot make {} readable by guichet's user only", path.display())]
    Permissions {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The cause is part of the message, not only a `source`: this error is often logged or
    /// shown through `to_string()` alone, and "database or disk is full" or "attempt to write
    /// a readonly database" is what the admin has to act on.
    #[error("state store operation failed: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sqlite(error)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who a conversation belongs to. `scope` is the room or channel id in group rooms, so one
/// person keeps a separate position per room, and empty in direct messages.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConversationKey {
    pub platform: String,
    pub scope: String,
    pub user: String,
}

impl ConversationKey {
    pub fn new(
        platform: impl Into<String>,
        scope: impl Into<String>,
        user: impl Into<String>,
    ) -> Self {
        Self {
            platform: platform.into(),
            scope: scope.into(),
            user: user.into(),
        }
    }

    /// The key of a direct-message conversation (empty scope).
    pub fn direct(platform: impl Into<String>, user: impl Into<String>) -> Self {
        Self::new(platform, String::new(), user)
    }
}

// The user id is personal data: a stray `?key` in an `info!` must not leak it.
impl fmt::Debug for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationKey")
            .field("platform", &self.platform)
            .field("scope", &self.scope)
            .field("user", &format_args!("<redacted>"))
            .finish()
    }
}

/// A conversation as the store keeps it: the engine's own JSON, opaque here, and the time of
/// its last use, which drives the privacy purge.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredConversation {
    pub data: String,
    /// Unix time in milliseconds.
    pub updated_at: i64,
}

impl StoredConversation {
    pub fn new(data: impl Into<String>, updated_at: i64) -> Self {
        Self {
            data: data.into(),
            updated_at,
        }
    }
}

// The data holds variables and `@INPUT` values, i.e. what the user typed.
impl fmt::Debug for StoredConversation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredConversation")
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A reply committed with its turn and not marked sent yet (see [`StateStore`]).
#[derive(Clone, PartialEq, Eq)]
pub struct PendingReply {
    pub event_id: String,
    /// What [`StateStore::commit_turn`] was given: the adapter's own JSON.
    pub reply: String,
    /// Unix time in milliseconds.
    pub created_at: i64,
}

// The reply holds the bot's words to a person and where they went.
impl fmt::Debug for PendingReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingReply")
            .field("event_id", &self.event_id)
            .field("reply", &format_args!("<{} bytes>", self.reply.len()))
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Where conversation state, handled event ids and replies not yet sent live. Object-safe:
/// the daemon holds one `Arc<dyn StateStore>` for every adapter.
///
/// **Exactly-once replies** (the outbox protocol), for an event with a stable id:
///
/// 1. The turn runs (`service::Bot::handle_event`): load the conversation, ask the engine.
/// 2. [`Self::commit_turn`] claims the event, saves the new conversation and queues the
///    reply, in one transaction. If the event was already claimed, nothing changes and
///    nothing is sent: a redelivered event is not answered twice.
/// 3. The adapter sends the reply with an idempotency key derived from the event id (Matrix:
///    the transaction id; Discord: the message nonce, enforced).
/// 4. [`Self::mark_sent`] takes it out of the queue.
/// 5. At start, the adapter sends again what [`Self::pending_replies`] holds, with the same
///    keys, then marks it sent.
///
/// Where a platform offers no idempotency key for some part of a reply (Discord's follow-ups
/// to an interaction), the adapter sends the repeatable part first (editing the
/// interaction's original response) and records each other part as sent, with
/// [`Self::update_pending_reply`], as soon as it is out: a crash can then repeat at most
/// the one part in flight.
///
/// A crash before 2 leaves nothing behind: the platform delivers the event again and it is
/// handled afresh. A crash between 2 and 4 leaves the reply queued: it goes out at the next
/// start, and the idempotency key makes the platform drop it if it had gone out already. No
/// step loses a reply or applies a turn twice. A failed commit (disk full) is no reply at
/// all: the adapter answers with the short error message of the strings module instead.
pub trait StateStore: Send + Sync {
    fn load(&self, key: &ConversationKey) -> Result<Option<StoredConversation>>;

    /// Inserts or replaces the conversation of `key`.
    fn save(&self, key: &ConversationKey, conversation: &StoredConversation) -> Result<()>;

    /// Claims `event_id` for `key.platform`, saves `conversation` and queues `reply` (the
    /// adapter's own description of what to send where, opaque here), atomically. Returns
    /// `false` and changes nothing when the event was already claimed.
    fn commit_turn(
        &self,
        key: &ConversationKey,
        conversation: &StoredConversation,
        event_id: &str,
        reply: &str,
        now_ms: i64,
    ) -> Result<bool>;

    /// The reply of `event_id` has gone out: it leaves the queue. Unknown ids are ignored.
    fn mark_sent(&self, platform: &str, event_id: &str) -> Result<()>;

    /// Replaces the queued reply of `event_id`, keeping its place and time; unknown ids are
    /// ignored. For a reply sent in several parts of which some cannot be sent twice safely
    /// (Discord's interaction follow-ups take no idempotency key): the adapter records each
    /// such part as sent right after it goes out, so a restart sends only the rest.
    fn update_pending_reply(&self, platform: &str, event_id: &str, reply: &str) -> Result<()>;

    /// The replies of `platform` committed and not yet marked sent, oldest first.
    fn pending_replies(&self, platform: &str) -> Result<Vec<PendingReply>>;

    /// Returns whether a conversation was there.
    fn delete(&self, key: &ConversationKey) -> Result<bool>;

    /// Privacy purge: deletes every conversation whose `updated_at` is strictly before
    /// `cutoff_ms` (see [`forget_cutoff`]) and returns how many went; queued replies that old
    /// go too.
    fn forget_unused_since(&self, cutoff_ms: i64) -> Result<usize>;

    fn conversation_count(&self) -> Result<usize>;

    /// `true` the first time `event_id` is claimed for `platform`, `false` afterwards, for
    /// events that change no conversation.
    fn claim_event(&self, platform: &str, event_id: &str, now_ms: i64) -> Result<bool>;

    /// Whether `event_id` was claimed for `platform` (and not forgotten since). Read-only: a
    /// redelivered or re-read event is recognised before it costs anything, such as a place
    /// in its sender's rate limit.
    fn event_claimed(&self, platform: &str, event_id: &str) -> Result<bool>;

    /// Forgets events claimed strictly before `cutoff_ms` and returns how many went.
    fn forget_events_before(&self, cutoff_ms: i64) -> Result<usize>;

    /// Small values adapters keep across restarts (a sync token…). Keys are namespaced by
    /// convention as `<platform>.<name>`, e.g. `matrix.sync_token`.
    fn get_meta(&self, key: &str) -> Result<Option<String>>;

    /// Inserts or replaces a meta value.
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;

    /// Makes everything saved so far durable, for a graceful shutdown.
    fn flush(&self) -> Result<()>;
}

// Compile-time proof that the trait stays object-safe and shareable between adapters.
const _: fn() = || {
    fn shareable<T: Send + Sync + ?Sized>() {}
    shareable::<dyn StateStore>();
};

/// The cutoff to pass to [`StateStore::forget_unused_since`] so that conversations unused for
/// `forget_after` at `now_ms` are deleted. Saturates instead of overflowing on absurd inputs.
pub fn forget_cutoff(now_ms: i64, forget_after: Duration) -> i64 {
    let after_ms = i64::try_from(forget_after.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(after_ms)
}

/// Generates the behaviour suite, one `#[test]` per behaviour, for a store implementation.
/// `$open` names a function of the calling module returning `(store, guard)`: the guard (e.g. a
/// temporary directory) lives as long as the test.
#[cfg(test)]
macro_rules! store_behaviour_suite {
    ($open:ident) => {
        mod behaviour {
            use $crate::store::{ConversationKey, StateStore, StoredConversation};

            /// The event ids of `platform`'s queued replies, in queue order.
            fn pending_ids(store: &dyn StateStore, platform: &str) -> Vec<String> {
                store
                    .pending_replies(platform)
                    .unwrap()
                    .into_iter()
                    .map(|p| p.event_id)
                    .collect()
            }

            fn conversation(data: &str, updated_at: i64) -> StoredConversation {
                StoredConversation::new(data, updated_at)
            }

            #[test]
            fn save_then_load_round_trips() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let key = ConversationKey::direct("matrix", "@alice:example.org");
                assert_eq!(store.load(&key).unwrap(), None);
                let saved = conversation(r#"{"vars":{"type_user":"prof"}}"#, 1_000);
                store.save(&key, &saved).unwrap();
                assert_eq!(store.load(&key).unwrap(), Some(saved));
            }

            #[test]
            fn save_overwrites_the_previous_conversation() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let key = ConversationKey::direct("discord", "42");
                store.save(&key, &conversation("first", 1)).unwrap();
                store.save(&key, &conversation("second", 2)).unwrap();
                assert_eq!(store.load(&key).unwrap(), Some(conversation("second", 2)));
                assert_eq!(store.conversation_count().unwrap(), 1);
            }

            #[test]
            fn keys_differing_in_any_part_are_separate_conversations() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let keys = [
                    ConversationKey::direct("matrix", "@bob:example.org"),
                    ConversationKey::new("matrix", "!room1:example.org", "@bob:example.org"),
                    ConversationKey::new("matrix", "!room2:example.org", "@bob:example.org"),
                    ConversationKey::direct("discord", "@bob:example.org"),
                    // A store keying on a naive concatenation would merge these three.
                    ConversationKey::new("a", "b:c", "d"),
                    ConversationKey::new("a:b", "c", "d"),
                    ConversationKey::new("a", "b", "c:d"),
                ];
                for (index, key) in keys.iter().enumerate() {
                    store
                        .save(key, &conversation(&format!("conversation {index}"), 7))
                        .unwrap();
                }
                for (index, key) in keys.iter().enumerate() {
                    let loaded = store.load(key).unwrap();
                    assert_eq!(
                        loaded,
                        Some(conversation(&format!("conversation {index}"), 7))
                    );
                }
                assert_eq!(store.conversation_count().unwrap(), keys.len());
            }

            #[test]
            fn delete_removes_only_its_key() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let gone = ConversationKey::new("matrix", "!room:example.org", "@carol:x");
                let kept = ConversationKey::direct("matrix", "@carol:x");
                store.save(&gone, &conversation("gone", 1)).unwrap();
                store.save(&kept, &conversation("kept", 1)).unwrap();
                assert!(store.delete(&gone).unwrap());
                assert!(
                    !store.delete(&gone).unwrap(),
                    "a second delete finds nothing"
                );
                assert_eq!(store.load(&gone).unwrap(), None);
                assert_eq!(store.load(&kept).unwrap(), Some(conversation("kept", 1)));
                assert_eq!(store.conversation_count().unwrap(), 1);
            }

            #[test]
            fn forget_unused_since_deletes_strictly_older_conversations() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let cases = [
                    ("old", 10, false),
                    ("older", -5, false),
                    ("at_cutoff", 100, true),
                    ("recent", 500, true),
                ];
                for (user, updated_at, _) in cases {
                    store
                        .save(
                            &ConversationKey::direct("t", user),
                            &conversation(user, updated_at),
                        )
                        .unwrap();
                }
                assert_eq!(store.forget_unused_since(100).unwrap(), 2);
                for (user, updated_at, kept) in cases {
                    let loaded = store.load(&ConversationKey::direct("t", user)).unwrap();
                    assert_eq!(loaded.is_some(), kept, "{user} at {updated_at}");
                }
                assert_eq!(store.conversation_count().unwrap(), 2);
                assert_eq!(
                    store.forget_unused_since(100).unwrap(),
                    0,
                    "nothing left to purge"
                );
                assert_eq!(store.forget_unused_since(i64::MIN).unwrap(), 0);
                assert_eq!(store.forget_unused_since(i64::MAX).unwrap(), 2);
                assert_eq!(store.conversation_count().unwrap(), 0);
            }

            #[test]
            fn count_follows_saves_deletes_and_purges() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                assert_eq!(store.conversation_count().unwrap(), 0);
                for user in 0..10 {
                    let key = ConversationKey::direct("t", user.to_string());
                    store.save(&key, &conversation("{}", user)).unwrap();
                }
                assert_eq!(store.conversation_count().unwrap(), 10);
                store.delete(&ConversationKey::direct("t", "3")).unwrap();
                assert_eq!(store.conversation_count().unwrap(), 9);
                assert_eq!(store.forget_unused_since(5).unwrap(), 4);
                assert_eq!(store.conversation_count().unwrap(), 5);
            }

            #[test]
            fn claim_event_succeeds_once_per_platform_until_forgotten() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                assert!(!store.event_claimed("matrix", "$old").unwrap());
                assert!(store.claim_event("matrix", "$old", 10).unwrap());
                assert!(store.event_claimed("matrix", "$old").unwrap());
                assert!(!store.event_claimed("discord", "$old").unwrap());
                assert!(!store.claim_event("matrix", "$old", 11).unwrap());
                assert!(!store.claim_event("matrix", "$old", 1_000).unwrap());
                assert!(
                    store.claim_event("discord", "$old", 10).unwrap(),
                    "ids are per platform"
                );
                assert!(store.claim_event("matrix", "$recent", 500).unwrap());

                assert_eq!(store.forget_events_before(100).unwrap(), 2);
                assert!(
                    !store.claim_event("matrix", "$recent", 501).unwrap(),
                    "recent claims stay"
                );
                assert!(
                    store.claim_event("matrix", "$old", 600).unwrap(),
                    "forgotten claims go"
                );
                assert_eq!(store.forget_events_before(100).unwrap(), 0);
            }

            #[test]
            fn commit_turn_applies_a_turn_once_and_queues_its_reply() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let key = ConversationKey::new("matrix", "!room:x", "@dan:x");
                assert!(
                    store
                        .commit_turn(&key, &conversation("turn 1", 1), "$e1", "reply 1", 1)
                        .unwrap()
                );
                assert!(
                    !store
                        .commit_turn(&key, &conversation("replayed", 2), "$e1", "again", 2)
                        .unwrap()
                );
                assert_eq!(store.load(&key).unwrap(), Some(conversation("turn 1", 1)));
                assert!(
                    !store.claim_event("matrix", "$e1", 3).unwrap(),
                    "the event is claimed"
                );
                let pending = store.pending_replies("matrix").unwrap();
                assert_eq!(pending.len(), 1, "the replayed turn queued nothing");
                assert_eq!(
                    (pending[0].event_id.as_str(), pending[0].reply.as_str()),
                    ("$e1", "reply 1")
                );
                assert!(store.pending_replies("discord").unwrap().is_empty());

                assert!(
                    store
                        .commit_turn(&key, &conversation("turn 2", 4), "$e2", "reply 2", 4)
                        .unwrap()
                );
                assert_eq!(store.load(&key).unwrap(), Some(conversation("turn 2", 4)));
                let ids = pending_ids(store, "matrix");
                assert_eq!(ids, ["$e1", "$e2"], "oldest first");
                store.mark_sent("matrix", "$e1").unwrap();
                store.mark_sent("matrix", "$unknown").unwrap();
                let ids = pending_ids(store, "matrix");
                assert_eq!(ids, ["$e2"]);

                assert!(store.claim_event("matrix", "$e3", 5).unwrap());
                assert!(
                    !store
                        .commit_turn(&key, &conversation("turn 3", 6), "$e3", "reply 3", 6)
                        .unwrap()
                );
                assert_eq!(store.load(&key).unwrap(), Some(conversation("turn 2", 4)));
            }

            #[test]
            fn update_pending_reply_replaces_a_queued_reply_in_place() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let key = ConversationKey::direct("discord", "42");
                for (event, at) in [("a", 1), ("b", 2)] {
                    store
                        .commit_turn(&key, &conversation(event, at), event, "part 0", at)
                        .unwrap();
                }
                store
                    .update_pending_reply("discord", "a", "part 1")
                    .unwrap();
                store
                    .update_pending_reply("discord", "unknown", "x")
                    .unwrap();
                store.update_pending_reply("matrix", "b", "x").unwrap();
                let pending = store.pending_replies("discord").unwrap();
                let seen: Vec<(&str, &str, i64)> = pending
                    .iter()
                    .map(|p| (p.event_id.as_str(), p.reply.as_str(), p.created_at))
                    .collect();
                assert_eq!(seen, [("a", "part 1", 1), ("b", "part 0", 2)]);
                assert!(store.pending_replies("matrix").unwrap().is_empty());
            }

            #[test]
            fn the_privacy_purge_takes_old_queued_replies_too() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let key = ConversationKey::new("discord", "", "42");
                store
                    .commit_turn(&key, &conversation("a", 100), "old", "r", 100)
                    .unwrap();
                store
                    .commit_turn(&key, &conversation("b", 500), "new", "r", 500)
                    .unwrap();
                store.forget_unused_since(200).unwrap();
                let ids = pending_ids(store, "discord");
                assert_eq!(ids, ["new"]);
            }

            #[test]
            fn meta_round_trips_and_overwrites() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                assert_eq!(store.get_meta("matrix.sync_token").unwrap(), None);
                store.set_meta("matrix.sync_token", "s1").unwrap();
                store.set_meta("discord.session", "d1").unwrap();
                store.set_meta("matrix.sync_token", "s2").unwrap();
                assert_eq!(
                    store.get_meta("matrix.sync_token").unwrap().as_deref(),
                    Some("s2")
                );
                assert_eq!(
                    store.get_meta("discord.session").unwrap().as_deref(),
                    Some("d1")
                );
                store.set_meta("empty", "").unwrap();
                assert_eq!(store.get_meta("empty").unwrap().as_deref(), Some(""));
            }

            #[test]
            fn unicode_and_unusual_characters_survive() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let keys = [
                    ConversationKey::new("matrix", "!salle-é:exemple.fr", "@élève_😀:exemple.fr"),
                    ConversationKey::new(
                        "matrix",
                        "!salle-e\u{301}:exemple.fr",
                        "@élève_😀:exemple.fr",
                    ),
                    ConversationKey::new("terminal", "with\0nul", "quote' \"; DROP TABLE x; --"),
                    ConversationKey::direct("", ""),
                ];
                let data_of =
                    |index| format!(r#"{{"réponse":"Ça marche ✅ {index}","nul":"a\u0000b"}}"#);
                for (index, key) in keys.iter().enumerate() {
                    store.save(key, &conversation(&data_of(index), 1)).unwrap();
                }
                for (index, key) in keys.iter().enumerate() {
                    let expected = conversation(&data_of(index), 1);
                    assert_eq!(store.load(key).unwrap(), Some(expected));
                }
                // Composed and decomposed "é" are different ids to the platforms too.
                assert_eq!(store.conversation_count().unwrap(), keys.len());
                store.set_meta("matrix.clé 🔑", "valeur\0é").unwrap();
                assert_eq!(
                    store.get_meta("matrix.clé 🔑").unwrap().as_deref(),
                    Some("valeur\0é")
                );
                assert!(store.claim_event("matrix", "$évènement😀", 1).unwrap());
                assert!(!store.claim_event("matrix", "$évènement😀", 1).unwrap());
            }

            #[test]
            fn large_conversations_round_trip() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let key = ConversationKey::direct("matrix", "@big:x");
                let data: String = (0..4 * 1024 * 1024)
                    .map(|index| char::from(b'a' + (index % 26) as u8))
                    .collect();
                store.save(&key, &conversation(&data, 9)).unwrap();
                let loaded = store.load(&key).unwrap().unwrap();
                assert_eq!(loaded.data.len(), data.len());
                assert!(loaded.data == data, "the large data came back altered");
            }

            #[test]
            fn shared_between_threads_each_event_is_claimed_once() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let threads: usize = 4;
                let events: i64 = 50;
                let claimed: usize = std::thread::scope(|scope| {
                    let workers: Vec<_> = (0..threads)
                        .map(|thread| {
                            scope.spawn(move || {
                                let mut won = 0;
                                for event in 0..events {
                                    let key =
                                        ConversationKey::direct("t", format!("{thread}-{event}"));
                                    store.save(&key, &conversation("{}", event)).unwrap();
                                    if store
                                        .claim_event("t", &format!("$e{event}"), event)
                                        .unwrap()
                                    {
                                        won += 1;
                                    }
                                }
                                won
                            })
                        })
                        .collect();
                    workers
                        .into_iter()
                        .map(|worker| worker.join().unwrap())
                        .sum()
                });
                assert_eq!(claimed, events as usize);
                assert_eq!(
                    store.conversation_count().unwrap(),
                    threads * events as usize
                );
            }

            #[test]
            fn flush_keeps_everything() {
                let (store, _guard) = super::$open();
                let store: &dyn StateStore = &store;
                let key = ConversationKey::direct("matrix", "@eve:x");
                store.save(&key, &conversation("kept", 3)).unwrap();
                store.set_meta("matrix.sync_token", "s9").unwrap();
                store.flush().unwrap();
                store.flush().unwrap();
                assert_eq!(store.load(&key).unwrap(), Some(conversation("kept", 3)));
                assert_eq!(
                    store.get_meta("matrix.sync_token").unwrap().as_deref(),
                    Some("s9")
                );
            }
        }
    };
}

#[cfg(test)]
pub(crate) use store_behaviour_suite;

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 14, item 13: a full disk at start ended `serve` with "state store operation
    /// failed", the cause ("database or disk is full") left out.
    #[test]
    fn a_store_error_names_its_cause() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".to_string()),
        );
        let message = StoreError::from(full).to_string();
        assert!(message.contains("database or disk is full"), "{message}");
    }

    #[test]
    fn forget_cutoff_subtracts_and_saturates() {
        let day_ms = 24 * 60 * 60 * 1000;
        let cases = [
            (100 * day_ms, DEFAULT_FORGET_AFTER, 10 * day_ms),
            (5_000, Duration::from_secs(2), 3_000),
            (5_000, Duration::ZERO, 5_000),
            (i64::MIN + 1, Duration::from_secs(1), i64::MIN),
            (0, Duration::MAX, i64::MIN + 1),
        ];
        for (now_ms, forget_after, expected) in cases {
            assert_eq!(
                forget_cutoff(now_ms, forget_after),
                expected,
                "{now_ms} {forget_after:?}"
            );
        }
    }

    #[test]
    fn debug_output_hides_user_ids_and_conversation_data() {
        let key = ConversationKey::new("matrix", "!room:x", "@secret-user:x");
        let conversation = StoredConversation::new("typed by the user", 5);
        let shown = format!("{key:?} {conversation:?}");
        assert!(!shown.contains("secret-user"), "{shown}");
        assert!(!shown.contains("typed by the user"), "{shown}");
        assert!(
            shown.contains("!room:x") && shown.contains("17 bytes"),
            "{shown}"
        );
    }
}

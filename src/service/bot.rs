//! The bot as adapters see it: one engine, one state store. An adapter hands over who spoke
//! where and what they did; the bot loads that conversation, asks the engine, saves the new
//! state, and returns the reply. Nothing here knows a platform.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use crate::engine::{Conversation, Engine, Input, Reply, Rng};
use crate::store::{ConversationKey, StateStore, StoreError, StoredConversation};

/// Default `idle_reset`: after a day without messages, a user starts again from the welcome.
pub const DEFAULT_IDLE_RESET: Duration = Duration::from_secs(24 * 60 * 60);

/// The shared bot: the current engine (replaced on reload) and the state store.
pub struct Bot {
    engine: RwLock<Arc<Engine>>,
    store: Arc<dyn StateStore>,
    idle_reset: Duration,
    /// Where each turn's randomness comes from: seeded from the clock, or fixed for
    /// reproducible runs. Each turn draws its own seed from it, so that two turns running at
    /// once never draw the same numbers.
    rng: Mutex<Rng>,
    /// One lock per conversation with a turn in progress: the turns of one conversation run
    /// one at a time (load, reply, save), whatever task or thread brings them, so that none
    /// saves over another's state. An entry lives while a turn holds or awaits it.
    turns: Mutex<HashMap<ConversationKey, Arc<Mutex<()>>>>,
    /// Stored conversations met that could not be read (see [`Bot::unreadable_states`]).
    unreadable_states: AtomicU64,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("idle_reset", &self.idle_reset)
            .finish_non_exhaustive()
    }
}

impl Bot {
    pub fn new(engine: Engine, store: Arc<dyn StateStore>, idle_reset: Duration) -> Self {
        Self {
            engine: RwLock::new(Arc::new(engine)),
            store,
            idle_reset,
            rng: Mutex::new(Rng::from_time()),
            turns: Mutex::new(HashMap::new()),
            unreadable_states: AtomicU64::new(0),
        }
    }

    /// How many times a stored conversation could not be read (garbled, or written by a
    /// newer guichet) since the start: `/metrics` shows it, so a state that vanishes does
    /// not vanish unnoticed.
    pub fn unreadable_states(&self) -> u64 {
        self.unreadable_states.load(Ordering::Relaxed)
    }

    /// The conversation stored for `key`, or a new one. A record that cannot be read is
    /// logged at WARN and counted, and the person starts afresh: refusing them would leave
    /// them with no answer at all, and the next save replaces the record.
    fn load_conversation(&self, key: &ConversationKey) -> Result<Conversation, StoreError> {
        let Some(stored) = self.store.load(key)? else {
            return Ok(Conversation::default());
        };
        match Conversation::from_json(&stored.data) {
            Ok(conversation) => Ok(conversation),
            Err(err) => {
                self.unreadable_states.fetch_add(1, Ordering::Relaxed);
                // The platform and where the JSON broke; no user id, no content.
                tracing::warn!(
                    platform = %key.platform,
                    error = %err,
                    "a stored conversation cannot be read; that person starts afresh"
                );
                Ok(Conversation::default())
            }
        }
    }

    /// Makes random choices reproducible.
    pub fn set_seed(&self, seed: u64) {
        *self.rng.lock().unwrap_or_else(PoisonError::into_inner) = Rng::seeded(seed);
    }

    /// Handles one input of one user with randomness of its own, drawn from the bot's.
    pub fn respond(
        &self,
        key: &ConversationKey,
        input: Input,
        now_ms: i64,
    ) -> Result<Reply, StoreError> {
        let seed = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_u64();
        self.handle(key, input, now_ms, &mut Rng::seeded(seed))
    }

    /// Handles one input that a platform event brought, exactly once (see the outbox protocol
    /// at [`StateStore`]): the turn's new state is saved, its event claimed and its reply
    /// queued — `outgoing` says what the adapter will send, and where — in one transaction.
    /// `None` when the event was handled before (a redelivery): nothing changes and nothing
    /// must be sent. The adapter sends, then calls [`StateStore::mark_sent`].
    pub fn handle_event(
        &self,
        key: &ConversationKey,
        input: Input,
        event_id: &str,
        now_ms: i64,
        outgoing: impl FnOnce(&Reply) -> String,
    ) -> Result<Option<Reply>, StoreError> {
        let seed = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_u64();
        let rng = &mut Rng::seeded(seed);
        let turn = self.turn_of(key);
        let reply = {
            let _one_at_a_time = turn.lock().unwrap_or_else(PoisonError::into_inner);
            self.turn(key, input, now_ms, rng, |store, conversation, reply| {
                store.commit_turn(key, conversation, event_id, &outgoing(reply), now_ms)
            })
        };
        self.end_turn(key, turn);
        reply.map(|(reply, applied)| applied.then_some(reply))
    }

    /// The engine currently answering.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Serves a new version of the knowledge base from the next message on.
    pub fn replace_engine(&self, engine: Engine) {
        *self.engine.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(engine);
    }

    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// Handles one input of one user and persists the conversation.
    pub fn handle(
        &self,
        key: &ConversationKey,
        input: Input,
        now_ms: i64,
        rng: &mut Rng,
    ) -> Result<Reply, StoreError> {
        let turn = self.turn_of(key);
        let reply = {
            let _one_at_a_time = turn.lock().unwrap_or_else(PoisonError::into_inner);
            self.turn(key, input, now_ms, rng, |store, conversation, _| {
                store.save(key, conversation).map(|()| true)
            })
        };
        self.end_turn(key, turn);
        reply.map(|(reply, _)| reply)
    }

    /// The lock of `key`'s turns, created for the first turn in progress.
    fn turn_of(&self, key: &ConversationKey) -> Arc<Mutex<()>> {
        self.turns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone()
    }

    /// Drops the lock of `key`'s turns when no other turn holds or awaits it.
    fn end_turn(&self, key: &ConversationKey, turn: Arc<Mutex<()>>) {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        // Every clone and drop of a turn's lock happens under the map's lock: once this
        // turn's is dropped, the map's alone means no other turn holds or awaits it.
        drop(turn);
        if turns.get(key).is_some_and(|t| Arc::strong_count(t) == 1) {
            turns.remove(key);
        }
    }

    /// One turn: load the conversation, reply, and `save` the new state, which says whether
    /// it applied the turn (an event handled before is not).
    fn turn(
        &self,
        key: &ConversationKey,
        input: Input,
        now_ms: i64,
        rng: &mut Rng,
        save: impl FnOnce(&dyn StateStore, &StoredConversation, &Reply) -> Result<bool, StoreError>,
    ) -> Result<(Reply, bool), StoreError> {
        let engine = self.engine();
        let mut conversation = self.load_conversation(key)?;
        let idle_ms = i64::try_from(self.idle_reset.as_millis()).unwrap_or(i64::MAX);
        let was_idle = conversation.reset_position_if_idle(now_ms, idle_ms);
        if conversation.updated_at == 0 || was_idle {
            // A user who speaks first has, as in ChatMD's page, the welcome's choices in front
            // of them.
            engine.prime(&mut conversation);
        }
        let reply = engine.reply(&mut conversation, input, rng);
        conversation.updated_at = now_ms;
        let stored = StoredConversation::new(conversation.to_json(), now_ms);
        let applied = save(self.store.as_ref(), &stored, &reply)?;
        Ok((reply, applied))
    }

    /// Deletes every conversation unused for `forget_after` (privacy: nothing about a person
    /// is kept longer). Returns how many were deleted.
    pub fn forget_unused(&self, now_ms: i64, forget_after: Duration) -> Result<usize, StoreError> {
        self.store
            .forget_unused_since(crate::store::forget_cutoff(now_ms, forget_after))
    }

    /// Forgets the conversation of one user (the terminal's `/reset`).
    pub fn forget(&self, key: &ConversationKey) -> Result<bool, StoreError> {
        self.store.delete(key)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Answer, Command, MatchingMode};
    use crate::store::{MemoryStore, SqliteStore};
    use crate::strings::Strings;

    const DAY_MS: i64 = 24 * 60 * 60 * 1000;

    fn bot(store: Arc<dyn StateStore>) -> Bot {
        let checked = crate::kb::parse_str(
            "t.md",
            "---\ncontenuDynamique: true\n---\n# T\nQui êtes-vous ?\n1. [Prof @role=prof](Menu)\n## Menu\n- menu\n`if @role==prof`\nBonjour prof\n`endif`\n1. [Horaires](Horaires)\n## Horaires\n- horaires\nDe 8 h à 17 h.\n",
        );
        let engine = Engine::new(
            Arc::new(checked.kb.unwrap()),
            MatchingMode::Chatmd,
            Strings::default(),
        );
        Bot::new(engine, store, DEFAULT_IDLE_RESET)
    }

    #[test]
    fn state_survives_a_new_bot_on_the_same_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let key = ConversationKey::new("matrix", "!room", "@ana:example.org");
        let mut rng = Rng::seeded(1);
        {
            let bot = bot(Arc::new(SqliteStore::open(&path).unwrap()));
            let reply = bot
                .handle(&key, Input::Message("1".into()), 1_000, &mut rng)
                .unwrap();
            assert_eq!(reply.answer, Answer::Response("Menu".into()));
        }
        let bot = bot(Arc::new(SqliteStore::open(&path).unwrap()));
        // The menu shown before the restart is still the one a number picks, and the role
        // is still set.
        let reply = bot
            .handle(&key, Input::Message("1".into()), 2_000, &mut rng)
            .unwrap();
        assert_eq!(reply.answer, Answer::Response("Horaires".into()));
        let reply = bot
            .handle(&key, Input::Message("menu".into()), 3_000, &mut rng)
            .unwrap();
        assert!(reply.messages[0].markdown.contains("Bonjour prof"));
    }

    /// A redelivered event (a resumed sync, a gateway replay, a restart) is not a second
    /// turn: the person's position does not move twice and no second reply is queued; a
    /// reply committed and not marked sent is still there after a restart.
    #[test]
    fn an_event_is_one_turn_and_its_reply_waits_in_the_outbox_until_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let key = ConversationKey::new("matrix", "!room", "@ana:example.org");
        let outgoing = |reply: &Reply| format!("to !room: {}", reply.answer.name());
        {
            let bot = bot(Arc::new(SqliteStore::open(&path).unwrap()));
            let first = bot
                .handle_event(&key, Input::Message("1".into()), "$e1", 1_000, outgoing)
                .unwrap();
            assert_eq!(first.unwrap().answer, Answer::Response("Menu".into()));
            let again = bot
                .handle_event(&key, Input::Message("1".into()), "$e1", 1_500, outgoing)
                .unwrap();
            assert!(again.is_none(), "a redelivered event is not answered again");
            let pending = bot.store().pending_replies("matrix").unwrap();
            assert_eq!(pending.len(), 1);
            assert_eq!(pending[0].reply, "to !room: Menu");
        }
        // A restart before the reply was marked sent: it is still queued, and the state is
        // the one after the first turn (`1` now picks the menu's first choice).
        let bot = bot(Arc::new(SqliteStore::open(&path).unwrap()));
        assert_eq!(bot.store().pending_replies("matrix").unwrap().len(), 1);
        bot.store().mark_sent("matrix", "$e1").unwrap();
        assert!(bot.store().pending_replies("matrix").unwrap().is_empty());
        let next = bot
            .handle_event(&key, Input::Message("1".into()), "$e2", 2_000, outgoing)
            .unwrap();
        assert_eq!(next.unwrap().answer, Answer::Response("Horaires".into()));
    }

    /// A click names its choice by id (`Input::Choice`): a new conversation has the
    /// welcome's choices in front of it, and after the idle reset a button of the old menu
    /// is out of date and gets the welcome.
    #[test]
    fn a_click_by_choice_id_sees_the_conversation_as_the_turn_does() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
        let bot = bot(store);
        let key = ConversationKey::direct("discord", "42");
        let mut rng = Rng::seeded(1);
        let welcome = bot.handle(&key, Input::Start, 1_000, &mut rng).unwrap();
        let fresh = ConversationKey::direct("discord", "43");
        let click = |id: &str| Input::Choice {
            id: id.to_owned(),
            at: 0,
        };
        let first = welcome.messages[0].choices[0].id.clone();
        let menu = bot.handle(&fresh, click(&first), 1_000, &mut rng).unwrap();
        assert_eq!(menu.answer, Answer::Response("Menu".into()));
        let hours = menu.messages[0].choices[0].id.clone();
        let later = bot
            .handle(&fresh, click(&hours), 3 * DAY_MS, &mut rng)
            .unwrap();
        assert_eq!(
            later.answer,
            Answer::Initial,
            "out of date after the idle reset"
        );
    }

    /// A platform's own command (Discord's `/role`) is the typed command's engine input: the
    /// welcome's choices that set a variable, alone, and a click on one sets it.
    #[test]
    fn the_profile_command_offers_the_welcome_choices_that_set_a_variable() {
        let bot = bot(Arc::new(MemoryStore::new()));
        let mut rng = Rng::seeded(1);
        let key = ConversationKey::direct("discord", "42");
        let welcome = bot.handle(&key, Input::Start, 1_000, &mut rng).unwrap();
        let profiles = bot
            .handle(&key, Input::Command(Command::Profile), 2_000, &mut rng)
            .unwrap();
        let typed = bot
            .handle(
                &key,
                Input::Message("!guichet role".into()),
                3_000,
                &mut rng,
            )
            .unwrap();
        assert_eq!(profiles, typed);
        assert_eq!(profiles.answer, Answer::Builtin("profile".into()));
        assert_eq!(
            profiles.messages[0].choices,
            vec![welcome.messages[0].choices[0].clone()]
        );
        let click = Input::Choice {
            id: profiles.messages[0].choices[0].id.clone(),
            at: 0,
        };
        let menu = bot.handle(&key, click, 4_000, &mut rng).unwrap();
        assert!(menu.messages[0].markdown.contains("Bonjour prof"));
    }

    #[test]
    fn idle_reset_and_forget_after() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
        let bot = bot(store.clone());
        let key = ConversationKey::direct("discord", "42");
        let mut rng = Rng::seeded(1);
        bot.handle(&key, Input::Message("1".into()), DAY_MS, &mut rng)
            .unwrap();
        // Two days later the position is back at the welcome: `1` is the role choice again.
        let reply = bot
            .handle(&key, Input::Message("1".into()), 3 * DAY_MS, &mut rng)
            .unwrap();
        assert_eq!(reply.answer, Answer::Response("Menu".into()));
        assert_eq!(
            bot.forget_unused(50 * DAY_MS, Duration::from_secs(90 * 86_400))
                .unwrap(),
            0
        );
        assert_eq!(
            bot.forget_unused(100 * DAY_MS, Duration::from_secs(90 * 86_400))
                .unwrap(),
            1
        );
        assert_eq!(store.conversation_count().unwrap(), 0);
    }

    /// Captures what is logged at INFO and above, where no user id or text may appear.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Issue 17, item 8: a record that could not be read was reset without a word. Now it
    /// is logged at WARN (no user id, no content) and counted; the person starts afresh as
    /// before, and the next save replaces the record with a readable one.
    #[test]
    fn an_unreadable_state_is_logged_counted_and_starts_afresh() {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
        let bot = bot(store.clone());
        let key = ConversationKey::direct("matrix", "@ana:example.org");
        let garbled = StoredConversation::new(r#"{"variables":{"secret":"mon secret""#, 1_000);
        store.save(&key, &garbled).unwrap();
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let reply = tracing::subscriber::with_default(subscriber, || {
            bot.handle(&key, Input::Message("1".into()), 2_000, &mut Rng::seeded(1))
                .unwrap()
        });
        // Afresh: `1` picks the welcome's first choice, as for a new person.
        assert_eq!(reply.answer, Answer::Response("Menu".into()));
        assert_eq!(bot.unreadable_states(), 1);
        let log = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("WARN"), "{log}");
        assert!(
            log.contains("a stored conversation cannot be read"),
            "{log}"
        );
        assert!(!log.contains("ana") && !log.contains("secret"), "{log}");
        // The record is readable again, and a new guichet's record is refused the same way.
        let saved = store.load(&key).unwrap().unwrap();
        assert!(Conversation::from_json(&saved.data).is_ok());
        let newer = StoredConversation::new(r#"{"version":99}"#, 3_000);
        store.save(&key, &newer).unwrap();
        bot.handle(&key, Input::Start, 3_000, &mut Rng::seeded(1))
            .unwrap();
        assert_eq!(bot.unreadable_states(), 2);
    }
}

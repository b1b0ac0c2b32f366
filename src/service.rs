//! The bot as adapters see it: one engine, one state store. An adapter hands over who spoke
//! where and what they did; the bot loads that conversation, asks the engine, saves the new
//! state, and returns the reply. Nothing here knows a platform.

use std::sync::{Arc, RwLock};
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
        }
    }

    /// The engine currently answering.
    pub fn engine(&self) -> Arc<Engine> {
        match self.engine.read() {
            Ok(engine) => engine.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Serves a new version of the knowledge base from the next message on.
    pub fn replace_engine(&self, engine: Engine) {
        match self.engine.write() {
            Ok(mut current) => *current = Arc::new(engine),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(engine),
        }
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
        let engine = self.engine();
        let mut conversation = match self.store.load(key)? {
            Some(stored) => Conversation::from_json(&stored.data),
            None => Conversation::default(),
        };
        let idle_ms = i64::try_from(self.idle_reset.as_millis()).unwrap_or(i64::MAX);
        let was_idle = conversation.reset_position_if_idle(now_ms, idle_ms);
        if conversation.updated_at == 0 || was_idle {
            // A user who speaks first has, as in ChatMD's page, the welcome's choices in front
            // of them.
            engine.prime(&mut conversation);
        }
        let reply = engine.reply(&mut conversation, input, rng);
        conversation.updated_at = now_ms;
        self.store.save(
            key,
            &StoredConversation::new(conversation.to_json(), now_ms),
        )?;
        Ok(reply)
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

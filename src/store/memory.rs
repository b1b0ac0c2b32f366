//! In-memory state store: the twin of the SQLite store for tests and for `guichet chat`,
//! where nothing needs to outlive the process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{ConversationKey, PendingReply, Result, StateStore, StoredConversation};

/// Keeps everything in one map per table behind one lock, so that
/// [`StateStore::commit_turn`] is atomic like its SQLite counterpart.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

// Hand-written so that no user id or conversation can reach a log through `{:?}`.
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Tables {
    conversations: HashMap<ConversationKey, StoredConversation>,
    /// (platform, event id) → claimed at, unix ms.
    events: HashMap<(String, String), i64>,
    meta: HashMap<String, String>,
    /// Queued replies, in commit order: (platform, reply).
    outbox: Vec<(String, PendingReply)>,
}

impl Tables {
    fn claim_event(&mut self, platform: &str, event_id: &str, now_ms: i64) -> bool {
        let id = (platform.to_owned(), event_id.to_owned());
        if self.events.contains_key(&id) {
            return false;
        }
        self.events.insert(id, now_ms);
        true
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // Every operation leaves the maps consistent before it can panic, so a lock poisoned
        // by a panicking adapter thread still guards valid data.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StateStore for MemoryStore {
    fn load(&self, key: &ConversationKey) -> Result<Option<StoredConversation>> {
        Ok(self.tables().conversations.get(key).cloned())
    }

    fn save(&self, key: &ConversationKey, conversation: &StoredConversation) -> Result<()> {
        self.tables()
            .conversations
            .insert(key.clone(), conversation.clone());
        Ok(())
    }

    fn commit_turn(
        &self,
        key: &ConversationKey,
        conversation: &StoredConversation,
        event_id: &str,
        reply: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tables = self.tables();
        if !tables.claim_event(&key.platform, event_id, now_ms) {
            return Ok(false);
        }
        tables
            .conversations
            .insert(key.clone(), conversation.clone());
        tables.outbox.push((
            key.platform.clone(),
            PendingReply {
                event_id: event_id.to_owned(),
                reply: reply.to_owned(),
                created_at: now_ms,
            },
        ));
        Ok(true)
    }

    fn mark_sent(&self, platform: &str, event_id: &str) -> Result<()> {
        self.tables()
            .outbox
            .retain(|(p, pending)| !(p == platform && pending.event_id == event_id));
        Ok(())
    }

    fn update_pending_reply(&self, platform: &str, event_id: &str, reply: &str) -> Result<()> {
        let mut tables = self.tables();
        let queued = tables
            .outbox
            .iter_mut()
            .find(|(p, pending)| p == platform && pending.event_id == event_id);
        if let Some((_, pending)) = queued {
            reply.clone_into(&mut pending.reply);
        }
        Ok(())
    }

    fn pending_replies(&self, platform: &str) -> Result<Vec<PendingReply>> {
        Ok(self
            .tables()
            .outbox
            .iter()
            .filter(|(p, _)| p == platform)
            .map(|(_, pending)| pending.clone())
            .collect())
    }

    fn delete(&self, key: &ConversationKey) -> Result<bool> {
        Ok(self.tables().conversations.remove(key).is_some())
    }

    fn forget_unused_since(&self, cutoff_ms: i64) -> Result<usize> {
        let mut tables = self.tables();
        let before = tables.conversations.len();
        tables
            .conversations
            .retain(|_, conversation| conversation.updated_at >= cutoff_ms);
        tables
            .outbox
            .retain(|(_, pending)| pending.created_at >= cutoff_ms);
        Ok(before - tables.conversations.len())
    }

    fn conversation_count(&self) -> Result<usize> {
        Ok(self.tables().conversations.len())
    }

    fn claim_event(&self, platform: &str, event_id: &str, now_ms: i64) -> Result<bool> {
        Ok(self.tables().claim_event(platform, event_id, now_ms))
    }

    fn event_claimed(&self, platform: &str, event_id: &str) -> Result<bool> {
        let id = (platform.to_owned(), event_id.to_owned());
        Ok(self.tables().events.contains_key(&id))
    }

    fn forget_events_before(&self, cutoff_ms: i64) -> Result<usize> {
        let mut tables = self.tables();
        let before = tables.events.len();
        tables
            .events
            .retain(|_, claimed_at| *claimed_at >= cutoff_ms);
        Ok(before - tables.events.len())
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self.tables().meta.get(key).cloned())
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.tables().meta.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;

    fn open() -> (MemoryStore, ()) {
        (MemoryStore::new(), ())
    }

    crate::store::store_behaviour_suite!(open);
}

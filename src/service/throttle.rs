//! The per-user throttle: a person who sends too much too fast is told once, then ignored
//! until their window has passed; everyone else is unaffected.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::ConversationKey;

/// Per-user throttle: more than `messages` within `window` gets one polite notice, then
/// silence until the window has passed. Others are unaffected.
#[derive(Debug)]
pub struct Throttle {
    messages: usize,
    window: Duration,
    recent: Mutex<HashMap<ConversationKey, (Vec<Instant>, bool)>>,
}

/// What the throttle says about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allow,
    /// Over the limit, first time in this window: tell the user once.
    Notify,
    /// Over the limit and already told: say nothing.
    Silent,
}

impl Throttle {
    pub fn new(messages: usize, window: Duration) -> Self {
        Self {
            messages: messages.max(1),
            window,
            recent: Mutex::new(HashMap::new()),
        }
    }

    pub fn admit(&self, key: &ConversationKey, now: Instant) -> Admission {
        let mut recent = match self.recent.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Keep the map small: drop users whose window has passed.
        if recent.len() > 10_000 {
            let window = self.window;
            recent.retain(|_, (times, _)| {
                times
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        let (times, told) = recent.entry(key.clone()).or_default();
        times.retain(|t| now.duration_since(*t) < self.window);
        if times.is_empty() {
            *told = false;
        }
        if times.len() >= self.messages {
            if *told {
                return Admission::Silent;
            }
            *told = true;
            return Admission::Notify;
        }
        times.push(now);
        Admission::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_notifies_once_then_is_silent_until_the_window_passes() {
        let throttle = Throttle::new(3, Duration::from_secs(10));
        let ana = ConversationKey::direct("matrix", "@ana:x");
        let bob = ConversationKey::direct("matrix", "@bob:x");
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                throttle.admit(&ana, t0 + Duration::from_millis(i)),
                Admission::Allow
            );
        }
        assert_eq!(
            throttle.admit(&ana, t0 + Duration::from_secs(1)),
            Admission::Notify
        );
        assert_eq!(
            throttle.admit(&ana, t0 + Duration::from_secs(2)),
            Admission::Silent
        );
        // Others are unaffected.
        assert_eq!(
            throttle.admit(&bob, t0 + Duration::from_secs(2)),
            Admission::Allow
        );
        // After the window, Ana is welcome again.
        assert_eq!(
            throttle.admit(&ana, t0 + Duration::from_secs(11)),
            Admission::Allow
        );
    }
}

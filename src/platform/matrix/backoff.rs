//! Capped exponential back-off with jitter, for reconnecting and resending: never a tight
//! loop, and many bots restarted together by one homeserver outage do not retry in step.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(first: Duration, cap: Duration) -> Self {
        Self {
            first,
            cap,
            attempt: 0,
        }
    }

    /// The next delay: `first`, doubling up to `cap`, each scaled by a random factor in
    /// [0.5, 1) so that the delay never exceeds the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.delay_for(self.attempt, random_unit());
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The delay of attempt `attempt` for a jitter draw `unit` in [0, 1).
    fn delay_for(&self, attempt: u32, unit: f64) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        let base = self.first.saturating_mul(factor).min(self.cap);
        base.mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0)
    }
}

/// A number in [0, 1), fresh on each call: `RandomState` is seeded randomly per instance,
/// which is all the randomness jitter needs (no dependency for it).
fn random_unit() -> f64 {
    let bits = RandomState::new().hash_one(0u8) >> 11;
    // 53 bits: exactly representable in an f64.
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_jitter_below_it() {
        let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
        let expected_bases = [500, 1000, 2000, 4000, 5000, 5000];
        for (attempt, base) in expected_bases.iter().enumerate() {
            let attempt = u32::try_from(attempt).unwrap();
            assert_eq!(
                backoff.delay_for(attempt, 0.0),
                Duration::from_millis(base / 2)
            );
            assert!(backoff.delay_for(attempt, 0.999_999) < Duration::from_millis(*base));
        }
        // Far attempts do not overflow.
        assert_eq!(
            backoff.delay_for(u32::MAX, 0.0),
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn draws_differ_and_stay_in_range() {
        let draws: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));

        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..10 {
            let delay = backoff.next_delay();
            assert!(delay >= Duration::from_millis(50) && delay < Duration::from_secs(1));
        }
        assert_eq!(backoff.attempts(), 10);
        backoff.reset();
        assert!(backoff.next_delay() < Duration::from_millis(100));
    }
}

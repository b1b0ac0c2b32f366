//! The status board: which adapters are connected and ready (for `/healthz`) and the
//! counters behind `/metrics` (Prometheus text format). Counts only, never who or what was said.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Reply latency buckets, in seconds (the engine answers in microseconds; the slow end is
/// for a struggling disk).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

#[derive(Debug, Default, Clone)]
struct PlatformCounters {
    received: u64,
    answered: u64,
    fallback: u64,
    latency_buckets: Vec<u64>,
    latency_sum: f64,
}

/// Whether a connected adapter serves everyone it should.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Readiness {
    /// Still setting up something it needs to serve well (Matrix: the first sync, and the
    /// device's cross-signing). `/healthz` answers 503 meanwhile.
    Starting,
    #[default]
    Ready,
    /// Serving, but not everyone: the reason says what is wrong and what to do. `/healthz`
    /// answers 200 (a restart would not help) and reports it.
    Degraded(String),
}

#[derive(Debug, Default, Clone)]
struct Adapter {
    connected: bool,
    readiness: Readiness,
}

impl Adapter {
    /// What `/healthz` says of it.
    fn state(&self) -> &'static str {
        match (&self.readiness, self.connected) {
            (Readiness::Starting, _) => "starting",
            (_, false) => "disconnected",
            (Readiness::Degraded(_), true) => "degraded",
            (Readiness::Ready, true) => "connected",
        }
    }

    /// Whether it answers as it should, or as well as it can (degraded): `/healthz` gives 200.
    fn serving(&self) -> bool {
        self.connected && self.readiness != Readiness::Starting
    }
}

#[derive(Debug, Default)]
struct Board {
    adapters: BTreeMap<String, Adapter>,
    platforms: BTreeMap<String, PlatformCounters>,
    /// Messages that could not be decrypted, by platform and reason.
    undecryptable: BTreeMap<(String, String), u64>,
    reloads_ok: u64,
    reloads_failed: u64,
}

#[derive(Debug)]
pub struct Status {
    board: Mutex<Board>,
    /// Messages for the admins (a refused reload): adapters that can reach an admin room
    /// subscribe and post them.
    admin_notices: tokio::sync::broadcast::Sender<String>,
}

impl Default for Status {
    fn default() -> Self {
        let (admin_notices, _) = tokio::sync::broadcast::channel(16);
        Self {
            board: Mutex::new(Board::default()),
            admin_notices,
        }
    }
}

impl Status {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the admins something (opt-in: only adapters configured with an admin room
    /// listen). Nothing about users goes here.
    pub fn notify_admins(&self, text: impl Into<String>) {
        // No subscriber is not an error: the admin room is optional.
        let _ = self.admin_notices.send(text.into());
    }

    /// Notices for the admins, from now on.
    pub fn admin_notices(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.admin_notices.subscribe()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Board) -> T) -> T {
        match self.board.lock() {
            Ok(mut board) => f(&mut board),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// An enabled adapter, not connected yet; ready as soon as it connects.
    pub fn register(&self, adapter: &str) {
        self.with(|b| {
            b.adapters.entry(adapter.to_string()).or_default();
        });
    }

    pub fn set_connected(&self, adapter: &str, connected: bool) {
        self.with(|b| {
            b.adapters.entry(adapter.to_string()).or_default().connected = connected;
        });
    }

    /// Whether a connected adapter serves everyone (see [`Readiness`]); an adapter that
    /// needs more than a connection registers, then sets [`Readiness::Starting`] at once.
    pub fn set_readiness(&self, adapter: &str, readiness: Readiness) {
        self.with(|b| {
            b.adapters.entry(adapter.to_string()).or_default().readiness = readiness;
        });
    }

    /// Every enabled adapter is connected and past its start: `/healthz` answers 200. A
    /// degraded adapter counts as serving (a restart would not mend it); its reason is in
    /// [`Status::health_json`].
    pub fn healthy(&self) -> bool {
        self.with(|b| b.adapters.values().all(Adapter::serving))
    }

    /// `{"status":"ok"|"starting"|"degraded","adapters":{"matrix":"connected",…},
    /// "reasons":{"matrix":"…"}}`: `starting` while an adapter sets up, `degraded` when one is
    /// disconnected or serves only part of its users (the reason says what to do).
    pub fn health_json(&self) -> String {
        self.with(|b| {
            let adapters: serde_json::Map<String, serde_json::Value> = b
                .adapters
                .iter()
                .map(|(name, adapter)| (name.clone(), serde_json::Value::from(adapter.state())))
                .collect();
            let reasons: serde_json::Map<String, serde_json::Value> = b
                .adapters
                .iter()
                .filter_map(|(name, adapter)| match &adapter.readiness {
                    Readiness::Degraded(reason) => {
                        Some((name.clone(), serde_json::Value::from(reason.as_str())))
                    }
                    _ => None,
                })
                .collect();
            let states: Vec<&str> = b.adapters.values().map(Adapter::state).collect();
            let status = if states.iter().all(|s| *s == "connected") {
                "ok"
            } else if states
                .iter()
                .any(|s| *s == "disconnected" || *s == "degraded")
            {
                "degraded"
            } else {
                "starting"
            };
            let mut health = serde_json::json!({ "status": status, "adapters": adapters });
            if !reasons.is_empty() {
                health["reasons"] = serde_json::Value::Object(reasons);
            }
            health.to_string()
        })
    }

    /// A message that could not be decrypted; `reason` is a short stable label
    /// (`missing_key`, `withheld`…).
    pub fn undecryptable(&self, platform: &str, reason: &str) {
        self.with(|b| {
            *b.undecryptable
                .entry((platform.to_string(), reason.to_string()))
                .or_default() += 1;
        });
    }

    pub fn message_received(&self, platform: &str) {
        self.with(|b| {
            b.platforms
                .entry(platform.to_string())
                .or_default()
                .received += 1
        });
    }

    pub fn answered(&self, platform: &str, fallback: bool, latency: Duration) {
        self.with(|b| {
            let c = b.platforms.entry(platform.to_string()).or_default();
            c.answered += 1;
            if fallback {
                c.fallback += 1;
            }
            if c.latency_buckets.is_empty() {
                c.latency_buckets = vec![0; LATENCY_BUCKETS.len()];
            }
            let seconds = latency.as_secs_f64();
            for (bucket, bound) in c.latency_buckets.iter_mut().zip(LATENCY_BUCKETS) {
                if seconds <= *bound {
                    *bucket += 1;
                }
            }
            c.latency_sum += seconds;
        });
    }

    pub fn reloaded(&self, ok: bool) {
        self.with(|b| {
            if ok {
                b.reloads_ok += 1;
            } else {
                b.reloads_failed += 1;
            }
        });
    }

    /// The Prometheus text exposition of every counter, with two figures the bot keeps: the
    /// conversations stored and the stored ones it could not read
    /// ([`crate::service::Bot::unreadable_states`]).
    pub fn metrics(&self, conversations: usize, unreadable_states: u64) -> String {
        self.with(|b| {
            let mut out = String::new();
            let mut counter = |name: &str, help: &str, value: &dyn Fn(&PlatformCounters) -> u64| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for (platform, c) in &b.platforms {
                    let _ = writeln!(out, "{name}{{platform=\"{platform}\"}} {}", value(c));
                }
            };
            counter("guichet_messages_received_total", "Messages received from users.", &|c| c.received);
            counter("guichet_messages_answered_total", "Messages answered.", &|c| c.answered);
            counter(
                "guichet_messages_fallback_total",
                "Messages answered with a fallback (nothing matched).",
                &|c| c.fallback,
            );
            let _ = writeln!(
                out,
                "# HELP guichet_reply_seconds Time from receiving a message to the reply being decided.\n# TYPE guichet_reply_seconds histogram"
            );
            for (platform, c) in &b.platforms {
                for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                    let count = c.latency_buckets.get(i).copied().unwrap_or(0);
                    let _ = writeln!(out, "guichet_reply_seconds_bucket{{platform=\"{platform}\",le=\"{bound}\"}} {count}");
                }
                let _ = writeln!(out, "guichet_reply_seconds_bucket{{platform=\"{platform}\",le=\"+Inf\"}} {}", c.answered);
                let _ = writeln!(out, "guichet_reply_seconds_sum{{platform=\"{platform}\"}} {}", c.latency_sum);
                let _ = writeln!(out, "guichet_reply_seconds_count{{platform=\"{platform}\"}} {}", c.answered);
            }
            let _ = writeln!(
                out,
                "# HELP guichet_reloads_total Knowledge-base reloads.\n# TYPE guichet_reloads_total counter\nguichet_reloads_total{{result=\"ok\"}} {}\nguichet_reloads_total{{result=\"failed\"}} {}",
                b.reloads_ok, b.reloads_failed
            );
            let _ = writeln!(
                out,
                "# HELP guichet_conversations Conversations stored.\n# TYPE guichet_conversations gauge\nguichet_conversations {conversations}"
            );
            let _ = writeln!(
                out,
                "# HELP guichet_state_unreadable_total Stored conversations that could not be read (garbled, or from a newer guichet); each person started afresh.\n# TYPE guichet_state_unreadable_total counter\nguichet_state_unreadable_total {unreadable_states}"
            );
            let _ = writeln!(
                out,
                "# HELP guichet_adapter_connected Whether each enabled adapter is connected.\n# TYPE guichet_adapter_connected gauge"
            );
            for (name, adapter) in &b.adapters {
                let _ = writeln!(out, "guichet_adapter_connected{{adapter=\"{name}\"}} {}", u8::from(adapter.connected));
            }
            let _ = writeln!(
                out,
                "# HELP guichet_adapter_ready Whether each enabled adapter serves everyone (0 while starting or degraded).\n# TYPE guichet_adapter_ready gauge"
            );
            for (name, adapter) in &b.adapters {
                let ready = adapter.connected && adapter.readiness == Readiness::Ready;
                let _ = writeln!(out, "guichet_adapter_ready{{adapter=\"{name}\"}} {}", u8::from(ready));
            }
            let _ = writeln!(
                out,
                "# HELP guichet_messages_undecryptable_total Encrypted messages the bot could not decrypt, by reason.\n# TYPE guichet_messages_undecryptable_total counter"
            );
            for ((platform, reason), count) in &b.undecryptable {
                let _ = writeln!(out, "guichet_messages_undecryptable_total{{platform=\"{platform}\",reason=\"{reason}\"}} {count}");
            }
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_and_metrics() {
        let status = Status::new();
        status.register("matrix");
        assert!(!status.healthy());
        assert!(status.health_json().contains("\"matrix\":\"disconnected\""));
        status.set_connected("matrix", true);
        assert!(status.healthy());
        status.message_received("matrix");
        status.answered("matrix", true, Duration::from_micros(300));
        status.reloaded(false);
        let metrics = status.metrics(7, 2);
        assert!(metrics.contains("guichet_messages_received_total{platform=\"matrix\"} 1"));
        assert!(metrics.contains("guichet_messages_fallback_total{platform=\"matrix\"} 1"));
        assert!(
            metrics.contains("guichet_reply_seconds_bucket{platform=\"matrix\",le=\"0.0005\"} 1")
        );
        assert!(metrics.contains("guichet_reloads_total{result=\"failed\"} 1"));
        assert!(metrics.contains("guichet_conversations 7"));
        assert!(metrics.contains(
            "# TYPE guichet_state_unreadable_total counter\nguichet_state_unreadable_total 2\n"
        ));
        let mut notices = status.admin_notices();
        status.notify_admins("reload refused");
        assert_eq!(notices.try_recv().unwrap(), "reload refused");
    }

    #[test]
    fn an_adapter_is_starting_until_ready_and_a_degraded_one_says_why() {
        let status = Status::new();
        status.register("discord");
        status.set_connected("discord", true);
        status.register("matrix");
        status.set_readiness("matrix", Readiness::Starting);
        status.set_connected("matrix", true);
        assert!(!status.healthy(), "connected but still starting");
        let health: serde_json::Value = serde_json::from_str(&status.health_json()).unwrap();
        assert_eq!(health["status"], "starting");
        assert_eq!(health["adapters"]["matrix"], "starting");
        assert_eq!(health["adapters"]["discord"], "connected");

        status.set_readiness("matrix", Readiness::Degraded("set recovery_key".into()));
        assert!(
            status.healthy(),
            "degraded still serves: a restart would not help"
        );
        let health: serde_json::Value = serde_json::from_str(&status.health_json()).unwrap();
        assert_eq!(health["status"], "degraded");
        assert_eq!(health["adapters"]["matrix"], "degraded");
        assert_eq!(health["reasons"]["matrix"], "set recovery_key");
        assert!(
            status
                .metrics(0, 0)
                .contains("guichet_adapter_ready{adapter=\"matrix\"} 0")
        );

        status.set_connected("matrix", false);
        assert!(!status.healthy());
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&status.health_json()).unwrap()["adapters"]["matrix"],
            "disconnected"
        );

        status.set_connected("matrix", true);
        status.set_readiness("matrix", Readiness::Ready);
        assert!(status.healthy());
        let health: serde_json::Value = serde_json::from_str(&status.health_json()).unwrap();
        assert_eq!(health["status"], "ok");
        assert!(health.get("reasons").is_none(), "{health}");
        assert!(
            status
                .metrics(0, 0)
                .contains("guichet_adapter_ready{adapter=\"matrix\"} 1")
        );
    }

    #[test]
    fn undecryptable_messages_are_counted_by_reason() {
        let status = Status::new();
        status.undecryptable("matrix", "missing_key");
        status.undecryptable("matrix", "missing_key");
        status.undecryptable("matrix", "withheld");
        let metrics = status.metrics(0, 0);
        assert!(metrics.contains(
            "guichet_messages_undecryptable_total{platform=\"matrix\",reason=\"missing_key\"} 2"
        ));
        assert!(metrics.contains(
            "guichet_messages_undecryptable_total{platform=\"matrix\",reason=\"withheld\"} 1"
        ));
    }
}

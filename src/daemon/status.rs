//! The daemon's status board: which adapters are connected (for `/healthz`) and the counters
//! behind `/metrics` (Prometheus text format). Counts only, never who or what was said.

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

#[derive(Debug, Default)]
struct Board {
    adapters: BTreeMap<String, bool>,
    platforms: BTreeMap<String, PlatformCounters>,
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

    /// An enabled adapter, not connected yet.
    pub fn register(&self, adapter: &str) {
        self.with(|b| {
            b.adapters.entry(adapter.to_string()).or_insert(false);
        });
    }

    pub fn set_connected(&self, adapter: &str, connected: bool) {
        self.with(|b| {
            b.adapters.insert(adapter.to_string(), connected);
        });
    }

    /// Every enabled adapter is connected.
    pub fn healthy(&self) -> bool {
        self.with(|b| b.adapters.values().all(|c| *c))
    }

    /// `{"status":"ok"|"degraded","adapters":{"matrix":"connected",…}}`
    pub fn health_json(&self) -> String {
        self.with(|b| {
            let adapters: serde_json::Map<String, serde_json::Value> = b
                .adapters
                .iter()
                .map(|(name, connected)| {
                    let state = if *connected {
                        "connected"
                    } else {
                        "disconnected"
                    };
                    (name.clone(), serde_json::Value::from(state))
                })
                .collect();
            let healthy = b.adapters.values().all(|c| *c);
            serde_json::json!({
                "status": if healthy { "ok" } else { "degraded" },
                "adapters": adapters,
            })
            .to_string()
        })
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

    /// The Prometheus text exposition of every counter.
    pub fn metrics(&self, conversations: usize) -> String {
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
                "# HELP guichet_adapter_connected Whether each enabled adapter is connected.\n# TYPE guichet_adapter_connected gauge"
            );
            for (name, connected) in &b.adapters {
                let _ = writeln!(out, "guichet_adapter_connected{{adapter=\"{name}\"}} {}", u8::from(*connected));
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
        let metrics = status.metrics(7);
        assert!(metrics.contains("guichet_messages_received_total{platform=\"matrix\"} 1"));
        assert!(metrics.contains("guichet_messages_fallback_total{platform=\"matrix\"} 1"));
        assert!(
            metrics.contains("guichet_reply_seconds_bucket{platform=\"matrix\",le=\"0.0005\"} 1")
        );
        assert!(metrics.contains("guichet_reloads_total{result=\"failed\"} 1"));
        assert!(metrics.contains("guichet_conversations 7"));
        let mut notices = status.admin_notices();
        status.notify_admins("reload refused");
        assert_eq!(notices.try_recv().unwrap(), "reload refused");
    }
}

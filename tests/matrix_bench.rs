//! The bot's own time on Matrix (issue 6, item 8): from the sync handing over an event to the
//! call that sends the answer, over 200 questions in a direct chat on the local Synapse.
//! Prints p50/p99 (`cargo test --release --test matrix_bench -- --nocapture` for the figures
//! worth quoting; a debug build is several times slower). Also measures the round trip a
//! person sees, for scale.
#![cfg(feature = "matrix")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Proving `Send` for a spawned matrix-sdk sync overflows the default limit.
#![recursion_limit = "256"]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::ruma::events::room::member::MembershipState;
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::{Layer, Registry};

use support::*;

const QUESTIONS: usize = 200;
const WARM_UP: usize = 5;
/// The adapter's latency event.
const TARGET: &str = "guichet::platform::matrix::latency";

/// Collects the `micros` field of the adapter's latency events.
#[derive(Clone, Default)]
struct Latencies(Arc<Mutex<Vec<u64>>>);

impl<S: tracing::Subscriber> Layer<S> for Latencies {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Micros(Option<u64>);
        impl Visit for Micros {
            fn record_u64(&mut self, field: &Field, value: u64) {
                if field.name() == "micros" {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
        }
        let mut micros = Micros(None);
        event.record(&mut micros);
        if let Some(micros) = micros.0 {
            self.0.lock().unwrap().push(micros);
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_time_from_event_to_send() {
    if skip() {
        return;
    }
    let latencies = Latencies::default();
    let subscriber = Registry::default().with(
        latencies
            .clone()
            .with_filter(Targets::new().with_target(TARGET, tracing::Level::DEBUG)),
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let dir = TestDir::new("bench");
    let synapse = Synapse::start(&dir.join("synapse"), RateLimits::RAISED).await;
    let bot_id = synapse.register("guichet", false).await;
    synapse.register("ana", false).await;
    let bot = InProcessBot::start(bot_settings(&synapse, "guichet"), &dir.join("bot"));
    let ana = Human::login(&synapse, "ana", &dir).await;
    let room = ana.create_room(&[&bot_id], true, false).await;
    ana.member(&room, &bot_id, MembershipState::Join).await;

    let mut round_trips = Vec::with_capacity(QUESTIONS);
    for i in 0..WARM_UP + QUESTIONS {
        if i == WARM_UP {
            latencies.0.lock().unwrap().clear();
        }
        let fruit = FRUITS[i % FRUITS.len()];
        let sent = Instant::now();
        ana.send(&room, fruit).await;
        let answer = ana.next_message(&room, &bot_id).await;
        assert_eq!(answer.body(), format!("Réponse : {fruit}."));
        if i >= WARM_UP {
            round_trips.push(u64::try_from(sent.elapsed().as_micros()).unwrap());
        }
    }
    bot.stop().await.unwrap();

    let mut own = latencies.0.lock().unwrap().clone();
    assert_eq!(own.len(), QUESTIONS, "one latency per answer");
    own.sort_unstable();
    round_trips.sort_unstable();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    report(&format!(
        "matrix bot time, event to send, {QUESTIONS} messages ({profile} build): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&own, 50.0) as f64 / 1000.0,
        percentile(&own, 99.0) as f64 / 1000.0,
        own.last().copied().unwrap_or(0) as f64 / 1000.0,
    ));
    report(&format!(
        "round trip as the person sees it (send, sync, answer, sync): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&round_trips, 50.0) as f64 / 1000.0,
        percentile(&round_trips, 99.0) as f64 / 1000.0,
    ));
    // The target (5 ms p99) is for a release build; this bound only catches a network call
    // or a blocking wait slipping into the path.
    let bound = if cfg!(debug_assertions) { 100 } else { 5 };
    assert!(
        percentile(&own, 99.0) <= Duration::from_millis(bound).as_micros() as u64,
        "p99 above {bound} ms"
    );
}

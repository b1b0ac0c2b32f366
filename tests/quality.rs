//! Answer quality on messages labelled by hand, per knowledge base: our own `content/` with
//! `tests/fixtures/questions.json`, and three real ChatMD bases written by other people with
//! messages labelled blind, before any engine ran (`tests/data/quality/`, see its README);
//! then, as a spot check held to no floor, six school bases we wrote blind to the engine
//! (`tests/data/probes/`).
//!
//! For each base and mode it prints top-1 accuracy per category, how many messages got a
//! "Vouliez-vous dire", the fallback or a wrong response, and how off-topic messages fared;
//! then it holds guichet mode to the floors below. `cargo test --test quality -- --nocapture`
//! prints the tables; `GUICHET_QUALITY_MISSES=1` adds every miss.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use guichet::engine::{Answer, Conversation, Engine, Input, MatchingMode, Rng};
use guichet::strings::Strings;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    input: String,
    #[serde(default)]
    history: Vec<String>,
    expected: String,
    #[serde(default)]
    acceptable: Vec<String>,
    category: String,
}

/// One knowledge base and its labelled messages.
#[derive(Debug)]
struct Base {
    name: &'static str,
    main: &'static str,
    cases: &'static str,
}

/// School bases we wrote blind to the engine (`tests/data/probes/`, see its README): printed
/// in guichet mode beside the corpus, held to no floor (they are ours).
const SPOT_CHECKS: &[Base] = &[
    Base {
        name: "staff (ours, blind)",
        main: "tests/data/probes/staff",
        cases: "tests/data/probes/staff.json",
    },
    Base {
        name: "families (ours, blind)",
        main: "tests/data/probes/families",
        cases: "tests/data/probes/families.json",
    },
    Base {
        name: "method (ours, blind)",
        main: "tests/data/probes/method",
        cases: "tests/data/probes/method.json",
    },
    Base {
        name: "numerique (ours, blind)",
        main: "tests/data/probes/numerique",
        cases: "tests/data/probes/numerique.json",
    },
    Base {
        name: "viesco (ours, blind)",
        main: "tests/data/probes/viesco",
        cases: "tests/data/probes/viesco.json",
    },
    Base {
        name: "lycee-pro (ours, blind)",
        main: "tests/data/probes/lycee-pro",
        cases: "tests/data/probes/lycee-pro.json",
    },
];

/// The bases of the corpus turn content search (`rechercheContenu`) on; many authors leave it
/// off. Each is also measured with it off, the same file otherwise: the matching must not
/// rely on a setting authors do not choose for it.
const WITHOUT_CONTENT_SEARCH: &[&str] = &["macarte", "eolien", "chirobot"];

const BASES: &[Base] = &[
    Base {
        name: "content",
        main: "content",
        cases: "tests/fixtures/questions.json",
    },
    Base {
        name: "macarte",
        main: "tests/data/quality/macarte/docs/chat.md",
        cases: "tests/data/quality/macarte.json",
    },
    Base {
        name: "eolien",
        main: "tests/data/quality/eolien/eolien_suivis_enviro",
        cases: "tests/data/quality/eolien.json",
    },
    Base {
        name: "chirobot",
        main: "tests/data/quality/chirobot/chirobot-sons",
        cases: "tests/data/quality/chirobot.json",
    },
];

/// Every fourth case (by position in its file) was kept aside while the matching was tuned,
/// and is reported on its own: a drop there against the rest would mean the tuning fits the
/// cases it saw rather than the bases.
fn held_out(position: usize) -> bool {
    position % 4 == 3
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    total: usize,
    right: usize,
    did_you_mean: usize,
    fallback: usize,
    wrong: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Right => self.right += 1,
            Outcome::DidYouMean => self.did_you_mean += 1,
            Outcome::Fallback => self.fallback += 1,
            Outcome::Wrong => self.wrong += 1,
        }
    }

    fn top1(&self) -> f64 {
        percent(self.right, self.total)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Right,
    DidYouMean,
    Fallback,
    Wrong,
}

#[derive(Debug, Default)]
struct Report {
    overall: Tally,
    tuned: Tally,
    held_out: Tally,
    categories: BTreeMap<String, Tally>,
    /// Messages about something the base does not cover (category `offtopic`).
    off_topic: Tally,
    empty: Vec<String>,
    misses: Vec<String>,
}

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn run(base: &Base, mode: MatchingMode, content_search: Option<bool>) -> Report {
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(path(base.cases)).unwrap()).unwrap();
    let (mut kb, _) = guichet::kb::load(&path(base.main)).unwrap();
    if let Some(on) = content_search {
        kb.settings.content_search = on;
    }
    let engine = Engine::new(Arc::new(kb), mode, Strings::default());
    let mut report = Report::default();
    for (n, case) in cases.iter().enumerate() {
        let mut conversation = Conversation::default();
        let mut rng = Rng::seeded(n as u64);
        engine.reply(&mut conversation, Input::Start, &mut rng);
        for step in &case.history {
            engine.reply(&mut conversation, Input::Text(step.clone()), &mut rng);
        }
        let reply = engine.reply(&mut conversation, Input::Text(case.input.clone()), &mut rng);
        let got = reply.answer.name().to_string();
        let outcome = if got == case.expected || case.acceptable.contains(&got) {
            Outcome::Right
        } else {
            match &reply.answer {
                Answer::DidYouMean(_) => Outcome::DidYouMean,
                Answer::Fallback { .. } => Outcome::Fallback,
                _ => Outcome::Wrong,
            }
        };
        let empty = reply
            .messages
            .iter()
            .all(|m| m.markdown.trim().is_empty() && m.choices.is_empty());
        if empty {
            report.empty.push(format!("{:?} -> {got}", case.input));
        }
        report.overall.add(outcome);
        if held_out(n) {
            report.held_out.add(outcome);
        } else {
            report.tuned.add(outcome);
        }
        report
            .categories
            .entry(case.category.clone())
            .or_default()
            .add(outcome);
        if case.category == "offtopic" || case.category == "off-topic" {
            report.off_topic.add(outcome);
        }
        if outcome != Outcome::Right {
            let detail = match &reply.answer {
                Answer::DidYouMean(titles) => format!("DID_YOU_MEAN {titles:?}"),
                _ => got.clone(),
            };
            report.misses.push(format!(
                "[{}] {:?} (after {:?}): got {detail}, expected {}",
                case.category, case.input, case.history, case.expected
            ));
        }
    }
    report
}

fn percent(part: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * part as f64 / total as f64
    }
}

fn print(base: &str, mode: &str, report: &Report) {
    println!("\n== {base}, {mode} mode");
    println!("| category | cases | top-1 | did you mean | fallback | wrong |");
    println!("|---|---:|---:|---:|---:|---:|");
    let row = |name: &str, t: &Tally| {
        println!(
            "| {name} | {} | {:.1} % | {} | {} | {} |",
            t.total,
            t.top1(),
            t.did_you_mean,
            t.fallback,
            t.wrong
        );
    };
    for (category, tally) in &report.categories {
        row(category, tally);
    }
    row("**all**", &report.overall);
    println!(
        "top-1 on the cases seen while tuning {:.1} %, on the cases kept aside {:.1} %",
        report.tuned.top1(),
        report.held_out.top1()
    );
    let off = &report.off_topic;
    println!(
        "off-topic: {} messages, {} given a wrong response ({:.1} %), {} given a response or \
         a \"did you mean\" ({:.1} %); empty answers: {}",
        off.total,
        off.wrong,
        percent(off.wrong, off.total),
        off.wrong + off.did_you_mean,
        percent(off.wrong + off.did_you_mean, off.total),
        report.empty.len()
    );
    if std::env::var_os("GUICHET_QUALITY_MISSES").is_some() {
        for miss in &report.misses {
            println!("  miss: {miss}");
        }
    }
}

/// The goal for guichet mode on every base: 90 % top-1, at most 3 % of off-topic messages
/// given a wrong response and 10 % given any response or a "did you mean". Not reached yet
/// on the bases written by other people (see docs/matching.md): the test holds the matching
/// to the floors below, the same for every base, which sit just under what it reaches today
/// so that no change can lose ground unnoticed. Raise them as the matching improves.
const GOAL_TOP1: f64 = 90.0;
const MIN_TOP1: f64 = 80.0;
const MAX_OFF_TOPIC_WRONG: f64 = 14.0;
const MAX_OFF_TOPIC_ANSWERED: f64 = 14.0;

#[test]
fn answer_quality_on_every_base() {
    let mut failures = Vec::new();
    let variants = BASES.iter().map(|b| (b, None)).chain(
        BASES
            .iter()
            .filter(|b| WITHOUT_CONTENT_SEARCH.contains(&b.name))
            .map(|b| (b, Some(false))),
    );
    for (base, content_search) in variants {
        let name = match content_search {
            Some(false) => format!("{} (content search off)", base.name),
            _ => base.name.to_string(),
        };
        let chatmd = run(base, MatchingMode::Chatmd, content_search);
        print(&name, "chatmd", &chatmd);
        let guichet = run(base, MatchingMode::Guichet, content_search);
        print(&name, "guichet", &guichet);
        assert!(guichet.overall.total >= 100, "{}: too few cases", name);
        if !guichet.empty.is_empty() {
            failures.push(format!("{}: empty answers {:?}", name, guichet.empty));
        }
        let top1 = guichet.overall.top1();
        if top1 < GOAL_TOP1 {
            println!(
                "{}: top-1 {top1:.1} %, under the goal of {GOAL_TOP1} %",
                name
            );
        }
        if top1 < MIN_TOP1 {
            failures.push(format!("{}: top-1 {top1:.1} % < {MIN_TOP1} %", name));
        }
        let off = &guichet.off_topic;
        let wrong = percent(off.wrong, off.total);
        if wrong > MAX_OFF_TOPIC_WRONG {
            failures.push(format!(
                "{}: {wrong:.1} % of off-topic messages given a wrong response",
                name
            ));
        }
        let answered = percent(off.wrong + off.did_you_mean, off.total);
        if answered > MAX_OFF_TOPIC_ANSWERED {
            failures.push(format!(
                "{}: {answered:.1} % of off-topic messages given a response or a \"did you mean\"",
                name
            ));
        }
    }
    for base in SPOT_CHECKS {
        print(base.name, "chatmd", &run(base, MatchingMode::Chatmd, None));
        let guichet = run(base, MatchingMode::Guichet, None);
        print(base.name, "guichet", &guichet);
        if !guichet.empty.is_empty() {
            failures.push(format!("{}: empty answers {:?}", base.name, guichet.empty));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

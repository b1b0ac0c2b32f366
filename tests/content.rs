//! The knowledge base guichet ships (`content/`): it loads cleanly, every response is reachable
//! from the welcome message, every target exists, and no answer is ever empty, whatever the
//! user's role (or before they chose one).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use guichet::engine::{Conversation, Engine, Input, MatchingMode, Rng};
use guichet::kb::{self, KnowledgeBase, Target};
use guichet::strings::Strings;

fn content() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("content")
}

fn load() -> KnowledgeBase {
    kb::load(&content()).unwrap().0
}

#[test]
fn checks_clean_with_no_warning() {
    let checked = kb::check_path(&content()).unwrap();
    assert_eq!(checked.error_count(), 0, "{}", checked.report());
    assert_eq!(checked.warning_count(), 0, "{}", checked.report());
    let kb = checked.kb.unwrap();
    assert!(kb.responses.len() >= 45, "{} responses", kb.responses.len());
    for r in &kb.responses {
        let positive = r.keywords.iter().filter(|k| !k.is_negative()).count();
        assert!(positive >= 3, "`{}` has {positive} keywords", r.title);
    }
}

#[test]
fn every_response_is_reachable_and_every_target_exists() {
    let kb = load();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<&kb::Message> = VecDeque::from([&kb.welcome]);
    while let Some(message) = queue.pop_front() {
        let targets = message
            .choices
            .iter()
            .filter_map(|c| match &c.target {
                Target::Response(t) => Some(t.clone()),
                _ => None,
            })
            .chain(message.links.iter().map(|l| l.target.clone()));
        for target in targets {
            let index = kb
                .response_index(&target)
                .unwrap_or_else(|| panic!("`{target}` names no response"));
            if seen.insert(target) {
                queue.push_back(&kb.responses[index].message);
            }
        }
    }
    let unreachable: Vec<&str> = kb
        .responses
        .iter()
        .map(|r| r.title.as_str())
        .filter(|t| !seen.contains(*t))
        .collect();
    assert!(
        unreachable.is_empty(),
        "unreachable from the welcome: {unreachable:?}"
    );
}

#[test]
fn every_menu_offers_a_way_back_and_labels_fit_a_button() {
    let kb = load();
    for r in kb
        .responses
        .iter()
        .filter(|r| !r.message.choices.is_empty())
    {
        let back = r.message.choices.iter().any(|c| match &c.target {
            Target::Welcome => true,
            Target::Response(t) => {
                t.starts_with("Menu") || t.contains("sujets") || t == "Choisir mon profil"
            }
            Target::Url(_) => false,
        });
        assert!(back, "`{}` has choices but no way back", r.title);
        for c in &r.message.choices {
            assert!(
                c.label.chars().count() <= 80,
                "label too long for a button: {}",
                c.label
            );
        }
    }
}

#[test]
fn no_answer_is_empty_for_any_role() {
    let kb = Arc::new(load());
    let engine = Engine::new(kb.clone(), MatchingMode::Chatmd, Strings::default());
    for role in [
        None,
        Some("enseignant"),
        Some("referent"),
        Some("direction"),
        Some("autre"),
    ] {
        for response in &kb.responses {
            let mut conversation = Conversation::default();
            if let Some(role) = role {
                conversation.variables.insert("role".into(), role.into());
            }
            let reply = engine
                .show_title(&mut conversation, &response.title, &mut Rng::seeded(1))
                .unwrap();
            let text: String = reply.messages.iter().map(|m| m.markdown.as_str()).collect();
            assert!(
                !text.trim().is_empty(),
                "`{}` is empty for role {role:?}",
                response.title
            );
        }
    }
}

#[test]
fn every_response_names_its_seed_source() {
    let kb = load();
    for r in &kb.responses {
        let last = r.message.lines.last().map(|l| l.text.trim()).unwrap_or("");
        assert!(
            last.starts_with("<!-- source:") && last.ends_with("-->"),
            "`{}` does not end with its source: {last}",
            r.title
        );
    }
}

#[test]
fn role_choice_changes_the_answer() {
    let kb = Arc::new(load());
    let engine = Engine::new(kb, MatchingMode::Chatmd, Strings::default());
    let mut answers = BTreeSet::new();
    for role in ["enseignant", "direction"] {
        let mut conversation = Conversation::default();
        conversation.variables.insert("role".into(), role.into());
        let reply = engine.reply(
            &mut conversation,
            Input::Text("accès pix orga".into()),
            &mut Rng::seeded(1),
        );
        answers.insert(
            reply
                .messages
                .iter()
                .map(|m| m.markdown.clone())
                .collect::<String>(),
        );
    }
    assert_eq!(
        answers.len(),
        2,
        "teacher and management should read different answers"
    );
}

/// What `title` says to a user of `role` (`None`: no role chosen yet).
fn text_for(engine: &Engine, role: Option<&str>, title: &str) -> String {
    let mut conversation = Conversation::default();
    if let Some(role) = role {
        conversation.variables.insert("role".into(), role.into());
    }
    let reply = engine
        .show_title(&mut conversation, title, &mut Rng::seeded(1))
        .unwrap();
    reply.messages.iter().map(|m| m.markdown.as_str()).collect()
}

/// Issue 18, item 11: every answer is right for the role that reads it (the PIX referent is
/// never sent to "the PIX referent", a CPE never to "la vie scolaire"), and no answer talks
/// about the documents the base was written from.
#[test]
fn answers_suit_their_reader_and_never_cite_their_sources() {
    let kb = Arc::new(load());
    let engine = Engine::new(kb.clone(), MatchingMode::Chatmd, Strings::default());
    let source_notes = [
        "ancien guide",
        "guide de 2020",
        "guide d'activation",
        "« période 7 »",
        "dans le document",
        "bot des enseignants",
        "bot pix",
        "document académique",
    ];
    let to_the_referent = [
        "au référent pix",
        "auprès du référent pix",
        "par le référent pix",
        "avec le référent pix",
        "le référent pix vous",
        "le référent pix ou la direction",
    ];
    for response in &kb.responses {
        for role in [
            None,
            Some("enseignant"),
            Some("referent"),
            Some("direction"),
            Some("autre"),
        ] {
            let text = text_for(&engine, role, &response.title).to_lowercase();
            for note in source_notes {
                assert!(
                    !text.contains(note),
                    "`{}` ({role:?}) talks about its sources: {note}",
                    response.title
                );
            }
        }
        let text = text_for(&engine, Some("referent"), &response.title).to_lowercase();
        for sending in to_the_referent {
            assert!(
                !text.contains(sending),
                "`{}` sends the PIX referent to the PIX referent: {sending}",
                response.title
            );
        }
        let text = text_for(&engine, Some("direction"), &response.title).to_lowercase();
        assert!(
            !text.contains("ou à la direction") && !text.contains("la direction vous"),
            "`{}` sends the direction to the direction",
            response.title
        );
    }
    for fallback in kb.settings.default_messages.iter().flatten() {
        assert!(
            !fallback.contains("vie scolaire"),
            "a fallback sends the vie scolaire (a CPE, an AED) to the vie scolaire: {fallback}"
        );
    }
}

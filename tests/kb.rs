//! Knowledge-base reading on real files: the shared golden bases, the seed excerpt of a live
//! staff bot, and arbitrary input (never a panic, errors always point at a real line).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::Path;

use guichet::kb::{self, Severity};
use proptest::prelude::*;

fn data(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

#[test]
fn golden_bases_parse_without_error_or_warning() {
    for name in [
        "mediatheque",
        "vacances",
        "aide-info-on",
        "aide-info-off",
        "helpdesk-en",
        "ngram-words",
    ] {
        let (kb, warnings) = kb::load(&data(&format!("golden/{name}.md"))).unwrap();
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        assert!(!kb.responses.is_empty(), "{name}");
    }
    let (kb, _) = kb::load(&data("golden/mediatheque.md")).unwrap();
    assert_eq!(kb.title, "Médiathèque municipale");
    assert_eq!(kb.welcome.choices.len(), 3);
    assert_eq!(kb.settings.default_messages.as_ref().map(Vec::len), Some(3));
    let titles: Vec<&str> = kb.responses.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Horaires",
            "Dimanche",
            "Emprunt",
            "Prolongation",
            "Inscription",
            "Wifi et ordinateurs",
            "Contact"
        ]
    );
    assert!(
        kb::load(&data("golden/aide-info-on.md"))
            .unwrap()
            .0
            .settings
            .content_search
    );
}

#[test]
fn seed_excerpt_parses_and_lists_its_dangling_targets() {
    let checked = kb::check_path(&data("seeds/staff-pix-excerpt.md")).unwrap();
    assert_eq!(checked.error_count(), 0, "{}", checked.report());
    let kb = checked.kb.as_ref().unwrap();
    assert_eq!(kb.responses.len(), 8);
    let report = checked.report();
    // Lines as in the seed file: a choice (16) and a `#` link (119) that lead nowhere.
    assert!(report.contains("staff-pix-excerpt.md:16: warning: the choice `Un élève n'arrive pas à se connecter, que faire ?` leads to `profs_connexionelevepix`"), "{report}");
    assert!(
        report
            .contains("staff-pix-excerpt.md:119: warning: the link `[spécial 6ème](#profs_pix6e)`"),
        "{report}"
    );
    assert!(
        report.contains("staff-pix-excerpt.md:1: note: no `# ` title"),
        "{report}"
    );
    // Conditions were read as such: every response has its `if @type_user==profs` block.
    assert!(kb.responses.iter().all(|r| {
        r.message
            .variants
            .iter()
            .flatten()
            .any(|n| matches!(n, kb::Node::If { .. }))
    }));
}

fn guichet() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
}

#[test]
fn check_command_exit_codes_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.md");
    std::fs::write(
        &bad,
        "---\ncontenuDynamique: true\n---\n# Bot\nBonjour\n1. [A](A)\n## A\n- aaa\n`if @x==1`\ntexte\n",
    )
    .unwrap();
    let out = guichet().arg("check").arg(&bad).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("bad.md:9: error: `if @x==1` is never closed"),
        "{stdout}"
    );
    assert!(stdout.contains("1 error"), "{stdout}");

    let warn = dir.path().join("warn.md");
    std::fs::write(&warn, "# Bot\n1. [A](B)\n## A\n- aaa\n").unwrap();
    let out = guichet().arg("check").arg(&warn).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("warn.md:2: warning:"));
    let out = guichet()
        .args(["check", "--deny-warnings"])
        .arg(&warn)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let out = guichet()
        .arg("check")
        .arg(dir.path().join("missing.md"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.md"));
}

#[test]
fn folder_with_includes_by_url() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.md"),
        "---\ninclude:\n  - https://forge.example/bot/-/raw/main/Topic.md\n  - Topic.md\n---\n# Bot\nBonjour\n1. [T](Sujet)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("Topic.md"), "## Sujet\n- sujet\nTexte\n").unwrap();
    let (kb, _) = kb::load(dir.path()).unwrap();
    // Included twice, as ChatMD does: two responses with the same title.
    assert_eq!(kb.responses.len(), 2);
    assert_eq!(kb.files.len(), 3);
    assert_eq!(
        kb.file_path(kb.responses[1].location.file)
            .file_name()
            .unwrap(),
        "Topic.md"
    );
}

/// Pieces of ChatMD syntax, valid and broken, to mix at random.
fn chatmd_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("---".to_string()),
        Just("contenuDynamique: true".to_string()),
        Just("# Titre".to_string()),
        Just("## Réponse".to_string()),
        Just("## ".to_string()),
        Just("- mot clé".to_string()),
        Just("- ! négatif".to_string()),
        Just("- ".to_string()),
        Just(String::new()),
        Just("1. [Choix @role=prof](Réponse)".to_string()),
        Just("2) [](#ancre-x)".to_string()),
        Just("1. [x] (y)".to_string()),
        Just("`if @role==prof`".to_string()),
        Just("`if (@a > 3 && `".to_string()),
        Just("`endif`".to_string()),
        Just("`@v = calc(@n + 1)`".to_string()),
        Just("`@v = @INPUT : Réponse`".to_string()),
        Just("!Next: Réponse / ignoreKeywords".to_string()),
        Just("!SelectNext: a / b".to_string()),
        Just(":::info collapsible Titre".to_string()),
        Just(":::".to_string()),
        Just("<section class=\"unique\">".to_string()),
        Just("</section>".to_string()),
        Just("@{_x}@{y}".to_string()),
        Just("voir [ici](#Réponse)".to_string()),
        "[^\n]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let checked = kb::parse_str("any.md", &text);
        assert_lines_exist(&checked, &text);
    }

    #[test]
    fn random_chatmd_never_panics(pieces in prop::collection::vec(chatmd_piece(), 0..40)) {
        let text = pieces.join("\n");
        let checked = kb::parse_str("mix.md", &text);
        assert_lines_exist(&checked, &text);
    }
}

fn assert_lines_exist(checked: &kb::Checked, text: &str) {
    // Lines as an editor shows them: CR and CRLF end lines too.
    let lines = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .count()
        .max(1) as u32;
    for d in &checked.diagnostics {
        if let Some(loc) = d.location {
            assert!(
                loc.line >= 1 && loc.line <= lines,
                "{d:?} points outside {lines} lines"
            );
        }
        if d.severity == Severity::Error {
            assert!(d.location.is_some(), "error without a line: {d:?}");
        }
    }
}

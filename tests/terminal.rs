//! The `guichet` binary driven through stdin on `content/`, as a person would use it: choose
//! a role, pick by number and by label, ask a free question, go back to the menu.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::Write;
use std::process::{Command, Stdio};

fn chat(script: &str, args: &[&str]) -> String {
    let (ok, stdout, stderr) = run_bytes(args, script.as_bytes());
    assert!(ok, "{stderr}");
    stdout
}

/// The reply blocks: with stdin not a terminal, each reply ends with two empty lines and no
/// prompt is printed.
fn blocks(output: &str) -> Vec<&str> {
    output
        .split("\n\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect()
}

#[test]
fn a_teacher_session_in_the_terminal() {
    let output = chat(
        "1\n3\nDemander une invitation à Pix Orga\nque faire si un élève n'est pas certifiable ?\nmenu\n/quit\nnever read\n",
        &[],
    );
    assert!(
        !output.contains("> "),
        "no prompt when stdin is not a terminal"
    );
    let blocks = blocks(&output);
    assert_eq!(blocks.len(), 6, "{output}");
    // Welcome: the role question as a numbered menu.
    assert!(
        blocks[0].contains("dites-moi d'abord qui vous êtes"),
        "{}",
        blocks[0]
    );
    assert!(
        blocks[0].contains("1. Je suis enseignant·e"),
        "{}",
        blocks[0]
    );
    // `1` picks the teacher role and its menu.
    assert!(blocks[1].starts_with("Menu enseignant·e."), "{}", blocks[1]);
    assert!(
        blocks[1].contains("3. Accéder à Pix Orga (demander une invitation)"),
        "{}",
        blocks[1]
    );
    // `3` by number: the answer has the teacher-only part, proof the role was set.
    assert!(
        blocks[2].contains("Pour vous, enseignant·e"),
        "{}",
        blocks[2]
    );
    assert!(!blocks[2].contains("Pour la direction"), "{}", blocks[2]);
    // A label typed instead of a number.
    assert!(
        blocks[3].contains("votre invitation reste « en attente »"),
        "{}",
        blocks[3]
    );
    // A free question.
    assert!(
        blocks[4].contains("5 compétences au niveau 1"),
        "{}",
        blocks[4]
    );
    // Back to the menu of every topic.
    assert!(blocks[5].contains("Voici tous les sujets"), "{}", blocks[5]);
    assert!(!output.contains("never read"));
}

#[test]
fn help_and_profile_commands_in_the_terminal() {
    let output = chat(
        "1\n!guichet aide\n!guichet role\n2\n",
        &["chat", "content", "--seed", "1"],
    );
    let blocks = blocks(&output);
    assert!(blocks[2].contains("!guichet role"), "{}", blocks[2]);
    assert!(
        blocks[3].contains("Choisissez votre profil"),
        "{}",
        blocks[3]
    );
    assert!(
        blocks[3].contains("1. Je suis enseignant·e"),
        "{}",
        blocks[3]
    );
    assert!(!blocks[3].contains("Voir tous les sujets"), "{}", blocks[3]);
    assert!(
        blocks[4].starts_with("Menu référent·e PIX"),
        "{}",
        blocks[4]
    );
}

#[test]
fn reset_starts_over_and_forgets_the_role() {
    let output = chat("1\n/reset\n3\n", &["chat", "content", "--seed", "1"]);
    let blocks = blocks(&output);
    assert_eq!(blocks.len(), 4, "{output}");
    assert!(
        blocks[2].contains("dites-moi d'abord qui vous êtes"),
        "{}",
        blocks[2]
    );
    // After /reset, `3` is the welcome's third choice: management.
    assert!(blocks[3].starts_with("Menu direction"), "{}", blocks[3]);
}

#[test]
fn replay_writes_one_json_line_per_message() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args([
            "replay",
            "--mode",
            "chatmd",
            "tests/data/golden/mediatheque.md",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"{\"input\": \"Et le dimanche ?\", \"history\": [\"horaires\"]}\nhorraires\n1\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["answer"], "Dimanche");
    assert_eq!(lines[0]["path"], "option");
    assert_eq!(lines[0]["history_answers"][0], "Horaires");
    assert_eq!(lines[1]["answer"], "Horaires");
    assert_eq!(lines[1]["score"], 6.657143);
    // ChatMD does not pick choices by number: `1` falls back.
    assert_eq!(lines[2]["answer"], "FALLBACK");
}

#[test]
fn replay_in_guichet_mode_picks_numbers_and_says_when_unsure() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(["replay", "--mode", "guichet", "content"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            "{\"input\": \"2\", \"history\": [\"Je suis enseignant·e\"]}\n99\nmenu de la cantine\n"
                .as_bytes(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["answer"], "Le rôle de l'enseignant avec PIX");
    assert_eq!(lines[0]["path"], "pick");
    // Out of range: the menu again.
    assert_eq!(lines[1]["path"], "number");
    assert!(lines[1]["text"].as_str().unwrap().contains("entre 1 et"));
    assert!(!lines[1]["choices"].as_array().unwrap().is_empty());
    assert_eq!(lines[2]["answer"], "FALLBACK");
}

/// Runs the binary with raw bytes on stdin; returns (success, stdout, stderr).
fn run_bytes(args: &[&str], input: &[u8]) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 14, item 13: one line of invalid UTF-8 ended `chat` (and the terminal daemon) with
/// "stream did not contain valid UTF-8". It is skipped with a word on stderr.
#[test]
fn a_line_that_is_not_utf8_is_skipped_and_the_chat_goes_on() {
    let (ok, output, stderr) = run_bytes(
        &["chat", "content", "--seed", "1"],
        b"1\n\xff\xfe caf\xe9\n3\n",
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    let blocks = blocks(&output);
    // Welcome, `1`, then `3` still answered after the skipped line.
    assert_eq!(blocks.len(), 3, "{output}");
    assert!(
        blocks[2].contains("Pour vous, enseignant·e"),
        "{}",
        blocks[2]
    );
}

/// Issue 14, item 13: one malformed line stopped `replay` (exit 2) and the lines after it
/// were never replayed. Each bad line now has an error line in its place.
#[test]
fn replay_reports_a_malformed_line_and_goes_on() {
    let (ok, output, stderr) = run_bytes(
        &["replay", "--mode", "chatmd", "tests/data/golden/mediatheque.md"],
        b"{\"input\": \"horaires\"\n{\"input\": \"\\ud800\"}\n\xff\xfe\n{\"input\": 5}\nhorraires\n",
    );
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> = output
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{output}");
    for (index, line) in lines[..4].iter().enumerate() {
        assert_eq!(line["line"], index + 1, "{line}");
        assert!(
            line["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{line}"
        );
    }
    assert_eq!(lines[4]["answer"], "Horaires");
}

//! `guichet check`: the author-facing warnings on top of parse errors — the mistakes that make
//! ChatMD silently do odd things (dangling targets, keywords that stopped being keywords…).

use std::collections::{BTreeSet, HashMap, HashSet};

use super::body::{self, Condition, Directive, Node};
use super::diagnostic::{SuggestionBudget, Suggestions};
use super::parse::{self, ParseFacts};
use super::source::Assembled;
use super::{Checked, Diagnostic, KnowledgeBase, Location, Message, Target};

/// Variables ChatMD defines itself (docs/chatmd.md §F10.5): never "unassigned".
const PREDEFINED_VARIABLES: &[&str] = &[
    "INPUT",
    "KEYBOARD",
    "LATITUDE",
    "LONGITUDE",
    "POSITION_ACCURACY",
];

/// Keywords shorter than this (in UTF-16 units, as ChatMD measures) match almost anything:
/// they are tested as substrings of the whole message.
const MIN_KEYWORD_LENGTH: usize = 3;

/// Title words longer than this become keywords in ChatMD (docs/chatmd.md §M4).
const TITLE_WORD_MIN: usize = 4;

/// Parses assembled sources and runs every check.
pub fn check(mut assembled: Assembled) -> Checked {
    let mut diagnostics = std::mem::take(&mut assembled.diagnostics);
    let fragment = !assembled.lines.iter().any(|l| l.text.starts_with("# "));
    let mut fragment_assumes_dynamic = false;
    if fragment
        && !assembled.settings.dynamic_content
        && assembled.lines.iter().any(|l| l.text.contains("`if "))
    {
        // A fragment's settings live in the main file that includes it; its `if` blocks
        // only make sense with dynamic content on, so check them as such.
        assembled.settings.dynamic_content = true;
        fragment_assumes_dynamic = true;
    }
    let (kb, facts) = parse::parse(&assembled, &mut diagnostics);
    if fragment {
        let mut message =
            "no `# ` title: read as a fragment meant to be included by a main file".to_string();
        if fragment_assumes_dynamic {
            message.push_str(" (checked with `contenuDynamique: true`, as its `if` blocks need)");
        }
        diagnostics.push(Diagnostic::note(
            Some(Location { file: 0, line: 1 }),
            message,
        ));
    }
    lint(&kb, &facts, &mut diagnostics);
    diagnostics.sort_by_key(|d| (d.location.is_none(), d.location, d.severity));
    diagnostics.dedup();
    Checked {
        files: kb.files.clone(),
        kb: Some(kb),
        diagnostics,
    }
}

fn messages(kb: &KnowledgeBase) -> impl Iterator<Item = &Message> {
    std::iter::once(&kb.welcome).chain(kb.responses.iter().map(|r| &r.message))
}

fn lint(kb: &KnowledgeBase, facts: &ParseFacts, out: &mut Vec<Diagnostic>) {
    let titles: Vec<&str> = kb.responses.iter().map(|r| r.title.as_str()).collect();
    // Every choice and link is looked up: a set keeps a base of thousands of responses linear.
    let title_set: HashSet<&str> = titles.iter().copied().collect();
    let exists = |t: &str| title_set.contains(t);
    let budget = std::cell::Cell::new(SuggestionBudget::default());
    let suggestions = Suggestions::new(titles.iter().copied());
    let suggest = |t: &str| {
        let mut left = budget.get();
        let found = suggestions.closest(t, &mut left);
        budget.set(left);
        found
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default()
    };
    let mut reached: HashSet<&str> = HashSet::new();

    // Dangling targets: choices, links, !Next, !SelectNext, captures.
    for message in messages(kb) {
        for choice in &message.choices {
            if let Target::Response(t) = &choice.target {
                reached.insert(t.as_str());
                if !exists(t) {
                    let spaces = if t.trim() != t && exists(t.trim()) {
                        " (remove the spaces around it: ChatMD does not trim targets)".to_string()
                    } else {
                        suggest(t)
                    };
                    out.push(Diagnostic::warning(
                        Some(choice.location),
                        format!(
                            "the choice `{}` leads to `{t}`, which names no response{spaces}",
                            choice.label
                        ),
                    ));
                }
            }
        }
        for link in &message.links {
            reached.insert(link.target.as_str());
            let with_spaces = link.target.replace('-', " ");
            if !exists(&link.target) && !exists(&with_spaces) {
                out.push(Diagnostic::warning(
                    Some(link.location),
                    format!(
                        "the link `[{}](#{})` leads to `{}`, which names no response{}",
                        link.label,
                        link.target,
                        link.target,
                        suggest(&link.target)
                    ),
                ));
            } else if !exists(&link.target) {
                reached.insert(title_set.get(with_spaces.as_str()).copied().unwrap_or(""));
            }
        }
        for variant in &message.variants {
            body::walk(variant, &mut |node| {
                let targets: Vec<(&str, Location)> = match node {
                    Node::Directive(Directive::Next { target, .. }, loc) => {
                        vec![(target.as_str(), *loc)]
                    }
                    Node::Directive(Directive::SelectNext(titles), loc) => {
                        titles.iter().map(|t| (t.as_str(), *loc)).collect()
                    }
                    Node::Capture {
                        target, location, ..
                    } => vec![(target.as_str(), *location)],
                    _ => Vec::new(),
                };
                for (target, location) in targets {
                    reached.insert(target);
                    if !exists(target) {
                        out.push(Diagnostic::warning(
                            Some(location),
                            format!("`{target}` names no response{}", suggest(target)),
                        ));
                    }
                }
            });
        }
    }
    if let Some(fallback) = &kb.settings.fallback {
        reached.insert(fallback.as_str());
        if !exists(fallback) {
            out.push(Diagnostic::warning(
                Some(Location { file: 0, line: 1 }),
                format!(
                    "`fallback: {fallback}` names no response, so it is ignored{}",
                    suggest(fallback)
                ),
            ));
        } else if kb.settings.obfuscate {
            out.push(Diagnostic::warning(
                Some(Location { file: 0, line: 1 }),
                "with `obfuscate: true`, ChatMD never finds the `fallback` response",
            ));
        }
    }

    // Duplicate titles.
    let mut first_seen: HashMap<&str, Location> = HashMap::new();
    for response in &kb.responses {
        match first_seen.get(response.title.as_str()) {
            Some(first) => out.push(Diagnostic::warning(
                Some(response.location),
                format!(
                    "duplicate title `{}` (first at {}:{}): choices always lead to the first one",
                    response.title,
                    kb.file_path(first.file).display(),
                    first.line
                ),
            )),
            None => {
                first_seen.insert(&response.title, response.location);
            }
        }
    }

    // Unreachable responses.
    for response in &kb.responses {
        if reached.contains(response.title.as_str()) || response.title.is_empty() {
            continue;
        }
        let typable_keyword = response
            .keywords
            .iter()
            .any(|k| !k.is_negative() && utf16_len(&k.text) >= MIN_KEYWORD_LENGTH);
        let wordy = |w: &str| {
            w.chars()
                .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '’' | '-'))
        };
        // The whole title is a keyword too, and title words longer than four letters.
        let typable_title = (wordy(&response.title)
            && utf16_len(&response.title) >= MIN_KEYWORD_LENGTH)
            || title_words(&response.title)
                .any(|w| w.chars().count() > TITLE_WORD_MIN && wordy(&w));
        if !typable_keyword && !typable_title {
            out.push(Diagnostic::warning(
                Some(response.location),
                format!(
                    "the response `{}` is unreachable: nothing leads to it and it has no keyword or title word anyone would type",
                    response.title
                ),
            ));
        }
    }

    // Keywords.
    for response in &kb.responses {
        for keyword in &response.keywords {
            let text = keyword
                .text
                .strip_prefix("! ")
                .unwrap_or(&keyword.text)
                .trim();
            if text.is_empty() {
                out.push(Diagnostic::warning(
                    Some(keyword.location),
                    format!(
                        "empty keyword: `{}` now matches every message",
                        response.title
                    ),
                ));
            } else if utf16_len(text) < MIN_KEYWORD_LENGTH {
                out.push(Diagnostic::warning(
                    Some(keyword.location),
                    format!("the keyword `{text}` is under {MIN_KEYWORD_LENGTH} characters: it is found inside almost every message"),
                ));
            }
        }
        blank_line_before_keywords(kb, response, out);
    }

    for message in messages(kb) {
        for line in &message.lines {
            let indent = line.text.len() - line.text.trim_start_matches(' ').len();
            if indent >= 4 && line.text.trim_start().starts_with(":::") {
                out.push(Diagnostic::warning(
                    Some(line.location),
                    "this box is indented by 4 spaces, which makes it a code block in ChatMD's page (and breaks the box around it); nest boxes with more colons instead: `::::`",
                ));
            }
        }
    }
    for location in &facts.spaced_choices {
        out.push(Diagnostic::warning(
            Some(*location),
            "a space between `]` and `(` makes this a plain numbered line, not a choice: write `[label](target)`",
        ));
    }
    if let Some(location) = facts.welcome_cut_at {
        out.push(Diagnostic::warning(
            Some(location),
            "a `#` followed by a space ends the welcome message here: the text after it up to the next response is never shown",
        ));
    }

    // Conditions on variables nobody assigns.
    let assigned = kb.assigned_variables();
    let mut conditions: Vec<&Condition> = Vec::new();
    for message in messages(kb) {
        for variant in &message.variants {
            conditions.extend(body::conditions(variant));
        }
        for choice in &message.choices {
            conditions.extend(choice.conditions.iter());
        }
    }
    let mut reported: BTreeSet<(Location, String)> = BTreeSet::new();
    // A fragment's variables are assigned by the main file that includes it.
    let conditions = if kb.has_title { conditions } else { Vec::new() };
    for condition in conditions {
        // Quoted once per unassigned variable: shortened, or a condition naming thousands
        // of variables would repeat its whole text in each warning (quadratic output).
        let source = shortened(&condition.source, 80);
        for name in condition.expr.variables() {
            let name = name.to_string();
            if assigned.contains(&name)
                || PREDEFINED_VARIABLES.contains(&name.as_str())
                || name.starts_with("GET")
                || !reported.insert((condition.location, name.clone()))
            {
                continue;
            }
            out.push(Diagnostic::warning(
                Some(condition.location),
                format!(
                    "the condition `{source}` tests `@{name}`, which is never assigned (by a choice `@{name}=…` or `` `@{name} = …` ``)"
                ),
            ));
        }
    }

    if kb
        .settings
        .default_messages
        .as_ref()
        .is_some_and(|m| m.len() == 5)
    {
        out.push(Diagnostic::warning(
            Some(Location { file: 0, line: 1 }),
            "exactly five `messageParDéfaut` entries hang ChatMD at the sixth unanswered question (guichet is fine); add or remove one",
        ));
    }
    if !kb.settings.web_only_keys.is_empty() {
        out.push(Diagnostic::warning(
            Some(Location { file: 0, line: 1 }),
            format!(
                "these YAML keys only change ChatMD's web page and have no effect in chat: {}",
                kb.settings.web_only_keys.join(", ")
            ),
        ));
    }
}

/// `text` cut to at most `max` characters, with `…` when it was cut.
fn shortened(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
        None => text.into(),
    }
}

/// Title words as ChatMD cuts them (docs/chatmd.md §M4).
fn title_words(title: &str) -> impl Iterator<Item = String> + '_ {
    let cleaned: String = title
        .replace("/]", "")
        .chars()
        .filter(|c| !matches!(c, ',' | '.' | ':' | '?' | '!' | '(' | ')' | '[' | '|'))
        .map(|c| {
            if matches!(c, '/' | '-' | '\'' | '’') {
                ' '
            } else {
                c
            }
        })
        .collect();
    cleaned
        .split(' ')
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter()
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A title followed by a blank line and then a `- ` list: ChatMD shows the list as text and
/// the keywords silently stop working (docs/chatmd.md §F18.30).
fn blank_line_before_keywords(
    kb: &KnowledgeBase,
    response: &super::Response,
    out: &mut Vec<Diagnostic>,
) {
    if !response.keywords.is_empty() {
        return;
    }
    let Some(file) = kb.files.get(response.location.file) else {
        return;
    };
    let start = response.location.line as usize; // index of the line after the title
    let mut i = start;
    let mut blanks = 0;
    while file.lines.get(i).is_some_and(|l| l.trim().is_empty()) {
        blanks += 1;
        i += 1;
    }
    if blanks > 0 && file.lines.get(i).is_some_and(|l| l.starts_with("- ")) {
        out.push(Diagnostic::warning(
            Some(Location {
                file: response.location.file,
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            }),
            format!(
                "this list is shown as text, not used as keywords of `{}`: remove the blank line after the title",
                response.title
            ),
        ));
    }
}

impl Checked {
    /// The lines `guichet check` prints, in order, then its summary.
    pub fn report(&self) -> String {
        let mut out = super::diagnostic::render_all(&self.files, &self.diagnostics);
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::kb::parse_str;

    fn warnings(text: &str) -> Vec<String> {
        parse_str("t.md", text)
            .diagnostics
            .iter()
            .filter(|d| d.severity != crate::kb::Severity::Note)
            .map(|d| format!("{}: {}", d.location.map_or(0, |l| l.line), d.message))
            .collect()
    }

    #[test]
    fn dangling_targets_with_suggestion() {
        let w = warnings(
            "# T\n1. [Go](Horaire)\n## Horaires\n- heures\nx\n1. [L]( Horaires )\nvoir [là](#Ailleurs)\n",
        );
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(
            w[0].starts_with("2: ") && w[0].contains("did you mean `Horaires`"),
            "{w:?}"
        );
        assert!(
            w[1].starts_with("6: ") && w[1].contains("remove the spaces"),
            "{w:?}"
        );
        assert!(
            w[2].starts_with("7: ") && w[2].contains("#Ailleurs"),
            "{w:?}"
        );
    }

    #[test]
    fn unreachable_and_duplicates() {
        let w =
            warnings("# T\n1. [A](a_1)\n## a_1\nx\n## b_2\ny\n## a_1\nz\n## Inscription\ntexte\n");
        assert!(
            w.iter()
                .any(|m| m.starts_with("5: ") && m.contains("unreachable")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("7: ") && m.contains("duplicate title")),
            "{w:?}"
        );
        assert!(
            !w.iter().any(|m| m.contains("`Inscription` is unreachable")),
            "{w:?}"
        );
    }

    #[test]
    fn blank_line_before_keywords_and_short_keywords() {
        let w = warnings("# T\n\n## A\n\n- clé\n- autre\n## B\n- \n- ab\n- ! cd\n- bonne\n");
        assert!(
            w.iter()
                .any(|m| m.starts_with("5: ") && m.contains("shown as text")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("8: ") && m.contains("empty keyword")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|m| m.starts_with("9: ") && m.contains("`ab`")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("10: ") && m.contains("`cd`")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("3: ") && m.contains("unreachable")),
            "{w:?}"
        );
        assert_eq!(w.len(), 5, "{w:?}");
    }

    #[test]
    fn spaced_choices_and_unassigned_variables() {
        let w = warnings(
            "---\ncontenuDynamique: true\n---\n# T\n1. [Prof @role=prof](A)\n## A\n- aaa\n1. [B] (A)\n`if @role==prof`\np\n`endif`\n`if @rol==prof`\nq\n`endif`\n",
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("8: ") && m.contains("space between")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("12: ") && m.contains("`@rol`")),
            "{w:?}"
        );
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn five_default_messages_and_web_keys() {
        let w = warnings(
            "---\nmessageParDéfaut: [a, b, c, d, e]\navatar: x.png\nfavicon: y\n---\n# T\n",
        );
        assert!(w.iter().any(|m| m.contains("five")), "{w:?}");
        assert!(w.iter().any(|m| m.contains("avatar, favicon")), "{w:?}");
    }

    #[test]
    fn fragment_note() {
        let checked = parse_str("t.md", "## A\n- aaa\n`if @x==1`\nx\n`endif`\n");
        let notes: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::kb::Severity::Note)
            .collect();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].message.contains("fragment"));
    }
}

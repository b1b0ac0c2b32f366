//! The line walker: title, welcome message and responses, exactly as ChatMD 8.12 finds them
//! (docs/chatmd.md §F3.2, §F4, §F5).

use super::body::{self, BuildOptions, Condition};
use super::source::Assembled;
use super::{
    AssignValue, Choice, Diagnostic, Keyword, KnowledgeBase, Line, Link, Location, Message,
    Response, Settings, Target,
};

/// The label ChatMD gives a choice written with an empty label.
pub const DEFAULT_CHOICE_LABEL: &str = "suite";

/// Facts the parser saw that only the author-facing checks need.
#[derive(Debug, Default, Clone)]
pub struct ParseFacts {
    /// Lines that look like a choice but have a space between `]` and `(`.
    pub spaced_choices: Vec<Location>,
    /// Where the welcome message was cut short by a heading in it, if it was.
    pub welcome_cut_at: Option<Location>,
}

/// Parses assembled source into a knowledge base; problems go to `diagnostics`.
pub fn parse(
    assembled: &Assembled,
    diagnostics: &mut Vec<Diagnostic>,
) -> (KnowledgeBase, ParseFacts) {
    let settings = &assembled.settings;
    let mut facts = ParseFacts::default();
    let mut lines = strip_front_matter(&assembled.lines);
    let has_title = lines.first().is_some_and(|l| l.text.starts_with("# "));
    substitute_private_variables(&mut lines, settings);

    let (title, welcome_lines, rest) = if has_title {
        split_introduction(&lines, &mut facts)
    } else {
        // No `# ` title: a fragment meant to be included; every line belongs to responses.
        ("Chatbot".to_string(), Vec::new(), lines)
    };

    let welcome = parse_welcome(&welcome_lines, settings, diagnostics);
    let responses = parse_responses(&rest, settings, &mut facts, diagnostics);
    let kb = KnowledgeBase {
        settings: settings.clone(),
        title,
        welcome,
        responses,
        files: assembled.files.clone(),
        synonyms: assembled.synonyms.clone(),
        has_title,
    };
    (kb, facts)
}

/// docs/chatmd.md §F3.2: the body starts at the first line beginning with `# `; without one, a
/// leading `---` … `---` block is cut. Leading blank space is trimmed.
fn strip_front_matter(lines: &[Line]) -> Vec<Line> {
    let start = match lines.iter().position(|l| l.text.starts_with("# ")) {
        Some(i) => i,
        None => {
            let first = lines.iter().position(|l| !l.text.trim().is_empty());
            match first {
                Some(i) if lines[i].text.trim_start() == "---" => lines[i + 1..]
                    .iter()
                    .position(|l| l.text == "---")
                    .map_or(i, |end| i + 1 + end + 1),
                Some(i) => i,
                None => lines.len(),
            }
        }
    };
    // JavaScript trimStart: leading blank lines and the first line's leading spaces. (Cut in
    // one go: removing them one by one from the front moved the whole base each time.)
    let blank = lines[start..]
        .iter()
        .take_while(|l| l.text.trim().is_empty())
        .count();
    let mut body: Vec<Line> = lines[start + blank..].to_vec();
    if let Some(first) = body.first_mut() {
        first.text = first.text.trim_start().to_string();
    }
    while body.last().is_some_and(|l| l.text.trim().is_empty()) {
        body.pop();
    }
    if let Some(last) = body.last_mut() {
        last.text = last.text.trim_end().to_string();
    }
    body
}

/// Fixed variables whose name starts with `_` are substituted once, before parsing, so they
/// can appear in titles, keywords and choices (docs/chatmd.md §F9). Each occurrence gets its own
/// draw; the draw is deterministic so a knowledge base always reads the same way.
fn substitute_private_variables(lines: &mut [Line], settings: &Settings) {
    if !settings.variables.keys().any(|k| k.starts_with('_')) {
        return;
    }
    let mut draw = 0usize;
    for line in lines {
        line.text = substitute_fixed_variables(&line.text, &settings.variables, true, &mut |n| {
            draw = draw.wrapping_mul(31).wrapping_add(17);
            draw % n.max(1)
        });
    }
}

/// Replaces `@{name}` by one alternative of the variable (`pick(n)` chooses an index below
/// `n`). `private` selects the `_` variables (parse time) or the others (display time).
/// The name is the longest run of non-space characters ending with `}`, so `@{a}@{b}`
/// names `a}@{b` and is left alone, as in ChatMD.
pub fn substitute_fixed_variables(
    text: &str,
    variables: &std::collections::BTreeMap<String, Vec<String>>,
    private: bool,
    pick: &mut dyn FnMut(usize) -> usize,
) -> String {
    if !text.contains("@{") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let run_end = after.find(char::is_whitespace).unwrap_or(after.len());
        let run = &after[..run_end];
        let Some(close) = run.rfind('}') else {
            // No `}` in the run: no `@{` inside it can name a variable either (their runs
            // end at the same place), so the whole run is text. Skipping it keeps a line of
            // `@{@{@{…` linear.
            out.push_str("@{");
            out.push_str(run);
            rest = &after[run_end..];
            continue;
        };
        let name = &run[..close];
        let value = variables
            .get(name)
            .filter(|_| !name.is_empty() && name.starts_with('_') == private)
            .filter(|alternatives| !alternatives.is_empty());
        match value {
            Some(alternatives) => {
                let index = pick(alternatives.len()).min(alternatives.len() - 1);
                out.push_str(alternatives.get(index).map_or("", String::as_str));
            }
            None => {
                out.push_str("@{");
                out.push_str(&run[..=close]);
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// docs/chatmd.md §F4: the introduction ends at the first `# `…`##### ` sequence found after the
/// first character (anywhere, even mid-line). Returns the title, the welcome lines and the
/// remaining lines (the first may be the tail of a cut line).
fn split_introduction(lines: &[Line], facts: &mut ParseFacts) -> (String, Vec<Line>, Vec<Line>) {
    // Join as ChatMD sees the text, keeping where each line starts.
    let mut text = String::new();
    let mut starts = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        starts.push(text.len());
        text.push_str(&line.text);
    }
    let after_first = text.char_indices().nth(1).map_or(text.len(), |(i, _)| i);
    let search = &text[after_first..];
    let end = ["# ", "## ", "### ", "#### ", "##### "]
        .iter()
        .filter_map(|p| search.find(p))
        .filter(|&i| i > 0)
        .min()
        .map_or(text.len(), |i| after_first + i);

    let line_at = |offset: usize| starts.partition_point(|&s| s <= offset).saturating_sub(1);
    let end_line = line_at(end);

    // Title: the first `# …` to the end of its line within the introduction.
    let intro = &text[..end];
    let (title, welcome_start) = match intro.find("# ") {
        Some(pos) => {
            let line_end = intro[pos..].find('\n').map_or(intro.len(), |e| pos + e);
            let title = intro[pos + 2..line_end].trim().to_string();
            (title, line_end)
        }
        None => ("Chatbot".to_string(), 0),
    };

    let mut welcome = Vec::new();
    for (i, line) in lines.iter().enumerate().take(end_line + 1) {
        let line_start = starts[i];
        let line_end = line_start + line.text.len();
        if line_end <= welcome_start {
            continue; // the title line and anything before it
        }
        let from = line_start.max(welcome_start);
        let to = line_end.min(end);
        if from < to {
            welcome.push(Line {
                text: text[from..to].to_string(),
                location: line.location,
            });
        }
    }
    // A heading inside the welcome text ends it: tell the author (ChatMD drops the rest up
    // to the next response silently).
    let mut rest = Vec::new();
    if end < text.len() {
        let tail = Line {
            text: text[end..starts.get(end_line + 1).map_or(text.len(), |s| s - 1)].to_string(),
            location: lines[end_line].location,
        };
        let cut_mid_line = end != starts[end_line];
        rest.push(tail);
        rest.extend(lines[end_line + 1..].iter().cloned());
        if cut_mid_line || !rest[0].text.starts_with("## ") {
            facts.welcome_cut_at = Some(lines[end_line].location);
        }
    }
    (title, welcome, rest)
}

/// A choice line, as ChatMD's regular expression sees it:
/// `^\d{1,3}[.)]\s\[[^\]]*\]\([^)]*\)\s*$`. Returns (shuffled, label, target).
pub fn choice_parts(line: &str) -> Option<(bool, &str, &str)> {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if !(1..=3).contains(&digits) {
        return None;
    }
    let rest = &line[digits..];
    let shuffled = rest.starts_with(')');
    let rest = rest.strip_prefix(['.', ')'])?;
    let mut chars = rest.chars();
    let space = chars.next()?;
    if !space.is_whitespace() {
        return None;
    }
    let rest = chars.as_str().strip_prefix('[')?;
    let close = rest.find(']')?;
    let label = &rest[..close];
    let rest = rest[close + 1..].strip_prefix('(')?;
    let end = rest.find(')')?;
    let target = &rest[..end];
    if !rest[end + 1..].chars().all(char::is_whitespace) {
        return None;
    }
    Some((shuffled, label, target))
}

/// Targets that make a numbered link a plain content line (docs/chatmd.md §F5.2).
fn is_external(target: &str) -> bool {
    let t = target.trim().to_lowercase();
    t.starts_with("http") || t.starts_with("mailto:") || t.starts_with("tel:")
}

/// `1. [label] (target)`: looks like a choice but ChatMD shows it as text.
fn is_spaced_choice(line: &str) -> bool {
    // Cheap test first: only numbered lines can look like a choice.
    if !line.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let Some(open) = line.find('[') else {
        return false;
    };
    let Some(close) = line[open..].find(']').map(|c| open + c) else {
        return false;
    };
    let after = &line[close + 1..];
    let trimmed = after.trim_start();
    if trimmed.len() == after.len()
        || !trimmed.starts_with('(')
        || !trimmed.trim_end().ends_with(')')
    {
        return false;
    }
    let repaired = format!("{}{}", &line[..=close], trimmed);
    choice_parts(&repaired).is_some_and(|(_, _, target)| !is_external(target))
}

/// Builds a choice from its parts (docs/chatmd.md §F5.2, §F10.3).
fn make_choice(
    shuffled: bool,
    label: &str,
    target: &str,
    conditions: Vec<Condition>,
    location: Location,
    diagnostics: &mut Vec<Diagnostic>,
) -> Choice {
    let raw_label = if label.is_empty() {
        DEFAULT_CHOICE_LABEL.to_string()
    } else {
        label.to_string()
    };
    let target_text = match target.strip_prefix('#') {
        Some(anchor) => anchor.replace('-', " "),
        None => target.to_string(),
    };
    let target_kind = if target_text.is_empty() {
        Target::Welcome
    } else if let Some(url) = target_text.strip_prefix("link:") {
        Target::Url(url.to_string())
    } else {
        Target::Response(target_text.clone())
    };
    let (label, assignment) = split_label_assignment(&raw_label, location, diagnostics);
    Choice {
        raw_label,
        label,
        assignment,
        target: target_kind,
        target_text,
        shuffled,
        conditions,
        location,
    }
}

/// `Label @var=value`: the button shows `Label` (or `value` when there is no label) and
/// sets `var` when pressed.
fn split_label_assignment(
    raw: &str,
    location: Location,
    diagnostics: &mut Vec<Diagnostic>,
) -> (String, Option<(String, AssignValue)>) {
    let mut search = 0;
    while let Some(found) = raw[search..].find('@') {
        let at = search + found;
        let after = &raw[at + 1..];
        let name_len: usize = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum();
        let at_word_start = at == 0 || raw[..at].ends_with(char::is_whitespace);
        if name_len > 0 && at_word_start && after[name_len..].starts_with('=') {
            let name = after[..name_len].to_string();
            let value_text = after[name_len + 1..].trim();
            let shown = raw[..at].trim();
            let value = match body::parse_assign_value(value_text) {
                Ok(v) => v,
                Err(err) => {
                    diagnostics.push(Diagnostic::error(
                        Some(location),
                        format!(
                            "invalid `calc` in the choice label `{raw}`: {}",
                            err.message
                        ),
                    ));
                    AssignValue::Text(vec![String::new()])
                }
            };
            let label = if shown.is_empty() {
                value_text.to_string()
            } else {
                shown.to_string()
            };
            return (label, Some((name, value)));
        }
        search = at + 1;
    }
    (raw.to_string(), None)
}

/// Internal links `[label](#title)` (and `[label] (#title)`, which the renderer accepts).
fn find_links(line: &Line) -> Vec<Link> {
    let text = &line.text;
    let mut links = Vec::new();
    let mut search = 0;
    // The `]` found for one `[` is also the first `]` after any later `[` before it: reusing
    // it keeps a line of many `[` linear instead of searching to its end from each of them.
    let mut next_close: Option<usize> = None;
    let mut next_paren: Option<(usize, Option<usize>)> = None;
    while let Some(open) = text[search..].find('[').map(|o| search + o) {
        search = open + 1;
        let close = match next_close.filter(|&c| c > open) {
            Some(c) => c,
            None => match text[open + 1..].find(']') {
                Some(c) => open + 1 + c,
                None => break,
            },
        };
        next_close = Some(close);
        // Only the last `[` before a `]` opens a link, as in Markdown (`[x [a](#b)` links
        // `a`). Taking every `[` made one link per `[` of `[[[…](#a)`, each copying the rest
        // as its label: quadratic memory.
        // (Searching for the next `[` rather than in the label keeps this linear: the
        // search stops where the next one starts.)
        if text[open + 1..]
            .find('[')
            .is_some_and(|next| open + 1 + next < close)
        {
            continue;
        }
        let after = &text[close + 1..];
        let trimmed = after.trim_start_matches([' ', '\t']);
        let spaced = trimmed.len() != after.len();
        let Some(inside) = trimmed.strip_prefix("(#") else {
            continue;
        };
        // Same reuse for the `)` closing the target: these positions only move forward.
        let inside_start = text.len() - inside.len();
        let end = match next_paren {
            Some((from, found))
                if from <= inside_start && found.is_none_or(|f| f >= inside_start) =>
            {
                found
            }
            _ => {
                let found = inside.find(')').map(|e| inside_start + e);
                next_paren = Some((inside_start, found));
                found
            }
        };
        let Some(end) = end else {
            continue;
        };
        links.push(Link {
            label: text[open + 1..close].to_string(),
            target: text[inside_start..end].to_string(),
            location: line.location,
            spaced,
        });
    }
    links
}

fn parse_welcome(
    lines: &[Line],
    settings: &Settings,
    diagnostics: &mut Vec<Diagnostic>,
) -> Message {
    let mut content = Vec::new();
    let mut choices = Vec::new();
    let mut links = Vec::new();
    for line in lines {
        // Legacy syntax: the welcome message written as a block quote.
        let text = line
            .text
            .strip_prefix('>')
            .map(|t| t.strip_prefix(|c: char| c.is_whitespace()).unwrap_or(t))
            .unwrap_or(&line.text);
        match choice_parts(text).filter(|(_, _, t)| !is_external(t)) {
            Some((shuffled, label, target)) => choices.push(make_choice(
                shuffled,
                label,
                target,
                Vec::new(),
                line.location,
                diagnostics,
            )),
            None => {
                if text.is_empty() {
                    continue;
                }
                let line = Line {
                    text: text.to_string(),
                    location: line.location,
                };
                links.extend(find_links(&line));
                content.push(line);
            }
        }
    }
    finish_message(content, choices, links, settings, true, diagnostics)
}

/// Splits content into `---` alternatives and builds each one's tree (docs/chatmd.md §F8).
fn finish_message(
    lines: Vec<Line>,
    choices: Vec<Choice>,
    links: Vec<Link>,
    settings: &Settings,
    show_once: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Message {
    let options = BuildOptions {
        dynamic: settings.dynamic_content,
        show_once,
    };
    let variants = split_variants(&lines, !choices.is_empty())
        .into_iter()
        .map(|variant| body::build(&variant, options, diagnostics))
        .collect();
    Message {
        lines,
        variants,
        choices,
        links,
    }
}

/// With choices, ChatMD re-splits the text on any `---`; without, only on `---` lines.
/// Parts made only of blanks and HTML comments are dropped.
fn split_variants(lines: &[Line], has_choices: bool) -> Vec<Vec<Line>> {
    let mut variants: Vec<Vec<Line>> = vec![Vec::new()];
    for line in lines {
        if !has_choices {
            if line.text == "---" {
                variants.push(Vec::new());
            } else if let Some(last) = variants.last_mut() {
                last.push(line.clone());
            }
            continue;
        }
        let mut pieces = line.text.split("---").peekable();
        while let Some(piece) = pieces.next() {
            if !piece.is_empty()
                && let Some(last) = variants.last_mut()
            {
                last.push(Line {
                    text: piece.to_string(),
                    location: line.location,
                });
            }
            if pieces.peek().is_some() {
                variants.push(Vec::new());
            }
        }
    }
    let meaningful = |variant: &Vec<Line>| {
        let joined: String = variant
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        !strip_html_comments(&joined).trim().is_empty()
    };
    let kept: Vec<Vec<Line>> = variants.iter().filter(|v| meaningful(v)).cloned().collect();
    if kept.is_empty() {
        // Nothing but blanks: keep the lines as they are (they may still hold assignments).
        vec![variants.into_iter().flatten().collect()]
    } else {
        kept
    }
}

/// Text without `<!-- … -->` comments (an unterminated one runs to the end).
pub fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Response being read.
struct Current {
    title: String,
    location: Location,
    keywords: Vec<Keyword>,
    content: Vec<Line>,
    choices: Vec<Choice>,
    links: Vec<Link>,
}

/// docs/chatmd.md §F5: walks the lines after the introduction.
fn parse_responses(
    lines: &[Line],
    settings: &Settings,
    facts: &mut ParseFacts,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Response> {
    let structure_below = structure_level(&settings.response_prefixes);
    let mut responses = Vec::new();
    let mut current: Option<Current> = None;
    let mut keyword_zone = true;
    let mut list_parsed = false;
    // Conditions in force, for the choices written inside `if` blocks. ChatMD does not reset
    // them at a new title; an unclosed `if` is an error anyway.
    let mut conditions: Vec<PendingCondition> = Vec::new();
    // `if`s past the nesting limit are not kept (the body tree reports the error): each choice
    // copies the conditions in force, so an unbounded stack would cost quadratic memory.
    let mut ignored_ifs = 0usize;
    let mut finished: Vec<(Current, bool)> = Vec::new();

    for line in lines {
        let text = line.text.as_str();
        if let Some(prefix) = settings
            .response_prefixes
            .iter()
            .find(|p| text.starts_with(p.as_str()))
        {
            if let Some(done) = current.take() {
                finished.push((done, false));
            }
            current = Some(Current {
                title: text[prefix.len()..].trim().to_string(),
                location: line.location,
                keywords: Vec::new(),
                content: Vec::new(),
                choices: Vec::new(),
                links: Vec::new(),
            });
            keyword_zone = true;
            list_parsed = false;
            continue;
        }
        let Some(response) = current.as_mut() else {
            // Text before the first response (only in fragments): ChatMD gives it to the
            // welcome message, which a fragment does not have.
            continue;
        };
        if text.trim().is_empty() {
            keyword_zone = false;
        }
        if keyword_zone && !list_parsed && text.starts_with("- ") {
            response.keywords.push(Keyword {
                text: text.replacen("- ", "", 1).trim().to_string(),
                location: line.location,
            });
            continue;
        }
        if settings.dynamic_content {
            if let Some(condition) = if_condition(text) {
                // Parsed only if a choice is written inside it (the body tree parses every
                // condition anyway, and reports errors).
                if conditions.len() >= body::MAX_BLOCK_NESTING {
                    ignored_ifs += 1;
                } else {
                    conditions.push(PendingCondition {
                        source: condition.to_string(),
                        location: line.location,
                        parsed: None,
                    });
                }
                response.content.push(line.clone());
                list_parsed = true;
                continue;
            }
            if text.contains("`endif`") {
                if ignored_ifs > 0 {
                    ignored_ifs -= 1;
                } else {
                    conditions.pop();
                }
                response.content.push(line.clone());
                list_parsed = true;
                continue;
            }
        }
        if let Some((shuffled, label, target)) =
            choice_parts(text).filter(|(_, _, t)| !is_external(t))
        {
            list_parsed = false;
            let in_force = resolve_conditions(&mut conditions);
            response.choices.push(make_choice(
                shuffled,
                label,
                target,
                in_force,
                line.location,
                diagnostics,
            ));
            continue;
        }
        if !text.is_empty() && !is_structure_title(text, structure_below) {
            if is_spaced_choice(text) {
                facts.spaced_choices.push(line.location);
            }
            response.links.extend(find_links(line));
            response.content.push(line.clone());
            list_parsed = true;
        }
    }
    if let Some(done) = current.take() {
        finished.push((done, true));
    }
    for (done, is_last) in finished {
        // ChatMD drops a response with an empty title, unless it is the very last one.
        if done.title.is_empty() && !is_last {
            continue;
        }
        let message = finish_message(
            done.content,
            done.choices,
            done.links,
            settings,
            false,
            diagnostics,
        );
        responses.push(Response {
            title: done.title,
            location: done.location,
            keywords: done.keywords,
            message,
        });
    }
    responses
}

/// An `if` in force while walking lines.
struct PendingCondition {
    source: String,
    location: Location,
    parsed: Option<Condition>,
}

/// The conditions in force, parsed (once each). A condition that does not parse is false,
/// as in ChatMD; the body tree reports the error.
fn resolve_conditions(stack: &mut [PendingCondition]) -> Vec<Condition> {
    stack
        .iter_mut()
        .map(|pending| {
            pending
                .parsed
                .get_or_insert_with(|| Condition {
                    source: pending.source.clone(),
                    expr: super::expr::parse_condition(&pending.source)
                        .unwrap_or(super::expr::Expr::Bool(false)),
                    location: pending.location,
                })
                .clone()
        })
        .collect()
}

/// The condition text of a line holding `` `if …` `` (ChatMD's `/`if (.*?)`/`).
fn if_condition(text: &str) -> Option<&str> {
    let start = text.find("`if ")?;
    let inner = &text[start + 4..];
    let end = inner.find('`')?;
    Some(&inner[..end])
}

/// Headings above the response level are structure: dropped from content (docs/chatmd.md §F5,
/// rule 6).
/// Returns the response level: headings `# ` … with fewer `#` are structure.
fn structure_level(prefixes: &[String]) -> usize {
    prefixes
        .iter()
        .map(|p| p.rfind('#').map_or(0, |i| i + 1))
        .min()
        .unwrap_or(0)
}

/// Whether a line starts with `#`×k and a space for some k in `1..level`. Counting the
/// line's own `#` answers it at once; listing the `level - 1` prefixes and trying each on
/// every line cost quadratic time and memory for a prefix of thousands of `#`.
fn is_structure_title(text: &str, level: usize) -> bool {
    let hashes = text.bytes().take_while(|&b| b == b'#').count();
    (1..level).contains(&hashes) && text.as_bytes().get(hashes) == Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::parse_str;

    fn kb(text: &str) -> KnowledgeBase {
        let checked = parse_str("t.md", text);
        checked.kb.unwrap()
    }

    #[test]
    fn choice_line_shapes() {
        let ok = [
            ("1. [text](link)", false, "text", "link"),
            ("99) [a b](c d) ", true, "a b", "c d"),
            ("1. [](x)", false, "", "x"),
            ("2. [x]()", false, "x", ""),
        ];
        for (line, shuffled, label, target) in ok {
            assert_eq!(
                choice_parts(line),
                Some((shuffled, label, target)),
                "{line}"
            );
        }
        for line in [
            " 1. [x](y)",
            "1.[x](y)",
            "a. [x](y)",
            "1. [x](y) more",
            "1. [x](y))",
            "- [x](y)",
            "1. [x] (y)",
            "1234. [x](y)",
        ] {
            assert_eq!(choice_parts(line), None, "{line}");
        }
        assert!(is_external("HTTPS://x") && is_external(" mailto:a") && is_external("tel:1"));
    }

    #[test]
    fn title_welcome_and_responses() {
        let kb = kb(
            "---\nrechercheContenu: true\n---\n# **Mon** bot\nBienvenue !\n\nDeux lignes\n1. [A](Réponse A)\n## Réponse A\n- clé\n- ! pas ça\n\nTexte A\n",
        );
        assert_eq!(kb.title, "**Mon** bot");
        assert!(kb.settings.content_search);
        let welcome: Vec<&str> = kb.welcome.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(welcome, vec!["Bienvenue !", "Deux lignes"]);
        assert_eq!(kb.welcome.choices.len(), 1);
        assert_eq!(kb.responses.len(), 1);
        let r = &kb.responses[0];
        assert_eq!(r.title, "Réponse A");
        assert_eq!(r.location.line, 9);
        assert_eq!(
            r.keywords
                .iter()
                .map(|k| k.text.as_str())
                .collect::<Vec<_>>(),
            vec!["clé", "! pas ça"]
        );
        assert!(r.keywords[1].is_negative());
        assert_eq!(r.message.lines[0].text, "Texte A");
    }

    #[test]
    fn no_title_means_chatbot_and_fragment() {
        let kb = kb("## A\n- x\ntext");
        assert_eq!(kb.title, "Chatbot");
        assert!(!kb.has_title);
        assert_eq!(kb.responses.len(), 1);
    }

    #[test]
    fn hash_mid_line_ends_the_introduction() {
        let kb = kb("# T\nTapez C# puis entrée\n## R\ntexte");
        let welcome: Vec<&str> = kb.welcome.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(welcome, vec!["Tapez C"]);
        assert_eq!(kb.responses.len(), 1);
    }

    #[test]
    fn keyword_zone_rules() {
        let kb = kb(
            "# T\n\n## B\n1. [x](A)\n- foo\n\n## C\n\n- not a keyword\n## D\ntext\n- not either\n## E\n-  two spaces\n* star\n",
        );
        let keywords = |i: usize| {
            kb.responses[i]
                .keywords
                .iter()
                .map(|k| k.text.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(keywords(0), vec!["foo"]);
        assert!(keywords(1).is_empty());
        assert!(keywords(2).is_empty());
        assert_eq!(keywords(3), vec!["two spaces"]);
        assert_eq!(kb.responses[3].message.lines[0].text, "* star");
    }

    #[test]
    fn choices_anywhere_targets_and_labels() {
        let kb = kb(
            "# T\n\n## A\n1. [](#mon-titre)\ntexte\n2) [Prof @role=prof](B)\n3. [@x=1](B)\n4. [Site](link:https://e.org)\n5. [Web](https://e.org)\n6. [Accueil]()\n## B\nb",
        );
        let a = &kb.responses[0];
        assert_eq!(a.message.choices.len(), 5);
        let c = &a.message.choices;
        assert_eq!(c[0].label, "suite");
        assert_eq!(c[0].target, Target::Response("mon titre".into()));
        assert!(c[1].shuffled);
        assert_eq!(c[1].label, "Prof");
        assert_eq!(c[1].raw_label, "Prof @role=prof");
        assert_eq!(
            c[1].assignment,
            Some(("role".into(), AssignValue::Text(vec!["prof".into()])))
        );
        assert_eq!(c[2].label, "1");
        assert_eq!(c[3].target, Target::Url("https://e.org".into()));
        assert_eq!(c[4].target, Target::Welcome);
        // The external link stays content.
        assert!(
            a.message
                .lines
                .iter()
                .any(|l| l.text.starts_with("5. [Web]"))
        );
    }

    #[test]
    fn structure_titles_are_dropped() {
        let kb = kb(
            "---\ntitresRéponses: [\"### \"]\n---\n# T\n\n### R\ntexte\n## Partie\n#### sous-titre\n",
        );
        let lines: Vec<&str> = kb.responses[0]
            .message
            .lines
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(lines, vec!["texte", "#### sous-titre"]);
    }

    #[test]
    fn empty_titles_dropped_unless_last() {
        let kb = kb("# T\n\n## \ncontenu\n## A\na\n## \nfin");
        let titles: Vec<&str> = kb.responses.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, vec!["A", ""]);
    }

    #[test]
    fn conditions_on_choices() {
        let kb = kb(
            "---\ncontenuDynamique: true\n---\n# T\n\n## A\n`if @age>18`\n1. [Adulte](B)\n`if @x==1`\n2. [Deux](B)\n`endif`\n`endif`\n3. [Tous](B)\n## B\nb",
        );
        let c = &kb.responses[0].message.choices;
        assert_eq!(c[0].conditions.len(), 1);
        assert_eq!(
            c[1].conditions
                .iter()
                .map(|c| c.source.as_str())
                .collect::<Vec<_>>(),
            vec!["@age>18", "@x==1"]
        );
        assert!(c[2].conditions.is_empty());
    }

    #[test]
    fn variants_split_on_dashes() {
        let kb = kb("# T\n\n## A\nun\n---\ndeux\n---\n<!-- rien -->\n## B\nx---y\n1. [c](A)");
        assert_eq!(kb.responses[0].message.variants.len(), 2);
        assert_eq!(kb.responses[1].message.variants.len(), 2);
    }

    #[test]
    fn private_fixed_variables_are_substituted_before_parsing() {
        let kb =
            kb("---\nvariables:\n  _t: \"Horaires\"\n  n: \"x\"\n---\n# T\n\n## @{_t}\n- @{n}\n");
        assert_eq!(kb.responses[0].title, "Horaires");
        assert_eq!(kb.responses[0].keywords[0].text, "@{n}");
        let mut pick = |_: usize| 0;
        let vars = kb.settings.variables.clone();
        assert_eq!(
            substitute_fixed_variables("@{a}@{n} @{n}!", &vars, false, &mut pick),
            "@{a}@{n} x!"
        );
    }

    #[test]
    fn internal_links() {
        let kb = kb("# T\n\n## A\nvoir [ici](#B) et [:sos:] (#profs-pix)\n## B\nb");
        let links = &kb.responses[0].message.links;
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].target, "B");
        assert!(links[1].spaced);
        assert_eq!(links[1].target, "profs-pix");
    }

    #[test]
    fn crlf_and_blockquote_welcome() {
        let kb = kb("# T\r\n> Bonjour\r\n> 1. [A](A)\r\n## A\r\n- a\r\nok\r\n");
        assert_eq!(kb.welcome.lines[0].text, "Bonjour");
        assert_eq!(kb.welcome.choices.len(), 1);
        assert_eq!(kb.responses[0].keywords[0].text, "a");
    }
}

//! A message's lines turned into a tree: text, variables, assignments, directives, and
//! `if`/`endif` blocks (docs/chatmd.md §F7–§F10, §F12), so the engine never re-parses text.

use super::expr::{self, Expr};
use super::{Diagnostic, Line, Location};

/// An `if` condition: the source text (for messages) and its parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub source: String,
    pub expr: Expr,
    pub location: Location,
}

/// The value of an assignment `` `@name = value` `` or of a button's `@name=value`.
#[derive(Debug, Clone, PartialEq)]
pub enum AssignValue {
    /// Literal text; `///` separates random alternatives (one is drawn).
    Text(Vec<String>),
    /// `calc(…)`: evaluated when the message is shown.
    Calc(Expr),
}

/// Directives: plain text in a message that changes the flow (docs/chatmd.md §F7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    /// `!Next: Title / retry message` — the next typed message answers a question.
    Next {
        target: String,
        /// Custom retry message (text up to a further `/`).
        retry: Option<String>,
        /// `/ ignoreKeywords`: any answer is accepted.
        ignore_keywords: bool,
        /// `!loop`: never offer the skip button.
        never_skip: bool,
    },
    /// `!SelectNext: A / B`: then automatically show one of these, drawn at random.
    SelectNext(Vec<String>),
    /// `!Select: n`: show `n` random choices.
    Select(usize),
    /// `!Bot: name`: a persona (display only).
    Bot(String),
    /// `!Keyboard`, `!Typewriter`, `!Audio`, `!Confetti`: web page effects, accepted and
    /// ignored in chat.
    WebOnly(String),
}

/// One piece of a message, in display order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Markdown text, shown as is.
    Text(String),
    /// The boundary between two source lines: ChatMD shows every line as its own paragraph.
    Break,
    /// `` `@name` ``: the variable's current value.
    Var(String),
    /// `` `@name = value` ``: sets a variable when reached, shows nothing.
    Assign {
        name: String,
        value: AssignValue,
        location: Location,
    },
    /// Legacy `` `@name = @INPUT : Title` ``: the next typed message is stored in `name`,
    /// then answered as if `Title` had been typed.
    Capture {
        name: String,
        target: String,
        location: Location,
    },
    Directive(Directive, Location),
    /// `` `if COND` `` … `` `endif` ``.
    If {
        condition: Condition,
        children: Vec<Node>,
    },
    /// `<section class="unique">…</section>` of the welcome message: first display only.
    ShowOnce(Vec<Node>),
}

/// Visits every node, depth first.
pub fn walk<'a>(nodes: &'a [Node], f: &mut dyn FnMut(&'a Node)) {
    for node in nodes {
        f(node);
        match node {
            Node::If { children, .. } | Node::ShowOnce(children) => walk(children, f),
            _ => {}
        }
    }
}

/// Every condition in a tree (for lints).
pub fn conditions(nodes: &[Node]) -> Vec<&Condition> {
    let mut out = Vec::new();
    walk(nodes, &mut |n| {
        if let Node::If { condition, .. } = n {
            out.push(condition);
        }
    });
    out
}

/// What a line is cut into before the tree is built.
enum Event {
    Node(Node),
    IfStart(Condition),
    IfEnd(Location),
    OnceStart(Location),
    OnceEnd,
}

const SECTION_OPEN: &str = "<section class=\"unique\">";
const SECTION_CLOSE: &str = "</section>";
const SPAN_OPEN: &str = "<span class=\"unique\">";
const SPAN_CLOSE: &str = "</span>";

/// Deepest nesting of `if` blocks and show-once parts in one message. Everything that reads
/// the tree (the display, the lints, dropping it) walks it recursively, one stack frame per
/// level, and a hostile base with thousands of levels aborted the daemon. Real bases nest two
/// or three levels; 32 is far beyond them and far from any stack limit.
pub const MAX_BLOCK_NESTING: usize = 32;

/// Options for [`build`].
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// `contenuDynamique`: without it, code spans and `if` lines are plain text.
    pub dynamic: bool,
    /// Recognise show-once parts (welcome message only).
    pub show_once: bool,
}

/// Builds the tree of one message variant. Unclosed `if`s and stray `endif`s are reported
/// as errors and repaired (closed at the end, ignored) so the result is always usable.
pub fn build(
    lines: &[Line],
    options: BuildOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Node> {
    let mut events = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            events.push(Event::Node(Node::Break));
        }
        scan_line(line, options, &mut events, diagnostics);
    }
    fold(events, diagnostics)
}

/// Containers open while folding events into a tree.
enum Open {
    If(Condition),
    Once,
}

fn fold(events: Vec<Event>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Node> {
    let mut stack: Vec<(Open, Vec<Node>)> = Vec::new();
    let mut root: Vec<Node> = Vec::new();
    fn current<'a>(
        root: &'a mut Vec<Node>,
        stack: &'a mut [(Open, Vec<Node>)],
    ) -> &'a mut Vec<Node> {
        match stack.last_mut() {
            Some((_, children)) => children,
            None => root,
        }
    }
    fn close(open: Open, children: Vec<Node>) -> Node {
        match open {
            Open::If(condition) => Node::If {
                condition,
                children,
            },
            Open::Once => Node::ShowOnce(children),
        }
    }
    // Blocks opened past the nesting limit are not opened at all (their content joins the
    // deepest block); `ignored_ifs` lets their `endif`s pair up without closing real blocks.
    // The limit is reported once per message: the base is refused anyway.
    let mut ignored_ifs = 0usize;
    let mut too_deep_reported = false;
    let mut too_deep = |location: Location, diagnostics: &mut Vec<Diagnostic>| {
        if !too_deep_reported {
            too_deep_reported = true;
            diagnostics.push(Diagnostic::error(
                Some(location),
                format!(
                    "`if` blocks and show-once parts nested more than {MAX_BLOCK_NESTING} levels deep"
                ),
            ));
        }
    };
    for event in events {
        match event {
            Event::Node(node) => current(&mut root, &mut stack).push(node),
            Event::IfStart(condition) if stack.len() >= MAX_BLOCK_NESTING => {
                too_deep(condition.location, diagnostics);
                ignored_ifs += 1;
            }
            Event::IfStart(condition) => stack.push((Open::If(condition), Vec::new())),
            Event::OnceStart(location) if stack.len() >= MAX_BLOCK_NESTING => {
                too_deep(location, diagnostics);
            }
            Event::OnceStart(_) => stack.push((Open::Once, Vec::new())),
            Event::IfEnd(_) if ignored_ifs > 0 => ignored_ifs -= 1,
            Event::IfEnd(location) => {
                // Close up to the innermost `if`; show-once parts inside it end with it.
                match stack
                    .iter()
                    .rposition(|(open, _)| matches!(open, Open::If(_)))
                {
                    Some(index) => {
                        while stack.len() > index {
                            if let Some((open, children)) = stack.pop() {
                                let node = close(open, children);
                                current(&mut root, &mut stack).push(node);
                            }
                        }
                    }
                    None => diagnostics.push(Diagnostic::error(
                        Some(location),
                        "`endif` without a matching `if`",
                    )),
                }
            }
            Event::OnceEnd => {
                if matches!(stack.last(), Some((Open::Once, _)))
                    && let Some((open, children)) = stack.pop()
                {
                    let node = close(open, children);
                    current(&mut root, &mut stack).push(node);
                }
            }
        }
    }
    while let Some((open, children)) = stack.pop() {
        if let Open::If(condition) = &open {
            diagnostics.push(Diagnostic::error(
                Some(condition.location),
                format!("`if {}` is never closed by an `endif`", condition.source),
            ));
        }
        let node = close(open, children);
        current(&mut root, &mut stack).push(node);
    }
    root
}

/// Cuts a line into events: code spans (conditions, assignments, variables), directives,
/// show-once markers and plain text.
fn scan_line(
    line: &Line,
    options: BuildOptions,
    events: &mut Vec<Event>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let text = line.text.as_str();
    let mut rest = text;
    // Characters of `text` before `rest`, for columns: counted as the line is consumed, so a
    // line of many code spans costs linear time, not one count from the line start per span.
    let mut chars_before = 0usize;
    while !rest.is_empty() {
        let span = if options.dynamic {
            find_code_span(rest)
        } else {
            None
        };
        let (before, after_span) = match span {
            Some((start, end)) => (&rest[..start], Some((start, end))),
            None => (rest, None),
        };
        scan_plain(before, line.location, options, events);
        let Some((start, end)) = after_span else {
            break;
        };
        let inner = &rest[start + 1..end];
        // 1-based column of the character after the opening backtick.
        let column = chars_before + rest[..=start].chars().count() + 1;
        let column = u32::try_from(column).unwrap_or(u32::MAX);
        events.push(code_span_event(inner, line.location, column, diagnostics));
        chars_before += rest[..=end].chars().count();
        rest = &rest[end + 1..];
    }
}

/// The byte range of the first code span `` `…` `` (backtick positions).
fn find_code_span(text: &str) -> Option<(usize, usize)> {
    let start = text.find('`')?;
    let end = text[start + 1..].find('`')? + start + 1;
    Some((start, end))
}

fn code_span_event(
    inner: &str,
    location: Location,
    column: u32,
    diagnostics: &mut Vec<Diagnostic>,
) -> Event {
    let literal = || Event::Node(Node::Text(format!("`{inner}`")));
    if let Some(condition) = inner.strip_prefix("if ") {
        return match expr::parse_condition(condition) {
            Ok(expr) => Event::IfStart(Condition {
                source: condition.to_string(),
                expr,
                location,
            }),
            Err(err) => {
                diagnostics.push(
                    Diagnostic::error(
                        Some(location),
                        format!("invalid condition `{condition}`: {}", err.message),
                    )
                    .with_column(column + 3 + u32::try_from(err.column).unwrap_or(0)),
                );
                // Keep the block structure so the matching `endif` still pairs up; a
                // condition that cannot be evaluated is false, as in ChatMD.
                Event::IfStart(Condition {
                    source: condition.to_string(),
                    expr: Expr::Bool(false),
                    location,
                })
            }
        };
    }
    if inner.trim() == "endif" {
        return Event::IfEnd(location);
    }
    let Some(assignment) = inner.strip_prefix('@') else {
        return literal();
    };
    let name_end = assignment
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(assignment.len());
    let name = &assignment[..name_end];
    if name.is_empty() {
        return literal();
    }
    let after_name = assignment[name_end..].trim_start();
    let Some(value) = after_name.strip_prefix('=') else {
        if after_name.is_empty() {
            return Event::Node(Node::Var(name.to_string()));
        }
        return literal();
    };
    let value = value.trim();
    if let Some(target) = value.strip_prefix("@INPUT")
        && let Some(target) = target.trim_start().strip_prefix(':')
    {
        return Event::Node(Node::Capture {
            name: name.to_string(),
            target: target.trim().to_string(),
            location,
        });
    }
    match parse_assign_value(value) {
        Ok(value) => Event::Node(Node::Assign {
            name: name.to_string(),
            value,
            location,
        }),
        Err(err) => {
            diagnostics.push(
                Diagnostic::error(
                    Some(location),
                    format!(
                        "invalid `calc` in the assignment of `@{name}`: {}",
                        err.message
                    ),
                )
                .with_column(column),
            );
            // ChatMD leaves the variable undefined when a calc fails.
            Event::Node(Node::Assign {
                name: name.to_string(),
                value: AssignValue::Calc(Expr::Undefined),
                location,
            })
        }
    }
}

/// `calc(…)` or literal alternatives separated by `///`.
pub fn parse_assign_value(value: &str) -> Result<AssignValue, expr::ExprError> {
    if let Some(inner) = value
        .strip_prefix("calc(")
        .and_then(|v| v.strip_suffix(')'))
    {
        return expr::parse_calc(inner).map(AssignValue::Calc);
    }
    Ok(AssignValue::Text(
        value.split("///").map(|s| s.trim().to_string()).collect(),
    ))
}

/// Plain text: directives and show-once markers are found here. One pass from left to
/// right: the markers cut the text into pieces, each searched for a directive.
fn scan_plain(text: &str, location: Location, options: BuildOptions, events: &mut Vec<Event>) {
    let mut rest = text;
    if options.show_once {
        while let Some((pos, marker_len, is_open)) = next_show_once_marker(rest) {
            scan_directive(&rest[..pos], location, events);
            events.push(if is_open {
                Event::OnceStart(location)
            } else {
                Event::OnceEnd
            });
            rest = &rest[pos + marker_len..];
        }
    }
    scan_directive(rest, location, events);
}

/// The first show-once marker in `text`: its byte offset, length, and whether it opens a part.
/// Every marker starts with `<`, so only those positions are tried.
fn next_show_once_marker(text: &str) -> Option<(usize, usize, bool)> {
    const MARKERS: [(&str, bool); 4] = [
        (SECTION_OPEN, true),
        (SECTION_CLOSE, false),
        (SPAN_OPEN, true),
        (SPAN_CLOSE, false),
    ];
    text.match_indices('<').find_map(|(pos, _)| {
        MARKERS
            .iter()
            .find(|(marker, _)| text[pos..].starts_with(marker))
            .map(|(marker, is_open)| (pos, marker.len(), *is_open))
    })
}

/// Text with at most one directive, which runs to the end of the text.
fn scan_directive(text: &str, location: Location, events: &mut Vec<Event>) {
    if text.is_empty() {
        return;
    }
    match find_directive(text) {
        Some((start, directive)) => {
            if start > 0 {
                events.push(Event::Node(Node::Text(text[..start].to_string())));
            }
            events.push(Event::Node(Node::Directive(directive, location)));
        }
        None => events.push(Event::Node(Node::Text(text.to_string()))),
    }
}

/// Finds the first directive in a line; it runs to the end of the line.
pub fn find_directive(text: &str) -> Option<(usize, Directive)> {
    let mut best: Option<(usize, Directive)> = None;
    let mut search = 0;
    while let Some(found) = text[search..].find('!') {
        let start = search + found;
        let after = &text[start + 1..];
        if let Some(directive) = directive_at(after) {
            best = Some((start, directive));
            break;
        }
        search = start + 1;
    }
    best
}

/// Value after `Name:` (spaces allowed before the colon only where ChatMD allows them).
fn directive_value<'a>(after: &'a str, name: &str, space_before_colon: bool) -> Option<&'a str> {
    let rest = after.strip_prefix(name)?;
    let rest = if space_before_colon {
        rest.trim_start()
    } else {
        rest
    };
    rest.strip_prefix(':').map(str::trim)
}

fn directive_at(after: &str) -> Option<Directive> {
    // `!SelectNext` before `!Select`: one is a prefix of the other.
    if let Some(value) = directive_value(after, "SelectNext", false) {
        let titles: Vec<String> = value
            .split('/')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        return Some(Directive::SelectNext(titles));
    }
    if let Some(value) = directive_value(after, "Select", true) {
        let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().ok().map(Directive::Select);
    }
    if let Some(value) = directive_value(after, "Next", false) {
        let mut parts = value.splitn(3, '/');
        let head = parts.next().unwrap_or("");
        let never_skip = head.contains("!loop");
        let target = head.replace("!loop", "").trim().to_string();
        let message = parts.next().map(str::trim).filter(|m| !m.is_empty());
        let ignore_keywords = message.is_some_and(|m| m.contains("ignoreKeywords"));
        let retry = message.filter(|_| !ignore_keywords).map(str::to_string);
        return Some(Directive::Next {
            target,
            retry,
            ignore_keywords,
            never_skip,
        });
    }
    if let Some(value) = directive_value(after, "Bot", false) {
        return Some(Directive::Bot(value.to_string()));
    }
    for name in ["Keyboard", "Typewriter", "Audio"] {
        if directive_value(after, name, false).is_some() {
            return Some(Directive::WebOnly(name.to_string()));
        }
    }
    if after.starts_with("Confetti") {
        return Some(Directive::WebOnly("Confetti".to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<Line> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Line {
                text: (*t).to_string(),
                location: Location {
                    file: 0,
                    line: i as u32 + 1,
                },
            })
            .collect()
    }

    fn tree(texts: &[&str]) -> (Vec<Node>, Vec<Diagnostic>) {
        let mut d = Vec::new();
        let nodes = build(
            &lines(texts),
            BuildOptions {
                dynamic: true,
                show_once: true,
            },
            &mut d,
        );
        (nodes, d)
    }

    #[test]
    fn if_blocks_nest() {
        let (nodes, d) = tree(&[
            "a",
            "`if @x==1`",
            "b",
            "`if @y==2`",
            "c",
            "`endif`",
            "`endif`",
            "z",
        ]);
        assert!(d.is_empty(), "{d:?}");
        let ifs = conditions(&nodes);
        assert_eq!(ifs.len(), 2);
        assert_eq!(ifs[0].source, "@x==1");
        assert_eq!(ifs[1].location.line, 4);
        assert_eq!(nodes.last(), Some(&Node::Text("z".into())));
    }

    #[test]
    fn unclosed_if_names_its_line() {
        let (_, d) = tree(&["a", "`if @x==1`", "b"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].location.unwrap().line, 2);
        assert!(d[0].message.contains("never closed"));
    }

    #[test]
    fn stray_endif_is_an_error() {
        let (_, d) = tree(&["a", "`endif`"]);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("without a matching"));
    }

    #[test]
    fn assignments_variables_captures() {
        let (nodes, d) =
            tree(&["Bonjour `@nom` `@n = calc(1+2)` `@a = x /// y` `@v = @INPUT : Suite`"]);
        assert!(d.is_empty(), "{d:?}");
        assert!(nodes.contains(&Node::Var("nom".into())));
        assert!(nodes.iter().any(
            |n| matches!(n, Node::Assign { name, value: AssignValue::Calc(_), .. } if name == "n")
        ));
        assert!(nodes.contains(&Node::Assign {
            name: "a".into(),
            value: AssignValue::Text(vec!["x".into(), "y".into()]),
            location: Location { file: 0, line: 1 }
        }));
        assert!(nodes.iter().any(
            |n| matches!(n, Node::Capture { name, target, .. } if name == "v" && target == "Suite")
        ));
    }

    #[test]
    fn code_spans_are_text_without_dynamic_content() {
        let mut d = Vec::new();
        let nodes = build(
            &lines(&["`if @x==1`", "`@a`"]),
            BuildOptions {
                dynamic: false,
                show_once: false,
            },
            &mut d,
        );
        assert!(d.is_empty());
        assert!(conditions(&nodes).is_empty());
        assert_eq!(nodes[0], Node::Text("`if @x==1`".into()));
    }

    #[test]
    fn directives() {
        let cases: &[(&str, Directive)] = &[
            (
                "!Next: Capitale / Non, essaie encore / ignoré",
                Directive::Next {
                    target: "Capitale".into(),
                    retry: Some("Non, essaie encore".into()),
                    ignore_keywords: false,
                    never_skip: false,
                },
            ),
            (
                "!Next: Nom / ignoreKeywords",
                Directive::Next {
                    target: "Nom".into(),
                    retry: None,
                    ignore_keywords: true,
                    never_skip: false,
                },
            ),
            (
                "!Next: Q2 !loop",
                Directive::Next {
                    target: "Q2".into(),
                    retry: None,
                    ignore_keywords: false,
                    never_skip: true,
                },
            ),
            (
                "!SelectNext: A / B",
                Directive::SelectNext(vec!["A".into(), "B".into()]),
            ),
            ("!Select : 2", Directive::Select(2)),
            ("!Select:3", Directive::Select(3)),
            ("!Bot: Marie", Directive::Bot("Marie".into())),
            ("!Keyboard: false", Directive::WebOnly("Keyboard".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(
                find_directive(text).map(|(_, d)| d).as_ref(),
                Some(expected),
                "{text}"
            );
        }
        assert_eq!(find_directive("Attention ! Important"), None);
        let (start, _) = find_directive("Question : !Next: R").unwrap();
        assert_eq!(start, 11);
    }

    #[test]
    fn show_once_sections() {
        let (nodes, _) = tree(&[
            "<section class=\"unique\">",
            "Intro",
            "</section>",
            "Toujours",
        ]);
        assert!(
            matches!(&nodes[0], Node::ShowOnce(children) if children.contains(&Node::Text("Intro".into())))
        );
        assert!(nodes.contains(&Node::Text("Toujours".into())));
    }

    #[test]
    fn invalid_condition_is_reported_with_a_column() {
        let (_, d) = tree(&["`if @x==1 && eval(2)`", "`endif`"]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].column.is_some());
    }
}

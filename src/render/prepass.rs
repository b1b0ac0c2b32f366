//! The line pre-pass before the Markdown parser: HTML comments, ChatMD's boxes (admonitions)
//! and the line rewrites CommonMark does not know (docs/chatmd.md §F5.1, §F11).

use super::MAX_BOX_DEPTH;

/// Removes HTML comments; an unterminated one hides the rest of the text, as in a browser.
pub(crate) fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        // Removing `<!--a-->` from `<!<!--a-->--b-->` joins `<!` and `--` into a new opener.
        let joined = ["<!-", "<!", "<"].iter().find_map(|head| {
            let tail = "<!--".get(head.len()..)?;
            (out.ends_with(head) && rest.starts_with(tail)).then_some((head.len(), tail.len()))
        });
        let opener_length = match joined {
            Some((head, tail)) => {
                out.truncate(out.len() - head);
                tail
            }
            None => match rest.find("<!--") {
                Some(start) => {
                    out.push_str(rest.get(..start).unwrap_or_default());
                    rest = rest.get(start..).unwrap_or_default();
                    4
                }
                None => {
                    out.push_str(rest);
                    break;
                }
            },
        };
        let after_opener = rest.get(opener_length..).unwrap_or_default();
        let Some(end) = after_opener.find("-->") else {
            break;
        };
        rest = after_opener.get(end + 3..).unwrap_or_default();
        // `a <!-- x --> b` leaves one space, not two.
        if out.ends_with(' ') && rest.starts_with(' ') {
            rest = rest.get(1..).unwrap_or_default();
        }
    }
    out
}

/// Last line of defence on rendered text: whatever the input, no output contains `<!--`.
pub(crate) fn strip_comment_openers(text: &mut String) {
    if !text.contains("<!--") {
        return;
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        out.push(c);
        if out.ends_with("<!--") {
            out.truncate(out.len() - 4);
        }
    }
    *text = out;
}

/// The source cut into plain Markdown and admonitions (docs/chatmd.md §F11).
#[derive(Debug, PartialEq)]
pub(super) enum Segment {
    Markdown(String),
    Admonition {
        kind: String,
        collapsible: bool,
        title: String,
        body: Vec<Segment>,
    },
}

/// A line of the source, or a box already closed, inside an open box.
#[derive(Debug)]
enum Piece {
    Line(String),
    Box(Segment),
}

#[derive(Debug)]
struct OpenBox {
    colons: usize,
    kind: String,
    collapsible: bool,
    title: String,
    /// The opening line as written, to restore it when the box is never closed.
    opening_line: String,
    pieces: Vec<Piece>,
}

struct Opening<'a> {
    colons: usize,
    kind: &'a str,
    collapsible: bool,
    title: &'a str,
}

/// `:::type [collapsible] [title]`, with at least three colons.
fn parse_opening(line: &str) -> Option<Opening<'_>> {
    let trimmed = line.trim_start();
    let colons = trimmed.len() - trimmed.trim_start_matches(':').len();
    if colons < 3 {
        return None;
    }
    let rest = trimmed.get(colons..)?;
    let kind_len = rest.len()
        - rest
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
            .len();
    let (kind, after) = rest.split_at(kind_len);
    if kind.is_empty() || after.chars().next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let after = after.trim();
    let (collapsible, title) = match after.strip_prefix("collapsible") {
        Some(title) if title.is_empty() || title.starts_with(char::is_whitespace) => {
            (true, title.trim())
        }
        _ => (false, after),
    };
    Some(Opening {
        colons,
        kind,
        collapsible,
        title,
    })
}

/// A line made only of three or more colons closes the box opened with as many.
fn closing_colons(line: &str) -> Option<usize> {
    let trimmed = line.trim();
    (trimmed.len() >= 3 && trimmed.bytes().all(|b| b == b':')).then_some(trimmed.len())
}

/// Opening fence of a code block: (fence character, length).
fn fence_opening(line: &str) -> Option<(char, usize)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let fence_char = trimmed.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let length = trimmed.len() - trimmed.trim_start_matches(fence_char).len();
    (length >= 3).then_some((fence_char, length))
}

fn closes_fence(line: &str, (fence_char, length): (char, usize)) -> bool {
    let trimmed = line.trim();
    trimmed.len() >= length && trimmed.chars().all(|c| c == fence_char)
}

fn leading_spaces(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// Cuts the text into Markdown and admonitions.
///
/// ChatMD closes a box at the first closing line after its opening and nests only boxes
/// written with more colons. Here a box is closed by the next line with exactly its number of
/// colons and any opening line inside a box nests, so the authors' intent survives where the
/// web app breaks. Inside a box, indented opening and closing lines count too: the real corpus
/// indents an inner box by four spaces, which the web app turns into a code block.
pub(super) fn split_admonitions(text: &str) -> Vec<Segment> {
    let mut root: Vec<Piece> = Vec::new();
    let mut open: Vec<OpenBox> = Vec::new();
    let mut fence: Option<(char, usize)> = None;

    for line in text.split('\n') {
        if let Some(current_fence) = fence {
            if closes_fence(line, current_fence) {
                fence = None;
            }
            // Joining content lines with "\n\n" (docs/chatmd.md §F5.1) put an empty line between
            // every code line; content lines are never empty, so these can all go.
            if !line.is_empty() {
                current_pieces(&mut open, &mut root).push(Piece::Line(line.to_owned()));
            }
            continue;
        }
        if let Some(opened) = fence_opening(line) {
            fence = Some(opened);
            current_pieces(&mut open, &mut root).push(Piece::Line(line.to_owned()));
            continue;
        }
        let recognised = !open.is_empty() || leading_spaces(line) <= 3;
        if recognised {
            if let Some(colons) = closing_colons(line) {
                if let Some(index) = open.iter().rposition(|b| b.colons == colons) {
                    close_boxes(&mut open, &mut root, index);
                    continue;
                }
            } else if let Some(opening) = parse_opening(line).filter(|_| open.len() < MAX_BOX_DEPTH)
            {
                open.push(OpenBox {
                    colons: opening.colons,
                    kind: opening.kind.to_owned(),
                    collapsible: opening.collapsible,
                    title: clean_line(opening.title),
                    opening_line: line.to_owned(),
                    pieces: Vec::new(),
                });
                continue;
            }
        }
        current_pieces(&mut open, &mut root).push(Piece::Line(clean_line(line)));
    }

    // A box never closed is no box (the web app needs the closing line): put its text back.
    while let Some(unclosed) = open.pop() {
        let parent = current_pieces(&mut open, &mut root);
        parent.push(Piece::Line(clean_line(&unclosed.opening_line)));
        parent.extend(unclosed.pieces);
    }
    pieces_to_segments(root, false)
}

/// Where the next line goes: the innermost open box, or the top level.
fn current_pieces<'a>(open: &'a mut [OpenBox], root: &'a mut Vec<Piece>) -> &'a mut Vec<Piece> {
    match open.last_mut() {
        Some(current) => &mut current.pieces,
        None => root,
    }
}

/// Closes the box at `index` and every box opened inside it.
fn close_boxes(open: &mut Vec<OpenBox>, root: &mut Vec<Piece>, index: usize) {
    while open.len() > index {
        let Some(closed) = open.pop() else { break };
        let segment = Segment::Admonition {
            kind: closed.kind,
            collapsible: closed.collapsible,
            title: closed.title,
            body: pieces_to_segments(closed.pieces, true),
        };
        current_pieces(open, root).push(Piece::Box(segment));
    }
}

fn pieces_to_segments(pieces: Vec<Piece>, in_box: bool) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Line(line) => lines.push(line),
            Piece::Box(segment) => {
                push_markdown(&mut segments, std::mem::take(&mut lines), in_box);
                segments.push(segment);
            }
        }
    }
    push_markdown(&mut segments, lines, in_box);
    segments
}

fn push_markdown(segments: &mut Vec<Segment>, lines: Vec<String>, in_box: bool) {
    let lines = if in_box { dedent(lines) } else { lines };
    let mut glued: Vec<String> = Vec::with_capacity(lines.len());
    for line in lines {
        // ChatMD removes the newline before a `|` so that table rows separated by the
        // "\n\n" join form a table again (docs/chatmd.md §F5.1).
        if line.trim_start().starts_with('|') {
            let previous_is_row = glued
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_start().starts_with('|'));
            if previous_is_row {
                while glued.last().is_some_and(|l| l.trim().is_empty()) {
                    glued.pop();
                }
            }
        }
        glued.push(line);
    }
    let markdown = glued.join("\n");
    if !markdown.trim().is_empty() {
        segments.push(Segment::Markdown(markdown));
    }
}

/// Removes the indentation common to the non-blank lines, so that an indented box body is
/// not read as a code block.
fn dedent(lines: Vec<String>) -> Vec<String> {
    let common = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| leading_spaces(l))
        .min()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|line| {
            if line.trim().is_empty() {
                String::new()
            } else {
                line.get(common..).unwrap_or_default().to_owned()
            }
        })
        .collect()
}

/// Per-line rewrites of ChatMD syntax that CommonMark does not know.
pub(super) fn clean_line(line: &str) -> String {
    fix_link_groups(strip_class_suffix(line))
}

/// `{.class1 .class2}` at the end of a line only adds CSS classes (docs/chatmd.md §F13).
fn strip_class_suffix(line: &str) -> &str {
    let trimmed = line.trim_end();
    let Some(body) = trimmed.strip_suffix('}') else {
        return line;
    };
    let Some(open) = body.rfind('{') else {
        return line;
    };
    let inside = body.get(open + 1..).unwrap_or_default();
    let is_class = |token: &str| {
        token.strip_prefix('.').is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
    };
    if inside.split_whitespace().next().is_some() && inside.split_whitespace().all(is_class) {
        body.get(..open).unwrap_or_default().trim_end()
    } else {
        line
    }
}

/// Rewrites `[label] (target)` as `[label](target)` (Showdown accepts the space, docs/chatmd.md
/// §F5.1) and drops the `=WxH` size of images (`![alt](url =100x80)`, docs/chatmd.md §F13).
fn fix_link_groups(line: &str) -> String {
    if !line.contains(']') {
        return line.to_owned();
    }
    let closing_parens = matching_parens(line);
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    let mut last_open_bracket: Option<usize> = None;
    while let Some(close) = rest.find(']') {
        let (before, after) = rest.split_at(close + 1);
        if let Some(open) = before.rfind('[') {
            last_open_bracket = Some(out.len() + open);
        }
        out.push_str(before);
        rest = after;
        let Some(bracket) = last_open_bracket else {
            continue;
        };
        let after_spaces = after.trim_start_matches([' ', '\t']);
        let spaced = after_spaces.len() != after.len();
        let offset = line.len() - after_spaces.len();
        let Some(paren_end) = closing_parens.get(&offset).map(|close| close - offset) else {
            continue;
        };
        let inside = after_spaces.get(1..paren_end).unwrap_or_default();
        let destination = strip_size(inside);
        if spaced {
            // Only a plausible link destination: not `[note] (see above)`, not a task box.
            let label = out
                .get(bracket + 1..out.len() - 1)
                .unwrap_or_default()
                .trim();
            let looks_like_link =
                !destination.is_empty() && !destination.contains(char::is_whitespace);
            if !looks_like_link || label.is_empty() || label.eq_ignore_ascii_case("x") {
                continue;
            }
        }
        out.push('(');
        out.push_str(&destination);
        out.push(')');
        rest = after_spaces.get(paren_end + 1..).unwrap_or_default();
        last_open_bracket = None;
    }
    out.push_str(rest);
    out
}

/// For every `(` of the line that is closed, the byte index of its `)` (backslash escapes
/// skipped), computed once so that each link group is found in constant time.
fn matching_parens(line: &str) -> std::collections::HashMap<usize, usize> {
    let mut matches = std::collections::HashMap::new();
    let mut open = Vec::new();
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => open.push(index),
            ')' => {
                if let Some(start) = open.pop() {
                    matches.insert(start, index);
                }
            }
            _ => {}
        }
    }
    matches
}

/// Removes a `=WxH` token following the destination inside `( … )`.
fn strip_size(inside: &str) -> String {
    let trimmed = inside.trim();
    let Some(split) = trimmed.find(char::is_whitespace) else {
        return trimmed.to_owned();
    };
    let (destination, remainder) = trimmed.split_at(split);
    let remainder = remainder.trim_start();
    match remainder.strip_prefix('=') {
        Some(size) => {
            let after_size = size
                .find(char::is_whitespace)
                .map_or("", |end| size.get(end..).unwrap_or_default().trim_start());
            if after_size.is_empty() {
                destination.to_owned()
            } else {
                format!("{destination} {after_size}")
            }
        }
        None => trimmed.to_owned(),
    }
}

//! Turns the Markdown of a bot reply into what each platform shows: plain text (terminal and
//! Matrix `body`), Matrix HTML and Discord Markdown.
//!
//! The three renderers share one front end, in this file: a line pre-pass that reproduces the
//! ChatMD extensions a CommonMark parser does not know (docs/chatmd.md §F5.1, §F11, §F13), then
//! pulldown-cmark, whose events are folded into a small owned document tree ([`Block`],
//! [`Inline`]) in which raw HTML has already been reduced to text, line breaks, simple styles,
//! links and media. Each renderer is then a plain walk over that tree.
//!
//! The tree's depth is bounded ([`MAX_BOX_DEPTH`], [`MAX_TREE_DEPTH`]): deeper input is
//! flattened to text, so the renderers' recursion is bounded whatever the input.

mod discord;
mod matrix;
mod plain;

pub use discord::{DISCORD_MESSAGE_LIMIT, discord};
pub use matrix::{MatrixMessage, matrix};
pub use plain::plain;

use pulldown_cmark::{
    CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd, TextMergeStream,
};

// --- User-visible words -------------------------------------------------------------------
// STRINGS: these French words are shown to users; move them into the strings module.

/// Title of a collapsible box written without a title (docs/chatmd.md §F11).
pub const DEFAULT_COLLAPSIBLE_TITLE: &str = "Détails";
/// Name of an image when it has no alternative text, and in the plain `[image: …]` label.
pub const MEDIA_LABEL_IMAGE: &str = "image";
/// Name of a video (`<video>`, or an image whose address is a video file).
pub const MEDIA_LABEL_VIDEO: &str = "vidéo";
/// Name of a sound (`<audio>`, or an image whose address is a sound file).
pub const MEDIA_LABEL_AUDIO: &str = "audio";
/// Name of embedded content (`<iframe>`, `<embed>`, `<object>`).
pub const MEDIA_LABEL_EMBED: &str = "contenu intégré";

// --- Presentation constants shared by the renderers ----------------------------------------

/// What a horizontal rule (`*****`, `---`) becomes in text renderings.
const TEXT_RULE: &str = "──────────";
/// Markers of a task-list item, done or not.
const TASK_DONE: &str = "☑ ";
const TASK_OPEN: &str = "☐ ";

/// Admonitions nest by colon count; deeper opening lines are kept as text.
const MAX_BOX_DEPTH: usize = 8;
/// Markdown containers deeper than this are flattened to their text.
const MAX_TREE_DEPTH: usize = 24;

/// The emoji shown before the title of an admonition of type `kind` (docs/chatmd.md §F11 lists the
/// styled types; any other word gets the default style, hence a neutral pin).
pub fn admonition_emoji(kind: &str) -> &'static str {
    match kind.to_ascii_lowercase().as_str() {
        "info" => "ℹ️",
        "warning" => "⚠️",
        "success" => "✅",
        "danger" => "🚨",
        "note" => "📝",
        "tip" => "💡",
        "bug" => "🐛",
        "spoiler" => "🙈",
        _ => "📌",
    }
}

// --- Document tree -------------------------------------------------------------------------

/// A block of the rendered reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Paragraph(Vec<Inline>),
    Heading(u8, Vec<Inline>),
    Quote(Vec<Block>),
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Code {
        language: String,
        text: String,
    },
    Rule,
    Table {
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Admonition(Admonition),
}

/// A ChatMD box (`:::type [collapsible] [title]`, docs/chatmd.md §F11).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Admonition {
    pub kind: String,
    pub title: Vec<Inline>,
    pub body: Vec<Block>,
}

impl Admonition {
    pub(crate) fn emoji(&self) -> &'static str {
        admonition_emoji(&self.kind)
    }
}

/// Inline content. Text is final (entities decoded, emoji shortcodes replaced) and unescaped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inline {
    Text(String),
    Code(String),
    Styled(Style, Vec<Inline>),
    Link {
        target: LinkTarget,
        content: Vec<Inline>,
    },
    Media(Media),
    LineBreak,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Strong,
    Emphasis,
    Strikethrough,
    Underline,
    Superscript,
    Subscript,
}

/// Where a link leads, as far as a chat message is concerned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LinkTarget {
    /// `#title`: in ChatMD a jump to a response; in a chat, only its text is shown.
    Internal,
    /// An address a chat client can open (`http`, `https`, `mailto`, `tel`).
    External(String),
    /// A relative or unsafe address (`javascript:`…): only the link text is shown.
    Unusable,
}

impl LinkTarget {
    fn classify(url: &str) -> Self {
        let url = url.trim();
        if url.starts_with('#') {
            return Self::Internal;
        }
        match url_scheme(url).as_deref() {
            Some("http" | "https" | "mailto" | "tel") => Self::External(url.to_owned()),
            _ => Self::Unusable,
        }
    }
}

/// The lower-cased scheme of `url`, if it has one.
pub(crate) fn url_scheme(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once(':')?;
    let valid = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

/// An image, video, sound or embedded page: chats cannot embed external media, so each
/// renderer shows it as a link.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Media {
    pub kind: MediaKind,
    pub url: String,
    pub alt: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaKind {
    Image,
    Video,
    Audio,
    Embed,
}

impl MediaKind {
    /// ChatMD authors put videos and sounds in image syntax (`![…](film.mp4)`): the file
    /// extension tells what the reader will get.
    fn from_url(url: &str) -> Self {
        let path = url.split(['?', '#']).next().unwrap_or_default();
        let extension = path
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        match extension.as_deref() {
            Some("mp4" | "webm" | "ogv" | "mov" | "m4v" | "mkv") => Self::Video,
            Some("mp3" | "ogg" | "oga" | "wav" | "m4a" | "flac" | "opus") => Self::Audio,
            _ => Self::Image,
        }
    }

    /// Most pages embedded in ChatMD replies are video players (Digiview, YouTube…).
    fn from_embed_url(url: &str) -> Self {
        let url = url.to_ascii_lowercase();
        let video_hosts = [
            "video",
            "youtube",
            "youtu.be",
            "vimeo",
            "dailymotion",
            "peertube",
            "digiview",
        ];
        if video_hosts.iter().any(|host| url.contains(host)) {
            Self::Video
        } else {
            Self::Embed
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Image => MEDIA_LABEL_IMAGE,
            Self::Video => MEDIA_LABEL_VIDEO,
            Self::Audio => MEDIA_LABEL_AUDIO,
            Self::Embed => MEDIA_LABEL_EMBED,
        }
    }

    pub(crate) fn emoji(self) -> &'static str {
        match self {
            Self::Image => "🖼️",
            Self::Video => "🎬",
            Self::Audio => "🔊",
            Self::Embed => "🔗",
        }
    }
}

impl Media {
    /// The address to link to, if a chat client can open it.
    pub(crate) fn link(&self) -> Option<&str> {
        matches!(url_scheme(&self.url).as_deref(), Some("http" | "https"))
            .then_some(self.url.as_str())
    }

    /// The words naming the media: its alternative text, or its kind.
    pub(crate) fn name(&self) -> &str {
        if self.alt.trim().is_empty() {
            self.kind.label()
        } else {
            self.alt.trim()
        }
    }
}

/// Parses a reply into the document tree shared by the renderers.
pub(crate) fn parse(markdown: &str) -> Vec<Block> {
    let text = strip_html_comments(&markdown.replace("\r\n", "\n").replace('\r', "\n"));
    segments_to_blocks(split_admonitions(&text))
}

/// Parses a bot message whose numbered lists get `step_label` instead of their numbers, when
/// it is given ([`crate::engine::BotMessage::step_label`]: the message has choices).
pub(crate) fn parse_message(markdown: &str, step_label: Option<&str>) -> Vec<Block> {
    let mut blocks = parse(markdown);
    if let Some(label) = step_label {
        label_steps(&mut blocks, label);
    }
    blocks
}

/// Turns every numbered list into a bulleted one whose items open with `label` in bold
/// (`{n}`: the item's number; an empty label leaves bare bullets). Typing a number picks a
/// choice, so a message with choices shows no other "3." that could be taken for one
/// (issue 18, item 10). The tree's depth is bounded, and so is this recursion.
fn label_steps(blocks: &mut [Block], label: &str) {
    for block in blocks {
        match block {
            Block::Quote(inner) => label_steps(inner, label),
            Block::Admonition(admonition) => label_steps(&mut admonition.body, label),
            Block::List { start, items } => {
                let first = start.take();
                for (index, item) in items.iter_mut().enumerate() {
                    label_steps(item, label);
                    let Some(first) = first else { continue };
                    let number = first.saturating_add(index as u64).to_string();
                    let text = label.replace("{n}", &number);
                    if text.trim().is_empty() {
                        continue;
                    }
                    let marker = Inline::Styled(Style::Strong, vec![Inline::Text(text)]);
                    match item.first_mut() {
                        Some(Block::Paragraph(inlines)) => {
                            inlines.splice(0..0, [marker, Inline::Text(" ".to_owned())]);
                        }
                        _ => item.insert(0, Block::Paragraph(vec![marker])),
                    }
                }
            }
            _ => {}
        }
    }
}

// --- Pre-pass: comments -------------------------------------------------------------------

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

// --- Pre-pass: lines, admonitions ----------------------------------------------------------

/// The source cut into plain Markdown and admonitions (docs/chatmd.md §F11).
#[derive(Debug, PartialEq)]
enum Segment {
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
fn split_admonitions(text: &str) -> Vec<Segment> {
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
fn clean_line(line: &str) -> String {
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

// --- Segments to blocks --------------------------------------------------------------------

fn segments_to_blocks(segments: Vec<Segment>) -> Vec<Block> {
    let mut blocks = Vec::new();
    for segment in segments {
        match segment {
            Segment::Markdown(markdown) => blocks.extend(TreeBuilder::build(&markdown)),
            Segment::Admonition {
                kind,
                collapsible,
                title,
                body,
            } => {
                let always_collapsible = kind.eq_ignore_ascii_case("spoiler");
                let title = if title.is_empty() && (collapsible || always_collapsible) {
                    vec![Inline::Text(DEFAULT_COLLAPSIBLE_TITLE.to_owned())]
                } else {
                    let mut inlines = Vec::new();
                    for block in TreeBuilder::build(&title) {
                        if !inlines.is_empty() {
                            inlines.push(Inline::Text(" ".to_owned()));
                        }
                        block_into_inlines(block, &mut inlines);
                    }
                    tidy_inlines(inlines)
                };
                blocks.push(Block::Admonition(Admonition {
                    kind,
                    title,
                    body: segments_to_blocks(body),
                }));
            }
        }
    }
    blocks
}

/// The inline content of a block, for places that only hold inlines (titles, table cells).
fn block_into_inlines(block: Block, out: &mut Vec<Inline>) {
    let push_blocks = |blocks: Vec<Block>, out: &mut Vec<Inline>| {
        for block in blocks {
            if !out.is_empty() {
                out.push(Inline::LineBreak);
            }
            block_into_inlines(block, out);
        }
    };
    match block {
        Block::Paragraph(inlines) | Block::Heading(_, inlines) => out.extend(inlines),
        Block::Quote(blocks) => push_blocks(blocks, out),
        Block::List { items, .. } => {
            for item in items {
                push_blocks(item, out);
            }
        }
        Block::Code { text, .. } => out.push(Inline::Code(text.replace('\n', " "))),
        Block::Rule => out.push(Inline::Text(TEXT_RULE.to_owned())),
        Block::Table { head, rows } => {
            for row in std::iter::once(head).chain(rows) {
                if !out.is_empty() {
                    out.push(Inline::LineBreak);
                }
                for (index, cell) in row.into_iter().enumerate() {
                    if index > 0 {
                        out.push(Inline::Text(" | ".to_owned()));
                    }
                    out.extend(cell);
                }
            }
        }
        Block::Admonition(admonition) => {
            out.extend(admonition.title);
            push_blocks(admonition.body, out);
        }
    }
}

/// Merges adjacent text, drops empty text, and trims spaces and line breaks at the edges and
/// around line breaks (raw HTML leaves plenty of both).
fn tidy_inlines(inlines: Vec<Inline>) -> Vec<Inline> {
    let mut merged: Vec<Inline> = Vec::with_capacity(inlines.len());
    for inline in inlines {
        match (merged.last_mut(), inline) {
            (Some(Inline::Text(previous)), Inline::Text(text)) => {
                // Text on both sides of a dropped tag: one space, as HTML would show.
                let text = if previous.ends_with(' ') {
                    text.trim_start_matches(' ')
                } else {
                    &text
                };
                previous.push_str(text);
            }
            (_, inline) => merged.push(inline),
        }
    }
    let mut tidy: Vec<Inline> = Vec::with_capacity(merged.len());
    let mut rest = merged.into_iter().peekable();
    while let Some(inline) = rest.next() {
        match inline {
            Inline::Text(text) => {
                let mut text = text.as_str();
                if matches!(tidy.last(), None | Some(Inline::LineBreak)) {
                    text = text.trim_start();
                }
                if matches!(rest.peek(), None | Some(Inline::LineBreak)) {
                    text = text.trim_end();
                }
                if !text.is_empty() {
                    tidy.push(Inline::Text(text.to_owned()));
                }
            }
            Inline::LineBreak => {
                if !matches!(tidy.last(), None | Some(Inline::LineBreak)) {
                    tidy.push(Inline::LineBreak);
                }
            }
            other => tidy.push(other),
        }
    }
    while tidy.last() == Some(&Inline::LineBreak) {
        tidy.pop();
    }
    tidy
}

// --- Tree builder --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockFrameKind {
    Root,
    Quote,
    Item,
    /// A container the renderers do not show as such: its blocks go to the parent.
    Transparent,
}

#[derive(Debug, Clone, PartialEq)]
enum InlineFrameKind {
    Paragraph,
    Heading(u8),
    HtmlBlock,
    Cell,
    Styled(Style),
    Link(LinkTarget),
    Image(String),
    /// A formatting tag of raw HTML (`<b>`, `<u>`…), closed by its end tag or by the end of
    /// the Markdown element around it.
    RawStyled(Style, String),
    RawLink(LinkTarget),
}

impl InlineFrameKind {
    fn is_raw(&self) -> bool {
        matches!(self, Self::RawStyled(..) | Self::RawLink(_))
    }
}

#[derive(Debug)]
enum Frame {
    Blocks {
        kind: BlockFrameKind,
        blocks: Vec<Block>,
        pending: Vec<Inline>,
    },
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Inlines {
        kind: InlineFrameKind,
        inlines: Vec<Inline>,
    },
    Code {
        language: String,
        text: String,
    },
    Table {
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Row {
        head: bool,
        cells: Vec<Vec<Inline>>,
    },
}

impl Frame {
    fn is_raw(&self) -> bool {
        matches!(self, Frame::Inlines { kind, .. } if kind.is_raw())
    }
}

/// What a closed frame hands to its parent.
enum Finished {
    Block(Block),
    Blocks(Vec<Block>),
    Inline(Inline),
    Item(Vec<Block>),
    Cell(Vec<Inline>),
    Row { head: bool, cells: Vec<Vec<Inline>> },
    Nothing,
}

/// Folds pulldown-cmark events into the document tree.
struct TreeBuilder {
    frames: Vec<Frame>,
    /// Text of the element being flattened because it is too deep, and how many of its
    /// start tags are still open.
    flattened: String,
    skipped_depth: usize,
    html_block: Option<String>,
    /// Inside `<script>`/`<style>`/`<template>`: their content is not text for the reader.
    hidden_until: Option<String>,
    /// Inside `<video>`/`<audio>`: the kind for `<source>`, and whether one was shown.
    media_element: Option<(MediaKind, bool)>,
}

impl TreeBuilder {
    fn build(markdown: &str) -> Vec<Block> {
        let mut builder = TreeBuilder {
            frames: vec![Frame::Blocks {
                kind: BlockFrameKind::Root,
                blocks: Vec::new(),
                pending: Vec::new(),
            }],
            flattened: String::new(),
            skipped_depth: 0,
            html_block: None,
            hidden_until: None,
            media_element: None,
        };
        let options =
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
        for event in TextMergeStream::new(Parser::new_ext(markdown, options)) {
            builder.event(event);
        }
        while builder.frames.len() > 1 {
            builder.pop_frame();
        }
        match builder.frames.pop() {
            Some(Frame::Blocks {
                mut blocks,
                pending,
                ..
            }) => {
                push_paragraph(&mut blocks, pending);
                blocks
            }
            _ => Vec::new(),
        }
    }

    fn event(&mut self, event: Event<'_>) {
        if self.skipped_depth > 0 {
            self.flattened_event(event);
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(end) => self.end(end),
            Event::Text(text) => {
                if let Some(buffer) = self.html_block.as_mut() {
                    buffer.push_str(&text);
                } else if self.hidden_until.is_none() {
                    self.push_inline(Inline::Text(replace_shortcodes(&text)));
                }
            }
            Event::Code(code) if self.hidden_until.is_none() => {
                self.push_inline(Inline::Code(code.to_string()))
            }
            Event::Html(html) | Event::InlineHtml(html) => match self.html_block.as_mut() {
                Some(buffer) => buffer.push_str(&html),
                None => self.raw_html(&html),
            },
            Event::SoftBreak | Event::HardBreak => self.push_inline(Inline::LineBreak),
            Event::Rule => self.push_block(Block::Rule),
            Event::TaskListMarker(done) => self.push_inline(Inline::Text(
                (if done { TASK_DONE } else { TASK_OPEN }).to_owned(),
            )),
            Event::FootnoteReference(name) => self.push_inline(Inline::Text(format!("[^{name}]"))),
            Event::InlineMath(text) | Event::DisplayMath(text) => {
                self.push_inline(Inline::Text(text.to_string()))
            }
            Event::Code(_) => {}
        }
    }

    /// Too deep to keep the structure: keep the words.
    fn flattened_event(&mut self, event: Event<'_>) {
        let buffer = &mut self.flattened;
        match event {
            Event::Start(_) => self.skipped_depth += 1,
            Event::End(_) => {
                self.skipped_depth -= 1;
                if self.skipped_depth == 0 {
                    let text = std::mem::take(&mut self.flattened);
                    self.push_inline(Inline::Text(text));
                }
            }
            Event::Text(text) => buffer.push_str(&replace_shortcodes(&text)),
            Event::Code(text) => buffer.push_str(&text),
            Event::Html(html) | Event::InlineHtml(html) => {
                for token in tokenize_html(&html) {
                    if let HtmlToken::Text(text) = token {
                        buffer.push_str(&text);
                    }
                }
            }
            _ => buffer.push(' '),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        if self.frames.len() >= MAX_TREE_DEPTH {
            self.skipped_depth = 1;
            self.flattened.clear();
            return;
        }
        let inline_kind = match &tag {
            Tag::Emphasis => Some(InlineFrameKind::Styled(Style::Emphasis)),
            Tag::Strong => Some(InlineFrameKind::Styled(Style::Strong)),
            Tag::Strikethrough => Some(InlineFrameKind::Styled(Style::Strikethrough)),
            Tag::Superscript => Some(InlineFrameKind::Styled(Style::Superscript)),
            Tag::Subscript => Some(InlineFrameKind::Styled(Style::Subscript)),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                let url = if *link_type == LinkType::Email {
                    format!("mailto:{dest_url}")
                } else {
                    dest_url.to_string()
                };
                Some(InlineFrameKind::Link(LinkTarget::classify(&url)))
            }
            Tag::Image { dest_url, .. } => Some(InlineFrameKind::Image(dest_url.to_string())),
            _ => None,
        };
        if let Some(kind) = inline_kind {
            self.frames.push(Frame::Inlines {
                kind,
                inlines: Vec::new(),
            });
            return;
        }
        // A block starts: raw HTML formatting left open before it ends here.
        while self.frames.last().is_some_and(Frame::is_raw) {
            self.pop_frame();
        }
        let frame = match tag {
            Tag::Paragraph => Frame::Inlines {
                kind: InlineFrameKind::Paragraph,
                inlines: Vec::new(),
            },
            Tag::Heading { level, .. } => Frame::Inlines {
                kind: InlineFrameKind::Heading(level as u8),
                inlines: Vec::new(),
            },
            Tag::BlockQuote(_) => Frame::Blocks {
                kind: BlockFrameKind::Quote,
                blocks: Vec::new(),
                pending: Vec::new(),
            },
            Tag::CodeBlock(kind) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    CodeBlockKind::Indented => String::new(),
                };
                Frame::Code {
                    language,
                    text: String::new(),
                }
            }
            Tag::HtmlBlock => {
                self.html_block = Some(String::new());
                Frame::Inlines {
                    kind: InlineFrameKind::HtmlBlock,
                    inlines: Vec::new(),
                }
            }
            Tag::List(start) => Frame::List {
                start,
                items: Vec::new(),
            },
            Tag::Item => Frame::Blocks {
                kind: BlockFrameKind::Item,
                blocks: Vec::new(),
                pending: Vec::new(),
            },
            Tag::Table(_) => Frame::Table {
                head: Vec::new(),
                rows: Vec::new(),
            },
            Tag::TableHead => Frame::Row {
                head: true,
                cells: Vec::new(),
            },
            Tag::TableRow => Frame::Row {
                head: false,
                cells: Vec::new(),
            },
            Tag::TableCell => Frame::Inlines {
                kind: InlineFrameKind::Cell,
                inlines: Vec::new(),
            },
            _ => Frame::Blocks {
                kind: BlockFrameKind::Transparent,
                blocks: Vec::new(),
                pending: Vec::new(),
            },
        };
        self.frames.push(frame);
    }

    fn end(&mut self, end: TagEnd) {
        let html_block = if end == TagEnd::HtmlBlock {
            self.html_block.take()
        } else {
            None
        };
        if let Some(html) = html_block {
            self.raw_html(&html);
        }
        // Raw HTML formatting still open inside this element ends with it.
        while self.frames.last().is_some_and(Frame::is_raw) {
            self.pop_frame();
        }
        if self.frames.len() > 1 {
            self.pop_frame();
        }
        if matches!(
            end,
            TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::HtmlBlock
                | TagEnd::TableCell
                | TagEnd::Item
        ) {
            self.hidden_until = None;
            self.media_element = None;
        }
    }

    fn pop_frame(&mut self) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        let finished = match frame {
            Frame::Blocks {
                kind,
                mut blocks,
                pending,
            } => {
                push_paragraph(&mut blocks, pending);
                match kind {
                    BlockFrameKind::Quote => Finished::Block(Block::Quote(blocks)),
                    BlockFrameKind::Item => Finished::Item(blocks),
                    BlockFrameKind::Root | BlockFrameKind::Transparent => Finished::Blocks(blocks),
                }
            }
            Frame::List { start, items } => Finished::Block(Block::List { start, items }),
            Frame::Code { language, text } => Finished::Block(Block::Code {
                language,
                text: text.trim_end_matches('\n').to_owned(),
            }),
            Frame::Table { head, rows } => Finished::Block(Block::Table { head, rows }),
            Frame::Row { head, cells } => Finished::Row { head, cells },
            Frame::Inlines { kind, inlines } => match kind {
                InlineFrameKind::Paragraph | InlineFrameKind::HtmlBlock => {
                    let inlines = tidy_inlines(inlines);
                    if inlines.is_empty() {
                        Finished::Nothing
                    } else {
                        Finished::Block(Block::Paragraph(inlines))
                    }
                }
                InlineFrameKind::Heading(level) => {
                    let inlines = tidy_inlines(inlines);
                    if inlines.is_empty() {
                        Finished::Nothing
                    } else {
                        Finished::Block(Block::Heading(level, inlines))
                    }
                }
                InlineFrameKind::Cell => Finished::Cell(tidy_inlines(inlines)),
                InlineFrameKind::Styled(style) | InlineFrameKind::RawStyled(style, _) => {
                    if inlines.is_empty() {
                        Finished::Nothing
                    } else {
                        Finished::Inline(Inline::Styled(style, inlines))
                    }
                }
                InlineFrameKind::Link(target) | InlineFrameKind::RawLink(target) => {
                    Finished::Inline(Inline::Link {
                        target,
                        content: inlines,
                    })
                }
                InlineFrameKind::Image(url) => {
                    let mut alt = String::new();
                    inline_words(&inlines, &mut alt);
                    Finished::Inline(Inline::Media(Media {
                        kind: MediaKind::from_url(&url),
                        url,
                        alt,
                    }))
                }
            },
        };
        self.deliver(finished);
    }

    fn deliver(&mut self, finished: Finished) {
        match finished {
            Finished::Block(block) => self.push_block(block),
            Finished::Blocks(blocks) => blocks.into_iter().for_each(|block| self.push_block(block)),
            Finished::Inline(inline) => self.push_inline(inline),
            Finished::Item(blocks) => match self.frames.last_mut() {
                Some(Frame::List { items, .. }) => items.push(blocks),
                _ => blocks.into_iter().for_each(|block| self.push_block(block)),
            },
            Finished::Cell(inlines) => match self.frames.last_mut() {
                Some(Frame::Row { cells, .. }) => cells.push(inlines),
                _ => inlines
                    .into_iter()
                    .for_each(|inline| self.push_inline(inline)),
            },
            Finished::Row { head, cells } => match self.frames.last_mut() {
                Some(Frame::Table {
                    head: table_head,
                    rows,
                }) => {
                    if head {
                        *table_head = cells;
                    } else {
                        rows.push(cells);
                    }
                }
                _ => self.push_block(Block::Table {
                    head: Vec::new(),
                    rows: vec![cells],
                }),
            },
            Finished::Nothing => {}
        }
    }

    fn push_block(&mut self, block: Block) {
        match self.frames.last_mut() {
            Some(Frame::Blocks {
                blocks, pending, ..
            }) => {
                push_paragraph(blocks, std::mem::take(pending));
                blocks.push(block);
            }
            Some(Frame::List { items, .. }) => match items.last_mut() {
                Some(item) => item.push(block),
                None => items.push(vec![block]),
            },
            Some(Frame::Code { text, .. }) => {
                let mut inlines = Vec::new();
                block_into_inlines(block, &mut inlines);
                inline_words(&inlines, text);
            }
            Some(Frame::Inlines { inlines, .. }) => {
                if !inlines.is_empty() {
                    inlines.push(Inline::LineBreak);
                }
                block_into_inlines(block, inlines);
            }
            Some(Frame::Table { .. } | Frame::Row { .. }) => {
                let mut inlines = Vec::new();
                block_into_inlines(block, &mut inlines);
                inlines
                    .into_iter()
                    .for_each(|inline| self.push_inline(inline));
            }
            None => {}
        }
    }

    fn push_inline(&mut self, inline: Inline) {
        match self.frames.last_mut() {
            Some(Frame::Blocks { pending, .. }) => pending.push(inline),
            Some(Frame::Inlines { inlines, .. }) => inlines.push(inline),
            Some(Frame::Code { text, .. }) => inline_words(std::slice::from_ref(&inline), text),
            Some(Frame::List { items, .. }) => {
                if items.is_empty() {
                    items.push(Vec::new());
                }
                if let Some(item) = items.last_mut() {
                    match item.last_mut() {
                        Some(Block::Paragraph(inlines)) => inlines.push(inline),
                        _ => item.push(Block::Paragraph(vec![inline])),
                    }
                }
            }
            Some(Frame::Table { rows, .. }) => match rows.last_mut().and_then(|row| row.last_mut())
            {
                Some(cell) => cell.push(inline),
                None => rows.push(vec![vec![inline]]),
            },
            Some(Frame::Row { cells, .. }) => match cells.last_mut() {
                Some(cell) => cell.push(inline),
                None => cells.push(vec![inline]),
            },
            None => {}
        }
    }

    /// Raw HTML becomes text, line breaks, simple styles, links and media; every other tag is
    /// dropped and its text kept.
    fn raw_html(&mut self, html: &str) {
        for token in tokenize_html(html) {
            self.html_token(token);
        }
    }

    fn html_token(&mut self, token: HtmlToken) {
        if let Some(hidden) = &self.hidden_until {
            if matches!(&token, HtmlToken::End(name) if name == hidden) {
                self.hidden_until = None;
            }
            return;
        }
        match token {
            HtmlToken::Text(text) => {
                let text = collapse_whitespace(&text);
                if !text.is_empty() {
                    self.push_inline(Inline::Text(replace_shortcodes(&text)));
                }
            }
            HtmlToken::Start {
                name,
                attributes,
                self_closing,
            } => self.html_start(&name, &attributes, self_closing),
            HtmlToken::End(name) => self.html_end(&name),
        }
    }

    fn html_start(&mut self, name: &str, attributes: &[(String, String)], self_closing: bool) {
        let attribute = |wanted: &str| {
            attributes
                .iter()
                .find(|(key, _)| key == wanted)
                .map(|(_, value)| value.trim().to_owned())
        };
        let push_media = |builder: &mut Self, kind: MediaKind, url: String, alt: Option<String>| {
            builder.push_inline(Inline::Text(" ".to_owned()));
            builder.push_inline(Inline::Media(Media {
                kind,
                url,
                alt: alt.unwrap_or_default(),
            }));
            builder.push_inline(Inline::Text(" ".to_owned()));
        };
        let style = match name {
            "b" | "strong" => Some(Style::Strong),
            "i" | "em" => Some(Style::Emphasis),
            "u" | "ins" => Some(Style::Underline),
            "s" | "strike" | "del" => Some(Style::Strikethrough),
            "sup" => Some(Style::Superscript),
            "sub" => Some(Style::Subscript),
            _ => None,
        };
        if let Some(style) = style {
            if !self_closing && self.frames.len() < MAX_TREE_DEPTH {
                self.frames.push(Frame::Inlines {
                    kind: InlineFrameKind::RawStyled(style, name.to_owned()),
                    inlines: Vec::new(),
                });
            }
            return;
        }
        match name {
            "script" | "style" | "template" if !self_closing => {
                self.hidden_until = Some(name.to_owned())
            }
            "br" | "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "tr" | "ul"
            | "ol" | "table" | "blockquote" | "section" | "article" | "details" | "summary"
            | "hr" | "pre" | "figure" | "figcaption" | "center" => {
                self.push_inline(Inline::LineBreak)
            }
            "td" | "th" => self.push_inline(Inline::Text(" ".to_owned())),
            "img" => {
                if let Some(url) = attribute("src") {
                    let alt = attribute("alt")
                        .filter(|alt| !alt.is_empty())
                        .or_else(|| attribute("title"));
                    push_media(self, MediaKind::Image, url, alt);
                }
            }
            "iframe" | "embed" | "object" => {
                if let Some(url) = attribute("src").or_else(|| attribute("data")) {
                    push_media(
                        self,
                        MediaKind::from_embed_url(&url),
                        url,
                        attribute("title"),
                    );
                }
            }
            "video" | "audio" => {
                let kind = if name == "video" {
                    MediaKind::Video
                } else {
                    MediaKind::Audio
                };
                let url = attribute("src");
                let shown = url.is_some();
                if let Some(url) = url {
                    push_media(self, kind, url, attribute("title"));
                }
                if !self_closing {
                    self.media_element = Some((kind, shown));
                }
            }
            "source" => {
                if let (Some((kind, false)), Some(url)) = (self.media_element, attribute("src")) {
                    self.media_element = Some((kind, true));
                    push_media(self, kind, url, None);
                }
            }
            "a" => {
                if let Some(url) = attribute("href")
                    .filter(|_| !self_closing && self.frames.len() < MAX_TREE_DEPTH)
                {
                    self.frames.push(Frame::Inlines {
                        kind: InlineFrameKind::RawLink(LinkTarget::classify(&url)),
                        inlines: Vec::new(),
                    });
                }
            }
            _ => {}
        }
    }

    fn html_end(&mut self, name: &str) {
        match name {
            "video" | "audio" => self.media_element = None,
            "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" | "tr" | "ul" | "ol"
            | "table" | "blockquote" | "section" | "article" | "details" | "summary" | "pre"
            | "figure" | "figcaption" | "center" => self.push_inline(Inline::LineBreak),
            _ => {}
        }
        // Close the matching raw formatting tag if only raw tags were opened after it.
        let matching = self
            .frames
            .iter()
            .rev()
            .take_while(|frame| frame.is_raw())
            .position(|frame| match frame {
                Frame::Inlines {
                    kind: InlineFrameKind::RawStyled(_, tag),
                    ..
                } => tag == name,
                Frame::Inlines {
                    kind: InlineFrameKind::RawLink(_),
                    ..
                } => name == "a",
                _ => false,
            });
        if let Some(above) = matching {
            for _ in 0..=above {
                self.pop_frame();
            }
        }
    }
}

fn push_paragraph(blocks: &mut Vec<Block>, inlines: Vec<Inline>) {
    let inlines = tidy_inlines(inlines);
    if !inlines.is_empty() {
        blocks.push(Block::Paragraph(inlines));
    }
}

/// Appends the words of `inlines` (what a screen reader would say) to `out`.
pub(crate) fn inline_words(inlines: &[Inline], out: &mut String) {
    for inline in inlines {
        match inline {
            Inline::Text(text) | Inline::Code(text) => out.push_str(text),
            Inline::Styled(_, content) | Inline::Link { content, .. } => inline_words(content, out),
            Inline::Media(media) => out.push_str(media.name()),
            Inline::LineBreak => out.push(' '),
        }
    }
}

// --- Raw HTML ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HtmlToken {
    /// Text with entities decoded.
    Text(String),
    Start {
        name: String,
        attributes: Vec<(String, String)>,
        self_closing: bool,
    },
    End(String),
}

/// Splits raw HTML into text and tags. Comments, doctypes and processing instructions are
/// dropped; a `<` that starts no well-formed tag is text.
pub(crate) fn tokenize_html(html: &str) -> Vec<HtmlToken> {
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut position = 0;
    // No tag can start after the last `>`: stopping there keeps unterminated tags linear.
    let last_tag_end = html.rfind('>').unwrap_or(0);
    while let Some(found) = html
        .get(position..last_tag_end)
        .and_then(|rest| rest.find('<'))
    {
        let start = position + found;
        match parse_markup(html, start) {
            Some((token, end)) => {
                if let Some(text) = html.get(text_start..start).filter(|text| !text.is_empty()) {
                    tokens.push(HtmlToken::Text(decode_entities(text)));
                }
                tokens.extend(token);
                position = end;
                text_start = end;
            }
            None => position = start + 1,
        }
    }
    if let Some(text) = html.get(text_start..).filter(|text| !text.is_empty()) {
        tokens.push(HtmlToken::Text(decode_entities(text)));
    }
    tokens
}

/// The tag (if any is worth keeping) starting at `start`, and the index just after it.
fn parse_markup(html: &str, start: usize) -> Option<(Option<HtmlToken>, usize)> {
    let rest = html.get(start..)?;
    if rest.starts_with("<!--") {
        let end = rest
            .get(4..)?
            .find("-->")
            .map_or(html.len(), |end| start + 4 + end + 3);
        return Some((None, end));
    }
    if rest.starts_with("<!") || rest.starts_with("<?") {
        return rest.find('>').map(|end| (None, start + end + 1));
    }
    if let Some(after) = rest.strip_prefix("</") {
        let name = tag_name(after)?;
        let close = after.find('>')?;
        return Some((Some(HtmlToken::End(name)), start + 2 + close + 1));
    }
    let after = rest.get(1..)?;
    let name = tag_name(after)?;
    let bytes = html.as_bytes();
    let mut index = start + 1 + name.len();
    let mut attributes = Vec::new();
    let skip_spaces = |index: &mut usize| {
        while bytes.get(*index).is_some_and(u8::is_ascii_whitespace) {
            *index += 1;
        }
    };
    loop {
        skip_spaces(&mut index);
        match bytes.get(index)? {
            b'>' => {
                return Some((
                    Some(HtmlToken::Start {
                        name,
                        attributes,
                        self_closing: false,
                    }),
                    index + 1,
                ));
            }
            b'/' if bytes.get(index + 1) == Some(&b'>') => {
                return Some((
                    Some(HtmlToken::Start {
                        name,
                        attributes,
                        self_closing: true,
                    }),
                    index + 2,
                ));
            }
            b'/' | b'=' | b'"' | b'\'' => index += 1,
            _ => {
                let name_start = index;
                while bytes
                    .get(index)
                    .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
                {
                    index += 1;
                }
                let attribute_name = html.get(name_start..index)?.to_ascii_lowercase();
                skip_spaces(&mut index);
                let mut value = String::new();
                if bytes.get(index) == Some(&b'=') {
                    index += 1;
                    skip_spaces(&mut index);
                    match bytes.get(index) {
                        Some(&quote @ (b'"' | b'\'')) => {
                            let value_start = index + 1;
                            let length = html.get(value_start..)?.find(char::from(quote))?;
                            value = decode_entities(html.get(value_start..value_start + length)?);
                            index = value_start + length + 1;
                        }
                        _ => {
                            let value_start = index;
                            while bytes
                                .get(index)
                                .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>')
                            {
                                index += 1;
                            }
                            value = decode_entities(html.get(value_start..index)?);
                        }
                    }
                }
                attributes.push((attribute_name, value));
            }
        }
    }
}

/// The lower-cased tag name at the start of `text`, if it is one.
fn tag_name(text: &str) -> Option<String> {
    let first = text.chars().next()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    let length = text.len()
        - text
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '-')
            .len();
    let next = text.get(length..)?.chars().next();
    if next.is_some_and(|c| !(c.is_ascii_whitespace() || c == '>' || c == '/')) {
        return None;
    }
    Some(text.get(..length)?.to_ascii_lowercase())
}

/// Decodes numeric character references and named entities.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        // Entity names are short: looking further would make `&&&…` quadratic.
        let semicolon = after.bytes().take(33).position(|b| b == b';');
        let decoded = semicolon.and_then(|end| {
            let name = after.get(..end)?;
            match name.strip_prefix('#') {
                Some(number) => {
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse::<u32>().ok()?,
                    };
                    let character = char::from_u32(code)
                        .filter(|&c| c != '\0')
                        .unwrap_or('\u{FFFD}');
                    out.push(character);
                }
                None => out.push_str(named_entity(name)?),
            }
            Some(end)
        });
        match decoded {
            Some(end) => {
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A named character reference of HTML (all 2,125 of the standard's, `&rarr;` as well as
/// `&eacute;`), as the browser showing ChatMD's page decodes it.
fn named_entity(name: &str) -> Option<&'static str> {
    let table = &html_escape::NAMED_ENTITIES;
    table
        .binary_search_by(|(entity, _)| (*entity).cmp(name.as_bytes()))
        .ok()
        .map(|found| table[found].1)
}

fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

// --- Emoji ---------------------------------------------------------------------------------

/// Replaces `:name:` gemoji shortcodes by the emoji (docs/chatmd.md §F13); unknown names stay as
/// written. Only for display: matching always sees the shortcode.
pub(crate) fn replace_shortcodes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(colon) = rest.find(':') {
        out.push_str(rest.get(..colon).unwrap_or_default());
        let after = rest.get(colon + 1..).unwrap_or_default();
        let emoji = after.find(':').and_then(|end| {
            let name = after.get(..end)?;
            if name.is_empty() || name.contains(char::is_whitespace) {
                return None;
            }
            Some((emojis::get_by_shortcode(name)?, end))
        });
        match emoji {
            Some((emoji, end)) => {
                out.push_str(emoji.as_str());
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

// --- Helpers shared by the text renderers --------------------------------------------------

/// A menu label as shown: without comments, trimmed, on one line, with emoji. Labels are
/// text, not Markdown: the renderers escape them.
pub(crate) fn menu_label(label: &str) -> String {
    replace_shortcodes(&collapse_whitespace(strip_html_comments(label).trim()))
}

/// Whether a link's text already says its address (`[https://a.fr](https://a.fr/)`).
pub(crate) fn text_is_url(text: &str, url: &str) -> bool {
    fn normalise(value: &str) -> String {
        let value = value.trim().to_ascii_lowercase();
        let value =
            ["mailto:", "tel:", "https://", "http://"]
                .iter()
                .fold(value, |value, prefix| {
                    value
                        .strip_prefix(prefix)
                        .map(str::to_owned)
                        .unwrap_or(value)
                });
        value.trim_end_matches('/').to_owned()
    }
    normalise(text) == normalise(url)
}

/// Number of characters as a terminal column count (close enough for alignment).
pub(crate) fn width(text: &str) -> usize {
    text.chars().count()
}

/// Table rows as aligned pipe rows: `| a | b |`, with a rule under the header.
pub(crate) fn table_lines(head: &[String], rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows
        .iter()
        .map(Vec::len)
        .chain([head.len()])
        .max()
        .unwrap_or(0);
    if columns == 0 {
        return Vec::new();
    }
    let cell = |row: &[String], column: usize| {
        row.get(column)
            .map(|cell| cell.replace('\n', " "))
            .unwrap_or_default()
    };
    let mut widths = vec![1; columns];
    for row in std::iter::once(head).chain(rows.iter().map(Vec::as_slice)) {
        for (column, column_width) in widths.iter_mut().enumerate() {
            *column_width = (*column_width).max(width(&cell(row, column)));
        }
    }
    let format_row = |row: &[String]| {
        let mut line = String::from("|");
        for (column, column_width) in widths.iter().enumerate() {
            let text = cell(row, column);
            line.push(' ');
            line.push_str(&text);
            line.push_str(&" ".repeat(column_width - width(&text)));
            line.push_str(" |");
        }
        line
    };
    let mut lines = Vec::new();
    if !head.is_empty() {
        lines.push(format_row(head));
        let mut rule = String::from("|");
        for column_width in &widths {
            rule.push_str(&"-".repeat(column_width + 2));
            rule.push('|');
        }
        lines.push(rule);
    }
    lines.extend(rows.iter().map(|row| format_row(row)));
    lines
}

/// Prefixes every line (`│ ` for a box, `> ` for a quote); blank lines get `blank`.
pub(crate) fn prefix_lines(lines: Vec<String>, prefix: &str, blank: &str) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| {
            if line.trim().is_empty() {
                blank.to_owned()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect()
}

/// Joins rendered lines: no trailing spaces, no run of blank lines, none at either end.
pub(crate) fn finish_lines(lines: Vec<String>) -> String {
    let mut out = String::new();
    let mut blank_pending = false;
    for line in lines.iter().flat_map(|line| line.split('\n')) {
        let mut line = line.to_owned();
        strip_comment_openers(&mut line);
        let line = line.trim_end();
        if line.is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_pending {
                out.push('\n');
            }
        }
        blank_pending = false;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Inline {
        Inline::Text(value.to_owned())
    }

    #[test]
    fn numbered_lists_become_labelled_steps() {
        // (markdown, label, plain rendering): any start, nested lists, lists in boxes and
        // quotes, an item that opens with no paragraph; bullets and code stay as they are.
        let cases = [
            ("1) a\n2) b", "Étape {n} :", "- Étape 1 : a\n- Étape 2 : b"),
            ("3. c\n4. d", "Étape {n} :", "- Étape 3 : c\n- Étape 4 : d"),
            ("1. a\n   1. x", "#{n}", "- #1 a\n  - #1 x"),
            ("- a\n- b", "Étape {n} :", "- a\n- b"),
            ("1. a\n2. b", "", "- a\n- b"),
            ("> 1. a", "Étape {n} :", "> - Étape 1 : a"),
            (":::info\n1. a\n:::", "Étape {n} :", "│ ℹ️\n│ - Étape 1 : a"),
            ("1. ```\n   x\n   ```", "É{n}", "- É1\n      x"),
            ("```\n1. x\n```", "Étape {n} :", "    1. x"),
        ];
        for (markdown, label, expected) in cases {
            let blocks = parse_message(markdown, Some(label));
            assert_eq!(plain::render(&blocks, &[]), expected, "{markdown:?}");
        }
        assert_eq!(parse_message("1. a", None), parse("1. a"));
    }

    #[test]
    fn html_comments_are_removed() {
        let cases = [
            ("a<!-- x -->b", "ab"),
            ("a<!-- x\ny -->b<!--z-->c", "abc"),
            ("a<!-- never closed\nmore", "a"),
            ("<!<!-- x -->-- y -->z", "z"),
            ("no comment", "no comment"),
            ("é<!--é-->è", "éè"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_html_comments(input), expected, "{input:?}");
        }
    }

    #[test]
    fn emoji_shortcodes() {
        let cases = [
            (":one: un", "1️⃣ un"),
            ("[:sos:]", "[🆘]"),
            (":+1: ok", "👍 ok"),
            (":information_source:", "ℹ️"),
            (":not_an_emoji: :smile:", ":not_an_emoji: 😄"),
            ("10:30 et 11:45", "10:30 et 11:45"),
            ("::", "::"),
            (":x", ":x"),
            (":a b: :tada:", ":a b: 🎉"),
        ];
        for (input, expected) in cases {
            assert_eq!(replace_shortcodes(input), expected, "{input:?}");
        }
    }

    #[test]
    fn line_rewrites() {
        let cases = [
            ("[:sos:] (#profs_pixorga)", "[:sos:](#profs_pixorga)"),
            (
                "[:link: doc] (https://a.fr/x)",
                "[:link: doc](https://a.fr/x)",
            ),
            ("[note] (see above)", "[note] (see above)"),
            ("- [ ] (a)", "- [ ] (a)"),
            (
                "![alt](https://a.fr/i.png =100x80)",
                "![alt](https://a.fr/i.png)",
            ),
            (
                "![alt](https://a.fr/i.png =x80 \"t\")",
                "![alt](https://a.fr/i.png \"t\")",
            ),
            ("[a](https://a.fr/(b)c)", "[a](https://a.fr/(b)c)"),
            ("Texte important {.rouge .gras}", "Texte important"),
            ("{ pas une classe }", "{ pas une classe }"),
            ("Ligne normale", "Ligne normale"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean_line(input), expected, "{input:?}");
        }
    }

    fn admonition(kind: &str, collapsible: bool, title: &str, body: Vec<Segment>) -> Segment {
        Segment::Admonition {
            kind: kind.to_owned(),
            collapsible,
            title: title.to_owned(),
            body,
        }
    }

    fn markdown(value: &str) -> Segment {
        Segment::Markdown(value.to_owned())
    }

    #[test]
    fn admonition_detection() {
        let cases: Vec<(&str, Vec<Segment>)> = vec![
            (
                ":::info Titre\n\ntexte\n\n:::",
                vec![admonition(
                    "info",
                    false,
                    "Titre",
                    vec![markdown("\ntexte\n")],
                )],
            ),
            (
                ":::warning collapsible *Important !*\n\nx\n\n:::\n\napres",
                vec![
                    admonition("warning", true, "*Important !*", vec![markdown("\nx\n")]),
                    markdown("\napres"),
                ],
            ),
            (
                ":::info A\n\n::::tip B\n\nin\n\n::::\n\nout\n\n:::",
                vec![admonition(
                    "info",
                    false,
                    "A",
                    vec![
                        admonition("tip", false, "B", vec![markdown("\nin\n")]),
                        markdown("\nout\n"),
                    ],
                )],
            ),
            // The real corpus: an inner box indented by four spaces, with whitespace lines.
            (
                ":::vide collapsible :dart: Quels objectifs ? \n\n    \n\n    :::vide En 6ème\n\n    S'acculturer au\n\n    \n\n    :::\n\n:::",
                vec![admonition(
                    "vide",
                    true,
                    ":dart: Quels objectifs ?",
                    vec![admonition(
                        "vide",
                        false,
                        "En 6ème",
                        vec![markdown("\nS'acculturer au\n\n\n")],
                    )],
                )],
            ),
            (
                ":::info jamais fermé\n\ntexte",
                vec![markdown(":::info jamais fermé\n\ntexte")],
            ),
            (
                "```\n\n:::info\n\n:::\n\n```",
                vec![markdown("```\n:::info\n:::\n```")],
            ),
            ("    :::info\n\n:::", vec![markdown("    :::info\n\n:::")]),
            (":::sos: texte", vec![markdown(":::sos: texte")]),
        ];
        for (input, expected) in cases {
            assert_eq!(split_admonitions(input), expected, "{input:?}");
        }
    }

    #[test]
    fn box_depth_is_bounded() {
        let mut source = String::new();
        for depth in 0..50 {
            source.push_str(&format!("{}info n{depth}\n", ":".repeat(3 + depth)));
        }
        for depth in (0..50).rev() {
            source.push_str(&format!("{}\n", ":".repeat(3 + depth)));
        }
        fn depth(blocks: &[Block]) -> usize {
            blocks
                .iter()
                .map(|block| match block {
                    Block::Admonition(admonition) => 1 + depth(&admonition.body),
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        }
        assert_eq!(depth(&parse(&source)), MAX_BOX_DEPTH);
    }

    #[test]
    fn table_rows_separated_by_blank_lines_are_glued() {
        let blocks = parse("Voici :\n\n| a | b |\n\n|---|---|\n\n| 1 | 2 |");
        assert_eq!(
            blocks,
            vec![
                Block::Paragraph(vec![text("Voici :")]),
                Block::Table {
                    head: vec![vec![text("a")], vec![text("b")]],
                    rows: vec![vec![vec![text("1")], vec![text("2")]]]
                },
            ]
        );
    }

    /// Every named entity a browser knows shows as it does on ChatMD's page, not only the
    /// French ones; an unknown name and a bare `&` stay as written.
    #[test]
    fn html_entities_decode_as_a_browser_does() {
        assert_eq!(
            decode_entities("&rarr; &times; &aacute; &AMP; &eacute;t&eacute; &#233; &#x1F600;"),
            "→ × á & été é 😀"
        );
        assert_eq!(decode_entities("&inconnu; a & b &;"), "&inconnu; a & b &;");
        assert_eq!(
            decode_entities("&NotNestedGreaterGreater;"),
            "\u{2AA2}\u{338}"
        );
    }

    #[test]
    fn raw_html_is_reduced() {
        let cases: Vec<(&str, Vec<Block>)> = vec![
            (
                "<p>Bonjour &amp; <b>bienvenue</b></p>",
                vec![Block::Paragraph(vec![
                    text("Bonjour & "),
                    Inline::Styled(Style::Strong, vec![text("bienvenue")]),
                ])],
            ),
            (
                "<style>p { color: red }</style>\n\ntexte",
                vec![Block::Paragraph(vec![text("texte")])],
            ),
            (
                "a <script>alert(1)</script> b",
                vec![Block::Paragraph(vec![text("a b")])],
            ),
            (
                "<iframe src=\"https://v.fr/x?a=1&amp;b=2\" width=\"700\"></iframe>",
                vec![Block::Paragraph(vec![Inline::Media(Media {
                    kind: MediaKind::Embed,
                    url: "https://v.fr/x?a=1&b=2".to_owned(),
                    alt: String::new(),
                })])],
            ),
            (
                "<video controls><source src=\"https://v.fr/a.webm\"><source src=\"https://v.fr/a.mp4\"></video>",
                vec![Block::Paragraph(vec![Inline::Media(Media {
                    kind: MediaKind::Video,
                    url: "https://v.fr/a.webm".to_owned(),
                    alt: String::new(),
                })])],
            ),
            (
                "x <span onclick=\"evil()\">y</span> 1 < 2",
                vec![Block::Paragraph(vec![text("x y 1 < 2")])],
            ),
            (
                "<div>un</div><div>deux</div>",
                vec![Block::Paragraph(vec![
                    text("un"),
                    Inline::LineBreak,
                    text("deux"),
                ])],
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), expected, "{input:?}");
        }
    }

    #[test]
    fn media_kind_from_extension() {
        let cases = [
            ("https://a.fr/x.png", MediaKind::Image),
            ("https://a.fr/x.MP4", MediaKind::Video),
            ("https://a.fr/x.mp3?v=2", MediaKind::Audio),
            ("https://a.fr/x", MediaKind::Image),
        ];
        for (url, kind) in cases {
            assert_eq!(MediaKind::from_url(url), kind, "{url}");
        }
    }

    #[test]
    fn link_targets() {
        let cases = [
            ("#profs_pix", LinkTarget::Internal),
            (
                "https://a.fr",
                LinkTarget::External("https://a.fr".to_owned()),
            ),
            (
                "mailto:a@b.fr",
                LinkTarget::External("mailto:a@b.fr".to_owned()),
            ),
            ("javascript:alert(1)", LinkTarget::Unusable),
            ("page.html", LinkTarget::Unusable),
        ];
        for (url, target) in cases {
            assert_eq!(LinkTarget::classify(url), target, "{url}");
        }
    }

    #[test]
    fn admonition_titles() {
        let cases = [
            (":::info\n\nx\n\n:::", vec![]),
            (
                ":::info collapsible\n\nx\n\n:::",
                vec![text(DEFAULT_COLLAPSIBLE_TITLE)],
            ),
            (
                ":::spoiler\n\nx\n\n:::",
                vec![text(DEFAULT_COLLAPSIBLE_TITLE)],
            ),
            (
                ":::note collapsible :dart: But",
                vec![text(":::note collapsible 🎯 But")],
            ),
            (
                ":::note :dart: *But*\n\n:::",
                vec![
                    text("🎯 "),
                    Inline::Styled(Style::Emphasis, vec![text("But")]),
                ],
            ),
        ];
        for (input, title) in cases {
            let blocks = parse(input);
            match blocks.first() {
                Some(Block::Admonition(admonition)) => {
                    assert_eq!(admonition.title, title, "{input:?}")
                }
                Some(Block::Paragraph(inlines)) => assert_eq!(inlines, &title, "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn deep_markdown_is_flattened() {
        let source = format!("{}fond", "> ".repeat(200));
        fn depth(blocks: &[Block]) -> usize {
            blocks
                .iter()
                .map(|block| {
                    if let Block::Quote(inner) = block {
                        1 + depth(inner)
                    } else {
                        0
                    }
                })
                .max()
                .unwrap_or(0)
        }
        let blocks = parse(&source);
        assert!(depth(&blocks) < MAX_TREE_DEPTH);
        let mut words = String::new();
        fn collect(blocks: &[Block], out: &mut String) {
            for block in blocks {
                match block {
                    Block::Quote(inner) => collect(inner, out),
                    Block::Paragraph(inlines) => inline_words(inlines, out),
                    _ => {}
                }
            }
        }
        collect(&blocks, &mut words);
        assert_eq!(words, "fond");
    }

    #[test]
    fn tables_align() {
        let head = vec!["Jour".to_owned(), "Heure".to_owned()];
        let rows = vec![
            vec!["lundi".to_owned(), "8h".to_owned()],
            vec!["mardi".to_owned()],
        ];
        assert_eq!(
            table_lines(&head, &rows),
            vec![
                "| Jour  | Heure |",
                "|-------|-------|",
                "| lundi | 8h    |",
                "| mardi |       |"
            ]
        );
    }

    /// A reply built from the real corpus (seed 000), as the engine hands it over: one
    /// paragraph per source line (docs/chatmd.md §F5.1), conditions already resolved.
    const SEED_REPLY: &str = concat!(
        "**Comment créer une campagne de rentrée ?**\n\n",
        "*****\n\n",
        ":::info collapsible Documentation officielle\n\n",
        "[:link: Je consulte la documentation officielle] (https://view.genially.com/5f3e7a5ba8ffb90d11ac034f)\n\n",
        ":::\n\n",
        ":one: Je me connecte sur [Pix orga](https://orga.pix.fr/). [:sos:] (#profs_pixorga)\n\n",
        ":two: Je créé une campagne de rentrée.\n\n",
        "![code parcours](https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png =600x)\n\n",
        "- Vidéo de présentation de la certification en 3ème\n\n",
        "<iframe src=\"https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&debut=0&fin=185\" ",
        "allow=\"autoplay; fullscreen\" frameborder=\"0\" width=\"700\" height=\"394\"></iframe>\n\n",
        ":+1: <!-- source: 000 -->",
    );

    fn seed_menu() -> Vec<String> {
        [
            "Retour menu PIX",
            "Retour accueil",
            "Je n'ai plus de question",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn seed_reply_plain() {
        let expected = concat!(
            "Comment créer une campagne de rentrée ?\n",
            "\n",
            "──────────\n",
            "\n",
            "│ ℹ️ Documentation officielle\n",
            "│ 🔗 Je consulte la documentation officielle (https://view.genially.com/5f3e7a5ba8ffb90d11ac034f)\n",
            "\n",
            "1️⃣ Je me connecte sur Pix orga (https://orga.pix.fr/). 🆘\n",
            "\n",
            "2️⃣ Je créé une campagne de rentrée.\n",
            "\n",
            "[image: code parcours] https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png\n",
            "\n",
            "- Vidéo de présentation de la certification en 3ème\n",
            "\n",
            "[vidéo] https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&debut=0&fin=185\n",
            "\n",
            "👍\n",
            "\n",
            "1. Retour menu PIX\n",
            "2. Retour accueil\n",
            "3. Je n'ai plus de question",
        );
        assert_eq!(plain(SEED_REPLY, &seed_menu(), None), expected);
    }

    #[test]
    fn seed_reply_matrix() {
        let expected = concat!(
            "<p><strong>Comment créer une campagne de rentrée ?</strong></p>",
            "<hr>",
            "<blockquote><p>ℹ️ <strong>Documentation officielle</strong></p>",
            "<p><a href=\"https://view.genially.com/5f3e7a5ba8ffb90d11ac034f\">🔗 Je consulte la documentation officielle</a></p>",
            "</blockquote>",
            "<p>1️⃣ Je me connecte sur <a href=\"https://orga.pix.fr/\">Pix orga</a>. 🆘</p>",
            "<p>2️⃣ Je créé une campagne de rentrée.</p>",
            "<p>🖼️ <a href=\"https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png\">code parcours</a></p>",
            "<ul><li>Vidéo de présentation de la certification en 3ème</li></ul>",
            "<p>🎬 <a href=\"https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&amp;debut=0&amp;fin=185\">vidéo</a></p>",
            "<p>👍</p>",
            "<ol><li>Retour menu PIX</li><li>Retour accueil</li><li>Je n&#39;ai plus de question</li></ol>",
        );
        let message = matrix(SEED_REPLY, &seed_menu(), None);
        assert_eq!(message.formatted_body, expected);
        assert_eq!(message.body, plain(SEED_REPLY, &seed_menu(), None));
    }

    #[test]
    fn seed_reply_discord() {
        let expected = concat!(
            "**Comment créer une campagne de rentrée ?**\n",
            "\n",
            "──────────\n",
            "\n",
            "> ℹ️ **Documentation officielle**\n",
            "> [🔗 Je consulte la documentation officielle](https://view.genially.com/5f3e7a5ba8ffb90d11ac034f)\n",
            "\n",
            "1️⃣ Je me connecte sur [Pix orga](https://orga.pix.fr/). 🆘\n",
            "\n",
            "2️⃣ Je créé une campagne de rentrée.\n",
            "\n",
            "🖼️ [code parcours](https://forge.apps.education.fr/PIX/creer_campagne_pix_4.png)\n",
            "\n",
            "- Vidéo de présentation de la certification en 3ème\n",
            "\n",
            "🎬 [vidéo](https://ladigitale.dev/digiview/inc/video.php?videoId=gHuCeWiaTxM&debut=0&fin=185)\n",
            "\n",
            "👍\n",
            "\n",
            "26. Retour menu PIX\n",
            "27. Retour accueil\n",
            "28. Je n'ai plus de question",
        );
        assert_eq!(
            discord(SEED_REPLY, &seed_menu(), 26, None),
            vec![expected.to_owned()]
        );
    }

    /// Checks that `html` uses only the tags and attributes of Matrix's HTML subset (the
    /// subset this renderer writes, a part of the specification's), balanced.
    fn check_matrix_html(html: &str) -> Result<(), String> {
        const TAGS: [&str; 28] = [
            "font",
            "del",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "p",
            "a",
            "ul",
            "ol",
            "sup",
            "sub",
            "li",
            "b",
            "i",
            "u",
            "strong",
            "em",
            "s",
            "code",
            "hr",
            "br",
            "div",
            "pre",
            "span",
        ];
        const TABLE_TAGS: [&str; 7] = ["table", "thead", "tbody", "tr", "th", "td", "caption"];
        const VOID: [&str; 2] = ["br", "hr"];
        let mut open: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find(['<', '>']) {
            let after = &rest[start..];
            if after.starts_with('>') {
                return Err(format!("stray '>' in {html:?}"));
            }
            let end = after
                .find('>')
                .ok_or_else(|| format!("unterminated tag in {html:?}"))?;
            let inside = &after[1..end];
            rest = &after[end + 1..];
            if let Some(name) = inside.strip_prefix('/') {
                if open.pop().as_deref() != Some(name) {
                    return Err(format!("unbalanced </{name}> in {html:?}"));
                }
                continue;
            }
            let (name, attributes) = inside.split_once(' ').unwrap_or((inside, ""));
            if !TAGS.contains(&name) && !TABLE_TAGS.contains(&name) {
                return Err(format!("tag <{name}> outside the subset in {html:?}"));
            }
            if !attributes.is_empty() {
                let (attribute, value) = attributes
                    .split_once('=')
                    .ok_or_else(|| format!("bad attribute {attributes:?}"))?;
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or("unquoted value")?;
                let allowed = match (name, attribute) {
                    ("a", "href") => ["http:", "https:", "ftp:", "mailto:", "magnet:"]
                        .iter()
                        .any(|s| value.starts_with(s)),
                    ("ol", "start") => value.chars().all(|c| c.is_ascii_digit()),
                    ("code", "class") => {
                        value.starts_with("language-")
                            && value
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_+".contains(c))
                    }
                    _ => false,
                };
                if !allowed || value.contains(['"', '<', '>']) {
                    return Err(format!(
                        "attribute {attributes:?} not allowed on <{name}> in {html:?}"
                    ));
                }
            }
            if !VOID.contains(&name) {
                open.push(name.to_owned());
            }
        }
        if open.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {open:?} in {html:?}"))
        }
    }

    #[test]
    fn hostile_html_never_reaches_matrix_or_other_outputs() {
        let cases = [
            "<script>alert(1)</script><img src=x onerror=alert(1)><a href=\"javascript:alert(1)\" onclick=\"x\">lien</a>",
            "<!<!-- -->-- caché -->",
            "<!--",
            "a <!** --** b",
            "``` <!-- ```",
            "<div style=\"x\"><p onmouseover=\"y\">texte</p></div><svg><script>z</script></svg>",
            ":::info <b onclick=x>titre</b>\n\n<iframe src=\"javascript:x\"></iframe>\n\n:::",
            "<a href=\"https://a.fr\" onclick=\"x\"><img src=\"https://a.fr/i.png\"></a>",
            "[x](https://a.fr/\"onclick=\"y)",
        ];
        for markdown in cases {
            let message = matrix(markdown, &[markdown.to_owned()], None);
            assert_eq!(
                check_matrix_html(&message.formatted_body),
                Ok(()),
                "{markdown:?}"
            );
            // Escaped, the attribute is harmless text; unescaped, it must not be there at all.
            let html = matrix(markdown, &[], None).formatted_body;
            assert!(
                !html.contains("onclick=\"") && !html.contains("onerror="),
                "{markdown:?} gave {html:?}"
            );
            for output in [
                plain(markdown, &[], None),
                discord(markdown, &[], 1, None).concat(),
                html,
                message.body,
            ] {
                assert!(!output.contains("<!--"), "{markdown:?} gave {output:?}");
            }
        }
    }

    #[test]
    fn comment_openers_in_menu_labels_are_dropped_too() {
        let menu = vec!["<!--".to_owned(), "a <!<!---->-- b".to_owned()];
        assert_eq!(plain("", &menu, None), "1.\n2. a");
        assert_eq!(discord("", &menu, 1, None), vec!["1.\n2. a".to_owned()]);
        assert_eq!(
            matrix("", &menu, None).formatted_body,
            "<ol><li></li><li>a</li></ol>"
        );
    }

    #[test]
    fn the_checker_rejects_what_matrix_forbids() {
        for html in [
            "<script>x</script>",
            "<p onclick=\"x\">y</p>",
            "<a href=\"javascript:x\">y</a>",
            "<p>",
            "<img src=\"mxc://a/b\">",
            "a > b",
        ] {
            assert!(check_matrix_html(html).is_err(), "{html}");
        }
        assert_eq!(
            check_matrix_html(
                "<p><a href=\"https://a.fr\">a</a><br></p><ol start=\"2\"><li>x</li></ol>"
            ),
            Ok(())
        );
    }

    fn soup() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let fragments = prop::sample::select(vec![
            "<!--",
            "-->",
            "<script>",
            "</script>",
            "<style>",
            "</style>",
            "<b>",
            "</b>",
            "<i>",
            "</u>",
            "<a href=\"javascript:x\">",
            "<a href=\"https://a.fr/x\">",
            "</a>",
            ":::info Titre",
            ":::",
            "::::tip",
            "::::",
            ":::vide collapsible",
            "\n",
            "\n\n",
            "    ",
            "**",
            "*",
            "_",
            "`",
            "```",
            "[",
            "]",
            "(",
            ")",
            " (",
            "![a](https://x.fr/y.png =1x2)",
            "![](z.mp4)",
            "<iframe src=\"https://v.fr/x\">",
            "</iframe>",
            "<img src=x onerror=alert(1)>",
            "| a | b |",
            "|---|---|",
            "> ",
            "- ",
            "1. ",
            "# ",
            "### ",
            ":one:",
            ":sos:",
            "{.x}",
            "<",
            ">",
            "&",
            "&amp;",
            "&#x3c;",
            "&#0;",
            "<!",
            "--",
            "é",
            "🚨",
            "\t",
            "<div onclick=\"x\">",
            "</div>",
            "<br/>",
            "<video><source src=\"https://a.fr/b.mp4\">",
            "https://a_b.fr/*x*",
            "~~",
            "<p>",
            "[:sos:] (#cible)",
            "[lien](https://a.fr)",
            "- [ ] ",
            "*****",
            "\\",
            "<details><summary>",
            "\r\n",
            "mot",
        ]);
        let piece = prop_oneof![
            4 => fragments.prop_map(str::to_owned),
            2 => "[a-z <>!&;:#*_\\[\\]()|`\n-]{0,12}",
            1 => any::<String>(),
            1 => (1usize..900, prop::sample::select(vec!["x", "mot ", "🚨", "é\n", "- a\n\n"])).prop_map(|(n, s)| s.repeat(n)),
        ];
        prop::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(300))]

        #[test]
        fn any_input_renders_safely(markdown in soup(), menu in proptest::collection::vec(soup(), 0..3)) {
            let message = matrix(&markdown, &menu, None);
            proptest::prop_assert_eq!(check_matrix_html(&message.formatted_body), Ok(()));
            let parts = discord(&markdown, &menu, 26, None);
            for part in &parts {
                proptest::prop_assert!(part.encode_utf16().count() <= DISCORD_MESSAGE_LIMIT);
                proptest::prop_assert!(!part.trim().is_empty());
                proptest::prop_assert!(!part.contains("<!--"));
            }
            let text = plain(&markdown, &menu, None);
            for output in [&text, &message.body, &message.formatted_body] {
                proptest::prop_assert!(!output.contains("<!--"));
            }
            proptest::prop_assert!(text.lines().all(|line| line == line.trim_end()));
            proptest::prop_assert!(!text.contains("\n\n\n"));
        }
    }
}

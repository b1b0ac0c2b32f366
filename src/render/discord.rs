//! Discord rendering of a reply: Discord's Markdown dialect, cut into messages that fit its
//! 2,000-character limit.

use super::plain::{list_lines, table_text_lines};
use super::{
    Block, Inline, LinkTarget, Media, Style, TEXT_RULE, finish_lines, menu_label, prefix_lines,
    text_is_url, url_scheme,
};
use crate::strings::Strings;

/// Longest message content Discord accepts. serenity counts Unicode scalar values
/// (`chars().count()`); the parts are measured in UTF-16 code units, never fewer, so they fit
/// whichever way the limit is counted.
pub const DISCORD_MESSAGE_LIMIT: usize = 2000;

/// Room kept in each part for closing a code block cut in two and reopening it in the next.
const FENCE_REPAIR_ROOM: usize = 48;
/// Longest code block language kept (it is repeated when a block is cut).
const MAX_LANGUAGE: usize = 16;

/// The reply as Discord messages, in order, each within [`DISCORD_MESSAGE_LIMIT`].
///
/// `menu_text` are the choices that did not fit in buttons; they are listed at the end,
/// numbered from `first_number` (the number the user can type to choose them). An empty
/// reply gives no message at all: Discord refuses empty content. `step_label` is the
/// message's [`crate::engine::BotMessage::step_label`] (set when it has choices, buttons
/// or not); `strings`, the bot's, name what the text does not (media, untitled boxes).
pub fn discord(
    markdown: &str,
    menu_text: &[String],
    first_number: usize,
    step_label: Option<&str>,
    strings: &Strings,
) -> Vec<String> {
    let blocks = super::parse_message(markdown, step_label, strings);
    let mut lines = blocks_lines(&blocks, false, true);
    if !menu_text.is_empty() {
        lines.push(String::new());
        for (index, label) in menu_text.iter().enumerate() {
            lines.push(format!(
                "{}. {}",
                first_number.saturating_add(index),
                escape_text(&menu_label(label))
            ));
        }
    }
    split_message(&finish_lines(lines), DISCORD_MESSAGE_LIMIT)
}

/// Blocks as lines. Discord has no nested quotes: inside one, boxes and quotes add no `> `,
/// and blocks are not separated by blank lines (a blank line would end the quote).
fn blocks_lines(blocks: &[Block], in_quote: bool, separated: bool) -> Vec<String> {
    let mut lines = Vec::new();
    for block in blocks {
        let block_lines = block_lines(block, in_quote);
        if block_lines.is_empty() {
            continue;
        }
        if separated && !in_quote && !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(block_lines);
    }
    lines
}

fn block_lines(block: &Block, in_quote: bool) -> Vec<String> {
    match block {
        Block::Paragraph(inlines) => text_lines(&inline_markdown(inlines, Context::default())),
        Block::Heading(_, inlines) => {
            let context = Context {
                in_bold: true,
                ..Context::default()
            };
            text_lines(&inline_markdown(inlines, context))
                .into_iter()
                .map(|line| format!("**{line}**"))
                .collect()
        }
        Block::Quote(blocks) => quote(blocks_lines(blocks, true, true), in_quote),
        Block::List { start, items } => {
            list_lines(*start, items, |item| blocks_lines(item, in_quote, false))
        }
        Block::Code { language, text } => {
            code_block(language, text.lines().map(str::to_owned).collect())
        }
        Block::Rule => vec![TEXT_RULE.to_owned()],
        Block::Table { head, rows } => {
            // Discord has no tables: aligned text in a code block keeps the columns.
            code_block("", table_text_lines(head, rows))
        }
        Block::Admonition(admonition) => {
            let context = Context {
                in_bold: true,
                ..Context::default()
            };
            let title = inline_markdown(&admonition.title, context).replace('\n', " ");
            let header = if title.trim().is_empty() {
                admonition.emoji().to_owned()
            } else {
                format!("{} **{}**", admonition.emoji(), title.trim())
            };
            let mut lines = vec![header];
            lines.extend(blocks_lines(&admonition.body, true, true));
            quote(lines, in_quote)
        }
    }
}

fn quote(lines: Vec<String>, in_quote: bool) -> Vec<String> {
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .collect();
    if in_quote {
        lines
    } else {
        prefix_lines(lines, "> ", "")
    }
}

fn code_block(language: &str, lines: Vec<String>) -> Vec<String> {
    let language: String = language
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(MAX_LANGUAGE)
        .collect();
    let mut block = vec![format!("```{language}")];
    block.extend(lines.into_iter().map(|line| break_fences(&line)));
    block.push("```".to_owned());
    block
}

/// A zero-width space inside every run of three backticks, so content cannot close a block.
fn break_fences(text: &str) -> String {
    text.replace("```", "`\u{200B}``")
}

/// Lines of a paragraph, each protected from being read as a quote, heading or list item.
fn text_lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(|line| escape_line_start(line.trim_start()))
        .collect()
}

fn escape_line_start(line: &str) -> String {
    match line.chars().next() {
        Some('>' | '#' | '-' | '+') => format!("\\{line}"),
        Some(c) if c.is_ascii_digit() => {
            let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            match line.get(digits..).and_then(|rest| rest.chars().next()) {
                Some('.' | ')') => format!(
                    "{}\\{}",
                    line.get(..digits).unwrap_or_default(),
                    line.get(digits..).unwrap_or_default()
                ),
                _ => line.to_owned(),
            }
        }
        _ => line.to_owned(),
    }
}

/// Escapes Discord's inline markup characters. Web addresses are left as they are, so that
/// Discord still recognises them as links.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if starts_with_ignore_case(rest, "http://") || starts_with_ignore_case(rest, "https://") {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push_str(rest.get(..end).unwrap_or_default());
            rest = rest.get(end..).unwrap_or_default();
            continue;
        }
        if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '[' | ']' | '<') {
            out.push('\\');
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    out
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Characters of an address that would end or confuse a Markdown link destination.
fn escape_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            ' ' => out.push_str("%20"),
            _ => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, Copy, Default)]
struct Context {
    in_link: bool,
    /// Discord cannot nest `**`: inside bold text, further bold adds no marker.
    in_bold: bool,
}

fn inline_markdown(inlines: &[Inline], context: Context) -> String {
    let mut out = String::new();
    for inline in inlines {
        match inline {
            Inline::Text(text) => out.push_str(&escape_text(text)),
            Inline::Code(code) => out.push_str(&code_span(code)),
            Inline::Styled(style, content) => {
                let marker = match style {
                    Style::Strong if context.in_bold => "",
                    Style::Strong => "**",
                    Style::Emphasis => "*",
                    Style::Strikethrough => "~~",
                    Style::Underline => "__",
                    Style::Superscript | Style::Subscript => "",
                };
                let inner_context = Context {
                    in_bold: context.in_bold || *style == Style::Strong,
                    ..context
                };
                out.push_str(&wrap(&inline_markdown(content, inner_context), marker));
            }
            Inline::Link { target, content } => match target {
                LinkTarget::External(url) if !context.in_link => {
                    let text = inline_markdown(
                        content,
                        Context {
                            in_link: true,
                            ..context
                        },
                    )
                    .replace('\n', " ");
                    let mut words = String::new();
                    super::inline_words(content, &mut words);
                    let text = text.trim();
                    // Masked links take only web addresses; others are spelled out.
                    let web = matches!(url_scheme(url).as_deref(), Some("http" | "https"));
                    let says_url = text.is_empty() || text_is_url(&words, url);
                    match (web, says_url) {
                        (true, true) => out.push_str(url),
                        (true, false) => out.push_str(&format!("[{text}]({})", escape_url(url))),
                        (false, true) if !text.is_empty() => out.push_str(text),
                        (false, _) if text.is_empty() => out.push_str(&escape_text(url)),
                        (false, _) => out.push_str(&format!("{text} ({})", escape_text(url))),
                    }
                }
                _ => out.push_str(&inline_markdown(
                    content,
                    Context {
                        in_link: true,
                        ..context
                    },
                )),
            },
            Inline::Media(media) => out.push_str(&media_markdown(media, context)),
            Inline::LineBreak => out.push('\n'),
        }
    }
    out
}

/// Wraps text in a marker, leaving its edge spaces outside (`** x**` is not bold on Discord).
fn wrap(text: &str, marker: &str) -> String {
    let core = text.trim();
    if marker.is_empty() || core.is_empty() {
        return text.to_owned();
    }
    let leading = text
        .get(..text.len() - text.trim_start().len())
        .unwrap_or_default();
    let trailing = text.get(text.trim_end().len()..).unwrap_or_default();
    format!("{leading}{marker}{core}{marker}{trailing}")
}

fn code_span(code: &str) -> String {
    let code = break_fences(code);
    if code.contains('`') {
        format!("`` {} ``", code.replace("``", "`\u{200B}`"))
    } else {
        format!("`{code}`")
    }
}

/// Discord cannot show external media inline from a bot's text: an emoji and a link.
fn media_markdown(media: &Media, context: Context) -> String {
    let name = escape_text(media.name());
    match media.link().filter(|_| !context.in_link) {
        Some(url) => format!("{} [{name}]({})", media.kind.emoji(), escape_url(url)),
        None => format!("{} {name}", media.kind.emoji()),
    }
}

// --- Splitting -----------------------------------------------------------------------------

fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Cuts `text` into parts of at most `limit` UTF-16 units: between paragraphs if possible,
/// else between lines, else anywhere (between characters). A code block cut in two is closed
/// at the end of one part and reopened at the start of the next.
pub(crate) fn split_message(text: &str, limit: usize) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    if units(text) <= limit {
        return vec![text.to_owned()];
    }
    let mut parts = Parts {
        budget: limit.saturating_sub(FENCE_REPAIR_ROOM).max(1),
        ..Parts::default()
    };
    for paragraph in text.split("\n\n") {
        if parts.append(paragraph, "\n\n") {
            continue;
        }
        parts.flush();
        if parts.append(paragraph, "") {
            continue;
        }
        for line in paragraph.split('\n') {
            if parts.append(line, "\n") {
                continue;
            }
            parts.flush();
            if parts.append(line, "") {
                continue;
            }
            for c in line.chars() {
                if !parts.append(c.encode_utf8(&mut [0; 4]), "") {
                    parts.flush();
                    parts.append(c.encode_utf8(&mut [0; 4]), "");
                }
            }
        }
    }
    parts.flush();
    repair_fences(parts.done)
}

/// Parts being filled; the length of the current one is kept to stay linear.
#[derive(Default)]
struct Parts {
    budget: usize,
    done: Vec<String>,
    current: String,
    current_units: usize,
}

impl Parts {
    /// Appends `piece` (after `separator` unless the part is empty) if it stays within budget.
    fn append(&mut self, piece: &str, separator: &str) -> bool {
        let separator = if self.current.is_empty() {
            ""
        } else {
            separator
        };
        let added = units(separator) + units(piece);
        if self.current_units + added > self.budget {
            return false;
        }
        self.current.push_str(separator);
        self.current.push_str(piece);
        self.current_units += added;
        true
    }

    fn flush(&mut self) {
        let part = std::mem::take(&mut self.current);
        self.current_units = 0;
        if !part.trim().is_empty() {
            self.done.push(part);
        }
    }
}

/// The fence line of a code block this renderer wrote (possibly inside a quote).
fn fence_line(line: &str) -> bool {
    line.strip_prefix("> ").unwrap_or(line).starts_with("```")
}

fn repair_fences(parts: Vec<String>) -> Vec<String> {
    let mut repaired = Vec::with_capacity(parts.len());
    let mut open_fence: Option<String> = None;
    for part in parts {
        let mut fixed = match &open_fence {
            Some(fence) => format!("{fence}\n{part}"),
            None => part.clone(),
        };
        for line in part.lines().filter(|line| fence_line(line)) {
            open_fence = if open_fence.is_some() {
                None
            } else {
                Some(line.to_owned())
            };
        }
        if let Some(fence) = &open_fence {
            let quote = if fence.starts_with("> ") { "> " } else { "" };
            fixed.push_str(&format!("\n{quote}```"));
        }
        repaired.push(fixed);
    }
    repaired
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(markdown: &str) -> String {
        discord(markdown, &[], 1, None, &Strings::default()).join("\n----\n")
    }

    #[test]
    fn constructs() {
        let cases = [
            (
                "**Gras** et *italique* ~~barré~~",
                "**Gras** et *italique* ~~barré~~",
            ),
            ("<b> gras </b>!", "**gras** !"),
            ("- a\n\n- b", "- a\n- b"),
            ("1. un\n\n2. deux", "1. un\n2. deux"),
            ("### Titre", "**Titre**"),
            ("## **Déjà gras**", "**Déjà gras**"),
            (
                "[Pix](https://pix.fr/a_(b))",
                "[Pix](https://pix.fr/a_%28b%29)",
            ),
            (
                "[https://orga.pix.fr](https://orga.pix.fr/)",
                "https://orga.pix.fr/",
            ),
            ("[:sos:] (#profs_pixorga)", "🆘"),
            (
                "![invitation](https://a.fr/i.png)",
                "🖼️ [invitation](https://a.fr/i.png)",
            ),
            (
                "<iframe src=\"https://v.fr/x\"></iframe>",
                "🔗 [contenu intégré](https://v.fr/x)",
            ),
            (
                "2 * 3 = 6, a_b, ~x~, `c`, <@123>",
                "2 \\* 3 = 6, a\\_b, ~~x~~, `c`, \\<@123>",
            ),
            ("Voir https://a.fr/x_y_z ici", "Voir https://a.fr/x_y_z ici"),
            ("\\# pas un titre", "\\# pas un titre"),
            ("\\- pas une liste", "\\- pas une liste"),
            ("2024\\. pas une liste", "2024\\. pas une liste"),
            ("*****", TEXT_RULE),
            ("`a``b`", "`` a`\u{200B}`b ``"),
            ("```\n\nx ``` y\n\n```", "```\nx `\u{200B}`` y\n```"),
            (
                "| a | b |\n\n|---|---|\n\n| **1** | 2 |",
                "```\n| a | b |\n|---|---|\n| 1 | 2 |\n```",
            ),
            ("> cité\n>\n> deux", "> cité\n> deux"),
            ("Texte <!-- caché -->", "Texte"),
            ("<!-- rien -->", ""),
            ("<contact@college.fr>", "contact@college.fr"),
            ("[appeler](tel:0102030405)", "appeler (tel:0102030405)"),
        ];
        for (markdown, expected) in cases {
            assert_eq!(one(markdown), expected, "{markdown:?}");
        }
    }

    #[test]
    fn admonitions() {
        let cases = [
            (
                ":::info Titre\n\nTexte\n\n- a\n\n- b\n\n:::",
                "> ℹ️ **Titre**\n> Texte\n> - a\n> - b",
            ),
            (
                ":::warning\n\nAttention\n\n:::\n\nAprès",
                "> ⚠️\n> Attention\n\nAprès",
            ),
            (
                ":::info **Gras** titre\n\nx\n\n:::",
                "> ℹ️ **Gras titre**\n> x",
            ),
            (
                ":::info A\n\n::::tip B\n\nin\n\n::::\n\n:::",
                "> ℹ️ **A**\n> 💡 **B**\n> in",
            ),
            (
                ":::note\n\n```\n\ncode\n\n```\n\n:::",
                "> 📝\n> ```\n> code\n> ```",
            ),
        ];
        for (markdown, expected) in cases {
            assert_eq!(one(markdown), expected, "{markdown:?}");
        }
    }

    #[test]
    fn menu_text_continues_the_numbering() {
        let menu = vec!["Vingt-six".to_owned(), "*Vingt-sept*".to_owned()];
        assert_eq!(
            discord("Choix :", &menu, 26, None, &Strings::default()),
            vec!["Choix :\n\n26. Vingt-six\n27. \\*Vingt-sept\\*".to_owned()]
        );
        assert!(discord("", &[], 1, None, &Strings::default()).is_empty());
    }

    #[test]
    fn long_replies_are_split_at_paragraphs() {
        let paragraph = "mot ".repeat(120).trim_end().to_owned(); // 479 characters
        let markdown = vec![paragraph.clone(); 10].join("\n\n");
        let parts = discord(&markdown, &[], 1, None, &Strings::default());
        assert_eq!(parts.len(), 3);
        for part in &parts {
            assert!(units(part) <= DISCORD_MESSAGE_LIMIT);
            assert!(
                part.split("\n\n").all(|p| p == paragraph),
                "a paragraph was cut"
            );
        }
        assert_eq!(
            parts
                .iter()
                .map(|part| part.split("\n\n").count())
                .sum::<usize>(),
            10
        );
    }

    #[test]
    fn split_falls_back_to_lines_then_characters() {
        let line = "x".repeat(300);
        let paragraph = vec![line.clone(); 10].join("\n");
        let parts = split_message(&paragraph, 1000);
        assert!(
            parts
                .iter()
                .all(|part| units(part) <= 1000 && part.split('\n').all(|l| l == line))
        );
        assert_eq!(
            parts
                .iter()
                .map(|part| part.split('\n').count())
                .sum::<usize>(),
            10
        );

        let long_word = "é".repeat(2500);
        let parts = split_message(&long_word, 1000);
        assert!(parts.iter().all(|part| units(part) <= 1000));
        assert_eq!(parts.concat(), long_word);

        // Emoji outside the basic plane count twice in UTF-16.
        let emoji = "🚨".repeat(1500);
        let parts = split_message(&emoji, DISCORD_MESSAGE_LIMIT);
        assert!(
            parts
                .iter()
                .all(|part| units(part) <= DISCORD_MESSAGE_LIMIT)
        );
        assert_eq!(parts.concat(), emoji);
    }

    #[test]
    fn code_block_cut_in_two_is_closed_and_reopened() {
        let rows: Vec<String> = (0..200)
            .map(|n| format!("| ligne {n:03} | {} |", "x".repeat(10)))
            .collect();
        let markdown = format!("| a | b |\n\n|---|---|\n\n{}", rows.join("\n\n"));
        let parts = discord(&markdown, &[], 1, None, &Strings::default());
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(units(part) <= DISCORD_MESSAGE_LIMIT);
            assert!(part.starts_with("```"), "{part}");
            assert!(part.ends_with("\n```"), "{part}");
        }
    }
}

//! Text helpers shared by the renderers: emoji shortcodes, menu labels, widths, tables and
//! line prefixes.

use super::html::collapse_whitespace;
use super::prepass::{strip_comment_openers, strip_html_comments};

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

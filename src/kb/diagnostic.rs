//! Problems found in a knowledge base, rendered like a compiler's messages.

use std::fmt::Write as _;

use super::{Location, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One message for the author, attached to a place in the files when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Option<Location>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(location: Option<Location>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            location,
            column: None,
            message: message.into(),
        }
    }
    pub fn warning(location: Option<Location>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            location,
            column: None,
            message: message.into(),
        }
    }
    pub fn note(location: Option<Location>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Note,
            location,
            column: None,
            message: message.into(),
        }
    }
    pub fn with_column(mut self, column: u32) -> Self {
        self.column = Some(column);
        self
    }

    /// `file:line: severity: message` (with `:col` for errors that have one), as `check`
    /// prints it on one line.
    pub fn headline(&self, files: &[SourceFile]) -> String {
        let mut out = String::new();
        if let Some(loc) = self.location {
            let path = files
                .get(loc.file)
                .map(|f| f.path.display().to_string())
                .unwrap_or_else(|| "?".into());
            let _ = write!(out, "{path}:{}", loc.line);
            if let Some(col) = self.column {
                let _ = write!(out, ":{col}");
            }
            out.push_str(": ");
        }
        let _ = write!(out, "{}: {}", self.severity.as_str(), self.message);
        out
    }

    /// The headline followed by the offending line quoted, and a caret under the column.
    pub fn render(&self, files: &[SourceFile]) -> String {
        let mut out = self.headline(files);
        if let Some(loc) = self.location
            && let Some(text) = files
                .get(loc.file)
                .and_then(|f| f.lines.get((loc.line as usize).wrapping_sub(1)))
        {
            let number = loc.line.to_string();
            let pad = " ".repeat(number.len());
            let (quoted, before) = quote_window(text, self.column);
            let _ = write!(out, "\n{pad} |\n{number} | {quoted}");
            if let Some(before) = before {
                let indent: String = before
                    .chars()
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                let _ = write!(out, "\n{pad} | {indent}^");
            }
        }
        out
    }
}

/// Longest part of a line quoted under a diagnostic, in characters. A base can hold lines of
/// megabytes with thousands of errors each; quoting the whole line under every one of them
/// made the report quadratic in the line's length.
const QUOTE_MAX_CHARS: usize = 120;

/// Diagnostics quoted with their line in one report; the rest get their headline only, so
/// that the work of finding the column in a long line is spent a bounded number of times.
pub const MAX_QUOTED: usize = 100;

/// The part of `text` to quote (around the column, marked `…` where cut) and, with a column,
/// the quoted text before the caret.
fn quote_window(text: &str, column: Option<u32>) -> (String, Option<String>) {
    let caret_at = column.map(|c| c.saturating_sub(1) as usize);
    if text.len() <= QUOTE_MAX_CHARS {
        let before = caret_at.map(|n| text.chars().take(n).collect());
        return (text.to_string(), before);
    }
    let start = caret_at.unwrap_or(0).saturating_sub(QUOTE_MAX_CHARS / 2);
    let mut chars = text.chars().skip(start);
    let mut quoted = String::new();
    if start > 0 {
        quoted.push('…');
    }
    quoted.extend(chars.by_ref().take(QUOTE_MAX_CHARS));
    if chars.next().is_some() {
        quoted.push('…');
    }
    let before = caret_at.map(|n| {
        let marker = if start > 0 { " " } else { "" };
        let shown: String = text
            .chars()
            .skip(start)
            .take(n.saturating_sub(start))
            .collect();
        format!("{marker}{shown}")
    });
    (quoted, before)
}

/// All diagnostics rendered one after the other, one per line: errors quoted with their
/// line, up to [`MAX_QUOTED`] of them (a broken base may have thousands), everything else by
/// its headline. `guichet check` and a refused load print the same.
pub fn render_all(files: &[SourceFile], diagnostics: &[Diagnostic]) -> String {
    let mut quoted = 0;
    diagnostics
        .iter()
        .map(|d| {
            if d.severity == Severity::Error && quoted < MAX_QUOTED {
                quoted += 1;
                d.render(files)
            } else {
                d.headline(files)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

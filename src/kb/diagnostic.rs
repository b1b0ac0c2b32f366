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
            let _ = write!(out, "\n{pad} |\n{number} | {text}");
            if let Some(col) = self.column {
                let before: String = text.chars().take(col.saturating_sub(1) as usize).collect();
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

/// All diagnostics rendered one after the other (used by error `Display`).
pub fn render_all(files: &[SourceFile], diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.render(files))
        .collect::<Vec<_>>()
        .join("\n")
}

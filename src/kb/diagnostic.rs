//! Problems found in a knowledge base, rendered like a compiler's messages, and the "did
//! you mean" suggestions they carry (for the header's keys and the checks' targets alike).

use std::fmt::Write as _;

use super::{Location, SourceFile};
use crate::distance::{distance_within, one_swap};

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

/// The closest of `candidates` to `name`, if any is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    Suggestions::new(candidates).closest(name, &mut SuggestionBudget::default())
}

/// Work allowed for "did you mean" suggestions in one check. The edit distance costs up to
/// the product of the two lengths in time: thousands of dangling targets times thousands of
/// long titles would take minutes. Past the budget, warnings simply come without a
/// suggestion.
#[derive(Debug, Clone, Copy)]
pub struct SuggestionBudget {
    /// Character pairs left to compare (about 10 ns each).
    cells: u64,
}

impl Default for SuggestionBudget {
    fn default() -> Self {
        Self { cells: 50_000_000 }
    }
}

/// Longest text compared for a suggestion: typos are found in titles, not in pages of text.
const SUGGESTION_MAX_CHARS: usize = 1_000;

/// Names that a misspelt one may have meant, each lower-cased once however many misspelt
/// names are looked up (a base with thousands of dangling targets and of titles).
#[derive(Debug)]
pub struct Suggestions<'a> {
    /// Each candidate, lower-cased, as chars (`None` past [`SUGGESTION_MAX_CHARS`]: never
    /// suggested).
    candidates: Vec<(&'a str, Option<Vec<char>>)>,
}

impl<'a> Suggestions<'a> {
    pub fn new(candidates: impl IntoIterator<Item = &'a str>) -> Self {
        let candidates = candidates
            .into_iter()
            .map(|candidate| {
                let prepared = (candidate.len() <= 4 * SUGGESTION_MAX_CHARS)
                    .then(|| candidate.to_lowercase().chars().collect::<Vec<char>>())
                    .filter(|chars| chars.len() <= SUGGESTION_MAX_CHARS);
                (candidate, prepared)
            })
            .collect();
        Self { candidates }
    }

    /// The closest candidate to `name`, spending from a budget shared by one check.
    pub fn closest(&self, name: &str, budget: &mut SuggestionBudget) -> Option<&'a str> {
        if budget.cells == 0 {
            return None;
        }
        let name_lower: Vec<char> = name.to_lowercase().chars().collect();
        let name_chars = name_lower.len();
        if name_chars > SUGGESTION_MAX_CHARS {
            return None;
        }
        let mut best: Option<(&str, f64)> = None;
        for (candidate, prepared) in &self.candidates {
            // Looking at a candidate costs a cell; comparing it, the product of the lengths.
            budget.cells = budget.cells.saturating_sub(1);
            if budget.cells == 0 {
                return None;
            }
            let Some(candidate_lower) = prepared else {
                continue;
            };
            // A plausible typo scores 0.6 at least, the score being 1 − distance / (longer
            // length): at most two edits in five characters. The length difference alone is
            // that many edits: such candidates are skipped without computing anything.
            let longer = name_chars.max(candidate_lower.len());
            let max_edits = longer * 2 / 5;
            if name_chars.abs_diff(candidate_lower.len()) > max_edits {
                continue;
            }
            let cost = (name_chars as u64 + 1) * (candidate_lower.len() as u64 + 1);
            if cost > budget.cells {
                budget.cells = 0;
                return None;
            }
            budget.cells -= cost;
            let distance = if one_swap(&name_lower, candidate_lower) {
                1
            } else {
                let Some(distance) = distance_within(&name_lower, candidate_lower, max_edits)
                else {
                    continue;
                };
                distance
            };
            let score = 1.0 - distance as f64 / longer.max(1) as f64;
            // `>=`: the last of equally close candidates wins, as `Iterator::max_by` did.
            if *candidate != name && best.is_none_or(|(_, b)| score >= b) {
                best = Some((candidate, score));
            }
        }
        best.map(|(c, _)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_picks_the_closest() {
        assert_eq!(
            did_you_mean("horaire", ["Horaires", "Emprunt"]),
            Some("Horaires")
        );
        assert_eq!(did_you_mean("xyz", ["Horaires"]), None);
        // Two letters swapped are one slip, even in a short name.
        assert_eq!(
            did_you_mean("horiares", ["Emprunt", "Horaires"]),
            Some("Horaires")
        );
        assert_eq!(did_you_mean("uesr", ["user", "rooms"]), Some("user"));
        // At most two edits in five characters, whichever name is longer.
        assert_eq!(did_you_mean("horai", ["Horaires"]), Some("Horaires"));
        assert_eq!(did_you_mean("hora", ["Horaires"]), None);
        assert_eq!(did_you_mean("Horaires", ["Horaires"]), None, "itself");
    }
}

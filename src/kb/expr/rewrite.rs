//! ChatMD's textual rewriting of a condition before it is parsed (docs/chatmd.md §F10.6 step 2).

use super::{ExprError, Result, SourceChar, is_line_terminator, is_variable_name_char};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Char(SourceChar),
    /// `@name`, kept whole: in ChatMD it has already become
    /// `tryConvertStringToNumber(dynamicVariables["name"])`, which contains no operator, no
    /// `&`/`|`, and ends with the `)` that terminates a value it is part of.
    Variable(Vec<SourceChar>),
}

impl Piece {
    fn is_char(&self, wanted: char) -> bool {
        matches!(self, Piece::Char(c) if c.ch == wanted)
    }
}

fn split_variables(text: &str) -> Vec<Piece> {
    let chars: Vec<SourceChar> = text
        .chars()
        .enumerate()
        .map(|(column, ch)| SourceChar { ch, column })
        .collect();
    let mut pieces = Vec::with_capacity(chars.len());
    let mut index = 0;
    while let Some(&current) = chars.get(index) {
        let name_length = if current.ch == '@' {
            chars
                .get(index + 1..)
                .unwrap_or_default()
                .iter()
                .take_while(|c| is_variable_name_char(c.ch))
                .count()
        } else {
            0
        };
        if name_length > 0 {
            let end = index + 1 + name_length;
            pieces.push(Piece::Variable(
                chars.get(index..end).unwrap_or_default().to_vec(),
            ));
            index = end;
        } else {
            pieces.push(Piece::Char(current));
            index += 1;
        }
    }
    pieces
}

/// Comparison operators in the order ChatMD's regex alternation tries them.
const COMPARISONS: [&str; 6] = ["==", "!=", "<=", ">=", "<", ">"];

fn comparison_at(pieces: &[Piece], index: usize) -> Option<&'static str> {
    COMPARISONS.into_iter().find(|op| {
        op.chars()
            .enumerate()
            .all(|(offset, ch)| pieces.get(index + offset).is_some_and(|p| p.is_char(ch)))
    })
}

/// ChatMD's value terminator: `)`, `&`, `|` or the end of the text.
fn is_terminator(pieces: &[Piece], index: usize) -> bool {
    match pieces.get(index) {
        None => true,
        Some(piece) => piece.is_char(')') || piece.is_char('&') || piece.is_char('|'),
    }
}

enum ComparedValue {
    /// The value (`start..end`) becomes a string literal; `resume` is past the terminator.
    Quoted {
        start: usize,
        end: usize,
        terminator: Option<usize>,
        resume: usize,
    },
    /// The value contains a variable reference and stays code, up to and including it.
    Code { start: usize, end: usize },
}

fn compared_value(pieces: &[Piece], after_operator: usize) -> Option<ComparedValue> {
    let start = if pieces.get(after_operator).is_some_and(|p| p.is_char(' ')) {
        after_operator + 1
    } else {
        after_operator
    };
    let mut end = start;
    loop {
        // The lazy `(.*?)` stops at the first place where ` ?` and a terminator match.
        if pieces.get(end).is_some_and(|p| p.is_char(' ')) && is_terminator(pieces, end + 1) {
            let terminator = (end + 1 < pieces.len()).then_some(end + 1);
            return Some(ComparedValue::Quoted {
                start,
                end,
                terminator,
                resume: end + 2,
            });
        }
        if is_terminator(pieces, end) {
            let terminator = (end < pieces.len()).then_some(end);
            return Some(ComparedValue::Quoted {
                start,
                end,
                terminator,
                resume: end + 1,
            });
        }
        match pieces.get(end)? {
            Piece::Char(c) if is_line_terminator(c.ch) => return None,
            Piece::Char(_) => end += 1,
            Piece::Variable(_) => {
                return Some(ComparedValue::Code {
                    start,
                    end: end + 1,
                });
            }
        }
    }
}

fn push_piece(out: &mut Vec<SourceChar>, piece: &Piece) {
    match piece {
        Piece::Char(c) => out.push(*c),
        Piece::Variable(chars) => out.extend_from_slice(chars),
    }
}

pub(super) fn rewrite_condition(text: &str) -> Result<Vec<SourceChar>> {
    let pieces = split_variables(text);
    let end_column = text.chars().count();
    let column_of = |index: usize| match pieces.get(index) {
        Some(Piece::Char(c)) => c.column,
        Some(Piece::Variable(chars)) => chars.first().map_or(end_column, |c| c.column),
        None => end_column,
    };

    let mut out: Vec<SourceChar> = Vec::with_capacity(pieces.len() + 8);
    let mut index = 0;
    // A compared value that runs into a line terminator is no value, and so is that of every
    // later comparison before the same terminator: remembering it keeps a condition of many
    // `==` before a line terminator linear instead of scanning to it from each of them.
    let mut dead_end: Option<usize> = None;
    while let Some(piece) = pieces.get(index) {
        let Some(operator) = comparison_at(&pieces, index) else {
            push_piece(&mut out, piece);
            index += 1;
            continue;
        };
        let after_operator = index + operator.len();
        let value = if dead_end.is_some_and(|end| after_operator <= end) {
            None
        } else {
            compared_value(&pieces, after_operator)
        };
        let Some(value) = value else {
            if dead_end.is_none_or(|end| after_operator > end) {
                dead_end = pieces
                    .get(after_operator..)
                    .unwrap_or_default()
                    .iter()
                    .position(|p| matches!(p, Piece::Char(c) if is_line_terminator(c.ch)))
                    .map(|offset| after_operator + offset);
            }
            push_piece(&mut out, piece);
            index += 1;
            continue;
        };
        for operator_piece in pieces.get(index..after_operator).unwrap_or_default() {
            push_piece(&mut out, operator_piece);
        }
        match value {
            ComparedValue::Quoted {
                start,
                end,
                terminator,
                resume,
            } => {
                if start == end {
                    return Err(ExprError::new(
                        column_of(index),
                        format!("missing value after `{operator}`"),
                    ));
                }
                let quote_column = column_of(start);
                out.push(SourceChar {
                    ch: '"',
                    column: quote_column,
                });
                for value_piece in pieces.get(start..end).unwrap_or_default() {
                    push_piece(&mut out, value_piece);
                }
                let closing_column = column_of(end);
                out.push(SourceChar {
                    ch: '"',
                    column: closing_column,
                });
                out.push(SourceChar {
                    ch: ' ',
                    column: closing_column,
                });
                if let Some(terminator) = terminator.and_then(|t| pieces.get(t)) {
                    push_piece(&mut out, terminator);
                }
                index = resume;
            }
            ComparedValue::Code { start, end } => {
                for value_piece in pieces.get(start..end).unwrap_or_default() {
                    push_piece(&mut out, value_piece);
                }
                out.push(SourceChar {
                    ch: ' ',
                    column: column_of(end),
                });
                index = end;
            }
        }
    }
    Ok(restore_literals(collapse_double_quotes(out)))
}

/// ChatMD's `.replaceAll('""', '"')`: left to right, without overlap.
fn collapse_double_quotes(chars: Vec<SourceChar>) -> Vec<SourceChar> {
    let mut out = Vec::with_capacity(chars.len());
    let mut iter = chars.into_iter().peekable();
    while let Some(c) = iter.next() {
        if c.ch == '"' && iter.peek().is_some_and(|next| next.ch == '"') {
            iter.next();
        }
        out.push(c);
    }
    out
}

/// `"undefined"`, `"true"`, `"false"` become literals (docs/chatmd.md §F10.6). ChatMD's copies we
/// could read only turn the *first* `"undefined"` back (`String.replace` with a string pattern
/// replaces once), which makes `@a==undefined && @b==undefined` test `@b` against the string
/// `"undefined"`; guichet turns every occurrence back.
fn restore_literals(chars: Vec<SourceChar>) -> Vec<SourceChar> {
    const WORDS: [&str; 3] = ["undefined", "true", "false"];
    let mut out = Vec::with_capacity(chars.len());
    let mut index = 0;
    while let Some(&c) = chars.get(index) {
        let literal = if c.ch == '"' {
            WORDS.into_iter().find(|word| {
                let length = word.chars().count();
                chars.get(index + 1 + length).is_some_and(|q| q.ch == '"')
                    && word.chars().enumerate().all(|(offset, ch)| {
                        chars.get(index + 1 + offset).is_some_and(|x| x.ch == ch)
                    })
            })
        } else {
            None
        };
        match literal {
            Some(word) => {
                let length = word.chars().count();
                out.extend_from_slice(chars.get(index + 1..index + 1 + length).unwrap_or_default());
                index += length + 2;
            }
            None => {
                out.push(c);
                index += 1;
            }
        }
    }
    out
}

//! The tokenizer of the whitelisted JavaScript subset: punctuators, numbers, strings, escapes.

use super::{ExprError, Result, SourceChar, is_variable_name_char};
use crate::js::is_js_whitespace;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Number(f64),
    String(String),
    Variable(String),
    Identifier(String),
    Punct(&'static str),
    End,
}

impl Token {
    pub(super) fn describe(&self) -> String {
        match self {
            Token::Number(_) => "number".to_owned(),
            Token::String(_) => "string".to_owned(),
            Token::Variable(name) => format!("`@{name}`"),
            Token::Identifier(name) => format!("`{name}`"),
            Token::Punct(p) => format!("`{p}`"),
            Token::End => "end of expression".to_owned(),
        }
    }
}

/// Punctuators, longest first (maximal munch, as JavaScript tokenizes).
const PUNCTUATORS: [&str; 59] = [
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=",
    "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "**", "<<", ">>", "//", "/*", "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-", "*",
    "/", "%", "!", "?", ":", ".", "=", "&", "|", "^", "~",
];

/// Punctuators that are part of the whitelist.
const ALLOWED_PUNCTUATORS: [&str; 27] = [
    "(", ")", "[", "]", "{", "}", ",", ".", "?", ":", "+", "-", "*", "**", "/", "%", "!", "==",
    "!=", "===", "!==", "<", "<=", ">", ">=", "&&", "||",
];

fn rejected_punctuator_message(p: &str) -> String {
    match p {
        "=" | "+=" | "-=" | "*=" | "/=" | "%=" | "**=" | "&&=" | "||=" | "??=" | "&=" | "|="
        | "^=" | "<<=" | ">>=" | ">>>=" => {
            format!("assignment `{p}` is not allowed (compare with `==`)")
        }
        "++" | "--" => {
            format!("`{p}` (increment/decrement) is not allowed; separate the signs with a space")
        }
        "&" | "|" | "^" | "~" | "<<" | ">>" | ">>>" => {
            format!("bitwise operator `{p}` is not allowed (logical operators are `&&` and `||`)")
        }
        "//" | "/*" => "comments are not allowed".to_owned(),
        ";" => "only one expression is allowed (no `;`)".to_owned(),
        "=>" => "functions (`=>`) are not allowed".to_owned(),
        _ => format!("`{p}` is not allowed in an expression"),
    }
}

fn is_identifier_start(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphabetic()
}

fn is_identifier_part(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphanumeric() || c == '\u{200C}' || c == '\u{200D}'
}

struct Lexer<'a> {
    source: &'a [SourceChar],
    index: usize,
    end_column: usize,
}

impl Lexer<'_> {
    fn char_at(&self, offset: usize) -> Option<char> {
        self.source.get(self.index + offset).map(|c| c.ch)
    }

    fn column(&self) -> usize {
        self.column_at(self.index)
    }

    fn column_at(&self, index: usize) -> usize {
        self.source.get(index).map_or(self.end_column, |c| c.column)
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(offset, ch)| self.char_at(offset) == Some(ch))
    }
}

/// Tokens, ending with [`Token::End`]. On a lexical error the tokens read so far are returned
/// with the error, `End` standing at the error's column: the parser then reports whichever of
/// the two problems comes first in the text.
pub(super) fn tokenize(
    source: &[SourceChar],
    end_column: usize,
) -> (Vec<(Token, usize)>, Option<ExprError>) {
    let mut lexer = Lexer {
        source,
        index: 0,
        end_column,
    };
    let mut tokens = Vec::new();
    match lex_tokens(&mut lexer, &mut tokens) {
        Ok(()) => {
            tokens.push((Token::End, end_column));
            (tokens, None)
        }
        Err(error) => {
            tokens.push((Token::End, error.column));
            (tokens, Some(error))
        }
    }
}

fn lex_tokens(lexer: &mut Lexer<'_>, tokens: &mut Vec<(Token, usize)>) -> Result<()> {
    let source = lexer.source;
    while let Some(c) = lexer.char_at(0) {
        let column = lexer.column();
        if is_js_whitespace(c) {
            lexer.index += 1;
        } else if c == '"' {
            tokens.push((Token::String(lex_string(lexer)?), column));
        } else if c.is_ascii_digit()
            || (c == '.' && lexer.char_at(1).is_some_and(|d| d.is_ascii_digit()))
        {
            tokens.push((Token::Number(lex_number(lexer)?), column));
        } else if c == '@' {
            let name: String = source
                .get(lexer.index + 1..)
                .unwrap_or_default()
                .iter()
                .map(|c| c.ch)
                .take_while(|&c| is_variable_name_char(c))
                .collect();
            if name.is_empty() {
                return Err(ExprError::new(
                    column,
                    "`@` must be followed by a variable name (letters, digits, `_`)",
                ));
            }
            lexer.index += 1 + name.chars().count();
            tokens.push((Token::Variable(name), column));
        } else if is_identifier_start(c) {
            let name: String = source
                .get(lexer.index..)
                .unwrap_or_default()
                .iter()
                .map(|c| c.ch)
                .take_while(|&c| is_identifier_part(c))
                .collect();
            lexer.index += name.chars().count();
            tokens.push((Token::Identifier(name), column));
        } else if let Some(p) = PUNCTUATORS
            .into_iter()
            .find(|p| p.starts_with(c) && lexer.starts_with(p))
        {
            // `a?.5:1` is a ternary: `?.` followed by a digit is `?` then a number.
            let p = if p == "?." && lexer.char_at(2).is_some_and(|d| d.is_ascii_digit()) {
                "?"
            } else {
                p
            };
            if !ALLOWED_PUNCTUATORS.contains(&p) {
                return Err(ExprError::new(column, rejected_punctuator_message(p)));
            }
            lexer.index += p.len();
            tokens.push((Token::Punct(p), column));
        } else {
            let message = match c {
                '\'' => "strings must be written between double quotes (`\"…\"`)".to_owned(),
                '`' => "template strings are not allowed".to_owned(),
                _ => format!("character `{c}` is not allowed in an expression"),
            };
            return Err(ExprError::new(column, message));
        }
    }
    Ok(())
}

/// A JavaScript decimal literal. Forms that JavaScript reads differently from what a teacher
/// would expect (`010` is octal 8 in sloppy mode) or that are outside the whitelist are errors.
fn lex_number(lexer: &mut Lexer<'_>) -> Result<f64> {
    let start = lexer.index;
    let column = lexer.column();
    let mut text = String::new();
    if lexer.char_at(0) == Some('0') {
        match lexer.char_at(1) {
            Some('x' | 'X' | 'o' | 'O' | 'b' | 'B') => {
                return Err(ExprError::new(
                    column,
                    "hexadecimal, octal and binary numbers are not allowed",
                ));
            }
            Some(d) if d.is_ascii_digit() => {
                return Err(ExprError::new(
                    column,
                    "a number cannot start with `0` followed by digits (JavaScript reads it as octal)",
                ));
            }
            _ => {}
        }
    }
    let take_digits = |lexer: &mut Lexer<'_>, text: &mut String| {
        let mut count = 0;
        while let Some(d) = lexer.char_at(0).filter(char::is_ascii_digit) {
            text.push(d);
            lexer.index += 1;
            count += 1;
        }
        count
    };
    take_digits(lexer, &mut text);
    if lexer.char_at(0) == Some('.') {
        text.push('.');
        lexer.index += 1;
        take_digits(lexer, &mut text);
    }
    if let Some(e @ ('e' | 'E')) = lexer.char_at(0) {
        text.push(e);
        lexer.index += 1;
        if let Some(sign @ ('+' | '-')) = lexer.char_at(0) {
            text.push(sign);
            lexer.index += 1;
        }
        if take_digits(lexer, &mut text) == 0 {
            return Err(ExprError::new(
                lexer.column(),
                "missing digits in the exponent of a number",
            ));
        }
    }
    if lexer
        .char_at(0)
        .is_some_and(|c| is_identifier_start(c) || c.is_ascii_digit() || c == '\\')
    {
        return Err(ExprError::new(
            lexer.column(),
            "a number must not be directly followed by a letter",
        ));
    }
    text.parse::<f64>()
        .map_err(|_| ExprError::new(lexer.column_at(start), "invalid number"))
}

fn lex_string(lexer: &mut Lexer<'_>) -> Result<String> {
    let opening = lexer.column();
    lexer.index += 1;
    let mut value = String::new();
    loop {
        let column = lexer.column();
        let Some(c) = lexer.char_at(0) else {
            return Err(ExprError::new(opening, "unterminated string"));
        };
        lexer.index += 1;
        match c {
            '"' => return Ok(value),
            '\n' | '\r' => return Err(ExprError::new(opening, "unterminated string")),
            '@' if lexer.char_at(0).is_some_and(is_variable_name_char) => {
                // ChatMD substitutes `@name` even inside quotes, which breaks the string.
                return Err(ExprError::new(
                    column,
                    "a variable reference cannot appear inside a string; use `+` to join them",
                ));
            }
            '\\' => lex_escape(lexer, column, &mut value)?,
            other => value.push(other),
        }
    }
}

fn hex_value(lexer: &mut Lexer<'_>, digits: usize, column: usize) -> Result<u32> {
    let mut value = 0u32;
    for _ in 0..digits {
        let digit = lexer
            .char_at(0)
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| ExprError::new(column, "invalid escape sequence"))?;
        value = value * 16 + digit;
        lexer.index += 1;
    }
    Ok(value)
}

/// A `\u` escape: a code unit, or a code point in braces.
fn unicode_escape(lexer: &mut Lexer<'_>, column: usize) -> Result<u32> {
    if lexer.char_at(0) != Some('{') {
        return hex_value(lexer, 4, column);
    }
    lexer.index += 1;
    let mut value = 0u32;
    let mut digits = 0;
    while let Some(digit) = lexer.char_at(0).and_then(|c| c.to_digit(16)) {
        value = value.saturating_mul(16).saturating_add(digit);
        digits += 1;
        lexer.index += 1;
    }
    if digits == 0 || lexer.char_at(0) != Some('}') || value > 0x10FFFF {
        return Err(ExprError::new(column, "invalid escape sequence"));
    }
    lexer.index += 1;
    Ok(value)
}

fn lex_escape(lexer: &mut Lexer<'_>, column: usize, value: &mut String) -> Result<()> {
    let Some(c) = lexer.char_at(0) else {
        return Err(ExprError::new(column, "unterminated string"));
    };
    lexer.index += 1;
    match c {
        'n' => value.push('\n'),
        't' => value.push('\t'),
        'r' => value.push('\r'),
        'b' => value.push('\u{8}'),
        'f' => value.push('\u{C}'),
        'v' => value.push('\u{B}'),
        '0' if !lexer.char_at(0).is_some_and(|d| d.is_ascii_digit()) => value.push('\0'),
        '0'..='9' => {
            return Err(ExprError::new(
                column,
                "octal escape sequences are not allowed",
            ));
        }
        'x' => {
            let code = hex_value(lexer, 2, column)?;
            value.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        'u' => {
            let code = unicode_escape(lexer, column)?;
            let code = if (0xD800..0xDC00).contains(&code) && lexer.starts_with("\\u") {
                lexer.index += 2;
                let low = unicode_escape(lexer, column)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return Err(ExprError::new(
                        column,
                        "unpaired surrogate in escape sequence",
                    ));
                }
                0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else {
                code
            };
            let decoded = char::from_u32(code)
                .ok_or_else(|| ExprError::new(column, "unpaired surrogate in escape sequence"))?;
            value.push(decoded);
        }
        // Line continuation.
        '\n' | '\u{2028}' | '\u{2029}' => {}
        '\r' => {
            if lexer.char_at(0) == Some('\n') {
                lexer.index += 1;
            }
        }
        other => value.push(other),
    }
    Ok(())
}

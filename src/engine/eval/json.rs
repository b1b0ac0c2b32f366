//! `JSON.parse`, bounded in depth.

use super::value::Value;
use super::{EvalError, MAX_JSON_DEPTH, Result, set_own_property};
use crate::kb::expr::MAX_OBJECT_KEYS;

pub(super) fn json_parse(text: &str) -> Result<Value> {
    let mut parser = JsonParser {
        bytes: text.as_bytes(),
        index: 0,
    };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.index < parser.bytes.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    index: usize,
}

impl JsonParser<'_> {
    fn error(&self, message: &str) -> EvalError {
        EvalError::Json(format!("{message} at position {}", self.index))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.index).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.index += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') | Some(b'[') if depth >= MAX_JSON_DEPTH => {
                Err(self.error("JSON nested too deeply"))
            }
            Some(b'{') => {
                self.index += 1;
                let mut object = Vec::new();
                if self.eat(b'}') {
                    return Ok(Value::Object(object));
                }
                loop {
                    self.skip_whitespace();
                    if self.peek() != Some(b'"') {
                        return Err(self.error("expected a string key"));
                    }
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return Err(self.error("expected `:`"));
                    }
                    let value = self.value(depth + 1)?;
                    // Same bound as object literals: each new key is compared with the
                    // earlier ones, so an unbounded count would cost quadratic time.
                    if object.len() >= MAX_OBJECT_KEYS && !object.iter().any(|(k, _)| *k == key) {
                        return Err(self.error("JSON object with too many keys"));
                    }
                    set_own_property(&mut object, key, value);
                    if self.eat(b'}') {
                        return Ok(Value::Object(object));
                    }
                    if !self.eat(b',') {
                        return Err(self.error("expected `,` or `}`"));
                    }
                }
            }
            Some(b'[') => {
                self.index += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Ok(Value::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.error("expected `,` or `]`"));
                    }
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.keyword("true", Value::Bool(true)),
            Some(b'f') => self.keyword("false", Value::Bool(false)),
            Some(b'n') => self.keyword("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("unexpected token")),
        }
    }

    fn keyword(&mut self, word: &str, value: Value) -> Result<Value> {
        if self.bytes.get(self.index..self.index + word.len()) == Some(word.as_bytes()) {
            self.index += word.len();
            Ok(value)
        } else {
            Err(self.error("unexpected token"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.index;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.index += 1;
        }
        self.index - start
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.index;
        if self.peek() == Some(b'-') {
            self.index += 1;
        }
        if self.peek() == Some(b'0') {
            self.index += 1;
        } else if self.digits() == 0 {
            return Err(self.error("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.index += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.index += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.index += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        std::str::from_utf8(self.bytes.get(start..self.index).unwrap_or_default())
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
            .map(Value::Number)
            .ok_or_else(|| self.error("invalid number"))
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("invalid \\u escape"))?;
            value = value * 16 + digit;
            self.index += 1;
        }
        Ok(value)
    }

    /// A string, the opening quote being the current byte. Non-ASCII bytes are copied as they
    /// are: the input is valid UTF-8, so the copy is too.
    fn string(&mut self) -> Result<String> {
        self.index += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.index += 1;
            match byte {
                b'"' => break,
                0x00..=0x1F => return Err(self.error("control character in string")),
                b'\\' => {
                    let Some(escape) = self.peek() else {
                        return Err(self.error("unterminated string"));
                    };
                    self.index += 1;
                    let decoded = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{C}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let unit = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&unit)
                                && self.bytes.get(self.index..self.index + 2) == Some(b"\\u")
                            {
                                let saved = self.index;
                                self.index += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                                } else {
                                    self.index = saved;
                                    unit
                                }
                            } else {
                                unit
                            };
                            // A lone surrogate cannot live in a Rust string.
                            char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                        }
                        _ => return Err(self.error("invalid escape")),
                    };
                    let mut buffer = [0u8; 4];
                    out.extend_from_slice(decoded.encode_utf8(&mut buffer).as_bytes());
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8"))
    }
}

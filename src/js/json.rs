//! `JSON.parse` as JavaScript reads it (strict JSON, a repeated key keeps its place and
//! takes the last value, lone surrogates replaced since a Rust string cannot hold them),
//! bounded in nesting and in keys per object. It builds the caller's values through
//! [`FromJson`], so the evaluator gets its own `Value`s without a second tree.

use super::set_own_property;

/// Deepest array/object nesting accepted: the parser is recursive.
pub const MAX_JSON_DEPTH: usize = 64;

/// Why a text is not JSON (a `SyntaxError` in JavaScript), and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct JsonError {
    message: &'static str,
    /// In bytes from the start of the text.
    position: usize,
}

/// The values `JSON.parse` builds.
pub trait FromJson: Sized {
    fn null() -> Self;
    fn boolean(value: bool) -> Self;
    fn number(value: f64) -> Self;
    fn string(value: String) -> Self;
    fn array(items: Vec<Self>) -> Self;
    /// Own properties in insertion order, each key once.
    fn object(properties: Vec<(String, Self)>) -> Self;
}

/// `JSON.parse(text)`, with at most `max_keys` keys per object: each new key is compared
/// with the earlier ones (property order is insertion order), so an unbounded count would
/// cost quadratic time.
pub fn parse<V: FromJson>(text: &str, max_keys: usize) -> Result<V, JsonError> {
    let mut parser = JsonParser {
        bytes: text.as_bytes(),
        index: 0,
        max_keys,
    };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.index < parser.bytes.len() {
        return Err(parser.error("unexpected text after the JSON value"));
    }
    Ok(value)
}

type Result<T, E = JsonError> = std::result::Result<T, E>;

struct JsonParser<'a> {
    bytes: &'a [u8],
    index: usize,
    max_keys: usize,
}

impl JsonParser<'_> {
    fn error(&self, message: &'static str) -> JsonError {
        JsonError {
            message,
            position: self.index,
        }
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

    fn value<V: FromJson>(&mut self, depth: usize) -> Result<V> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') | Some(b'[') if depth >= MAX_JSON_DEPTH => {
                Err(self.error("JSON nested too deeply"))
            }
            Some(b'{') => {
                self.index += 1;
                let mut object = Vec::new();
                if self.eat(b'}') {
                    return Ok(V::object(object));
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
                    if object.len() >= self.max_keys && !object.iter().any(|(k, _)| *k == key) {
                        return Err(self.error("JSON object with too many keys"));
                    }
                    set_own_property(&mut object, key, value);
                    if self.eat(b'}') {
                        return Ok(V::object(object));
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
                    return Ok(V::array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Ok(V::array(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.error("expected `,` or `]`"));
                    }
                }
            }
            Some(b'"') => Ok(V::string(self.string()?)),
            Some(b't') => self.keyword("true", V::boolean(true)),
            Some(b'f') => self.keyword("false", V::boolean(false)),
            Some(b'n') => self.keyword("null", V::null()),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("unexpected token")),
        }
    }

    fn keyword<V>(&mut self, word: &str, value: V) -> Result<V> {
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

    fn number<V: FromJson>(&mut self) -> Result<V> {
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
            .map(V::number)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON as a plain tree, to test the parser apart from the evaluator's values (whose
    /// tests, through `JSON.parse(…)` in expressions, are in `engine::eval`).
    #[derive(Debug, Clone, PartialEq)]
    enum Tree {
        Null,
        Bool(bool),
        Number(f64),
        String(String),
        Array(Vec<Tree>),
        Object(Vec<(String, Tree)>),
    }

    impl FromJson for Tree {
        fn null() -> Self {
            Tree::Null
        }
        fn boolean(value: bool) -> Self {
            Tree::Bool(value)
        }
        fn number(value: f64) -> Self {
            Tree::Number(value)
        }
        fn string(value: String) -> Self {
            Tree::String(value)
        }
        fn array(items: Vec<Self>) -> Self {
            Tree::Array(items)
        }
        fn object(properties: Vec<(String, Self)>) -> Self {
            Tree::Object(properties)
        }
    }

    fn parsed(text: &str) -> Result<Tree> {
        parse(text, 3)
    }

    #[test]
    fn values_as_javascript_reads_them() {
        let key = |k: &str, v: Tree| (k.to_owned(), v);
        assert_eq!(
            parsed(r#" {"b": [1e2, -0.5, true, null], "a": "\u00e9\uD83D\uDE00", "b": false} "#),
            Ok(Tree::Object(vec![
                key("b", Tree::Bool(false)),
                key("a", Tree::String("é😀".into())),
            ]))
        );
        assert_eq!(
            parsed(r#""\uD83D""#),
            Ok(Tree::String("\u{FFFD}".into())),
            "a lone surrogate"
        );
        assert_eq!(parsed("[]"), Ok(Tree::Array(Vec::new())));
    }

    #[test]
    fn what_is_not_json_is_refused_with_its_position() {
        let refused = |text: &str| parsed(text).map_err(|e| e.to_string());
        assert_eq!(refused(""), Err("unexpected token at position 0".into()));
        assert_eq!(
            refused("{'a':1}"),
            Err("expected a string key at position 1".into())
        );
        assert_eq!(
            refused("[1,]"),
            Err("unexpected token at position 3".into())
        );
        assert_eq!(
            refused("01"),
            Err("unexpected text after the JSON value at position 1".into())
        );
        assert_eq!(refused("1."), Err("invalid number at position 2".into()));
        assert_eq!(
            refused("\"a\nb\""),
            Err("control character in string at position 3".into())
        );
    }

    #[test]
    fn nesting_and_keys_are_bounded() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parsed(&nested(MAX_JSON_DEPTH)).is_ok());
        assert!(parsed(&nested(MAX_JSON_DEPTH + 1)).is_err());
        assert!(
            parsed(r#"{"a":1,"b":2,"c":3,"a":4}"#).is_ok(),
            "a repeated key"
        );
        assert_eq!(
            parsed(r#"{"a":1,"b":2,"c":3,"d":4}"#).map_err(|e| e.to_string()),
            Err("JSON object with too many keys at position 24".into())
        );
    }
}

//! JavaScript values as expressions see them: `ToString` of numbers, `ToNumber` of strings,
//! loose and strict equality, comparison.

use std::fmt;

use super::{EvalError, MAX_STRING_UNITS, Result};
use crate::kb::expr::js_trim;

/// A JavaScript value, as far as expressions can produce one.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    /// Own properties in insertion order, each key once.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// A stored dynamic variable as expressions see it (docs/chatmd.md §F10.4, ChatMD's
    /// `tryConvertStringToNumber`): `"true"`/`"false"` become booleans; a string that parses
    /// as a number and prints back identically (after trimming) becomes that number (`"10"`,
    /// `"-3.14"`, `" 10 "`, not `"007"`, `"3,14"`, `"1e21"`, `"+5"`); anything else stays a
    /// string, untrimmed.
    pub fn from_stored(raw: &str) -> Value {
        match raw {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
        let trimmed = js_trim(raw);
        let number = string_to_number(trimmed);
        if !trimmed.is_empty() && !number.is_nan() && number_to_string(number) == trimmed {
            Value::Number(number)
        } else {
            Value::String(raw.to_owned())
        }
    }

    /// The text stored when a `calc` result is assigned: JavaScript's `String(value)`, or
    /// `None` (variable left undefined) for `undefined` and for a text over the size cap.
    ///
    /// ChatMD keeps the raw JavaScript value; guichet stores text, which reads back identically
    /// through [`Value::from_stored`] for strings, booleans and numbers, but not for `NaN`
    /// (stored as the truthy text `"NaN"`), `null` (`"null"`), arrays (`"1,2,3"`) and objects
    /// (`"[object Object]"`).
    pub fn to_stored(&self) -> Option<String> {
        match self {
            Value::Undefined => None,
            Value::String(s) => Some(s.clone()),
            other => other.to_js_string_capped().ok(),
        }
    }

    /// JavaScript's `ToBoolean`.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Undefined | Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => !(n.is_nan() || *n == 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(_) | Value::Object(_) => true,
        }
    }

    /// JavaScript's `ToNumber`.
    pub fn to_number(&self) -> f64 {
        match self {
            Value::Undefined => f64::NAN,
            Value::Null => 0.0,
            Value::Bool(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => string_to_number(s),
            Value::Array(_) | Value::Object(_) => string_to_number(&self.to_js_string()),
        }
    }

    /// JavaScript's `String(value)`, without the size cap (for display).
    pub fn to_js_string(&self) -> String {
        let mut out = JsStringBuilder::unbounded();
        // An unbounded builder never refuses text.
        let _ = self.write_js_string(&mut out);
        out.text
    }

    pub(super) fn to_js_string_capped(&self) -> Result<String> {
        let mut out = JsStringBuilder::capped();
        self.write_js_string(&mut out)?;
        Ok(out.text)
    }

    pub(super) fn write_js_string(&self, out: &mut JsStringBuilder) -> Result<()> {
        match self {
            Value::Undefined => out.push("undefined"),
            Value::Null => out.push("null"),
            Value::Bool(b) => out.push(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push(&number_to_string(*n)),
            Value::String(s) => out.push(s),
            Value::Object(_) => out.push("[object Object]"),
            // `Array.prototype.join`: holes, undefined and null print as nothing.
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(",")?;
                    }
                    if !matches!(item, Value::Undefined | Value::Null) {
                        item.write_js_string(out)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// JavaScript's `ToPrimitive`: arrays and objects become their string form.
    pub(super) fn to_primitive(&self) -> Result<Value> {
        match self {
            Value::Array(_) | Value::Object(_) => Ok(Value::String(self.to_js_string_capped()?)),
            other => Ok(other.clone()),
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Value::Undefined => "undefined",
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_js_string())
    }
}

/// Accumulates a string while counting its UTF-16 length, refusing to grow past the cap.
pub(super) struct JsStringBuilder {
    pub(super) text: String,
    units: usize,
    limit: usize,
}

impl JsStringBuilder {
    pub(super) fn capped() -> Self {
        JsStringBuilder {
            text: String::new(),
            units: 0,
            limit: MAX_STRING_UNITS,
        }
    }

    fn unbounded() -> Self {
        JsStringBuilder {
            text: String::new(),
            units: 0,
            limit: usize::MAX,
        }
    }

    pub(super) fn push(&mut self, piece: &str) -> Result<()> {
        self.units = self.units.saturating_add(utf16_len(piece));
        if self.units > self.limit {
            return Err(EvalError::StringTooLong);
        }
        self.text.push_str(piece);
        Ok(())
    }
}

pub(super) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Refuses a produced string over the cap.
pub(super) fn capped(s: String) -> Result<Value> {
    // Cheap test first: a string never has more UTF-16 units than UTF-8 bytes.
    if s.len() > MAX_STRING_UNITS && utf16_len(&s) > MAX_STRING_UNITS {
        return Err(EvalError::StringTooLong);
    }
    Ok(Value::String(s))
}

/// JavaScript's `Number::toString(10)`: shortest round-trip digits, exponent form outside
/// 1e-7..1e21 (`30`, `0.30000000000000004`, `1e+21`, `1.5e-7`, `NaN`, `-Infinity`, `0` for -0).
pub fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_owned();
    }
    if n == 0.0 {
        return "0".to_owned();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if n < 0.0 {
        return format!("-{}", number_to_string(-n));
    }
    // Rust's `{:e}` prints the shortest digits that round-trip, as ECMAScript requires:
    // `d.ddde±x`. ECMAScript calls the digits s (k of them) and the exponent n = x + 1.
    let scientific = format!("{n:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let n = exponent.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        let zeros = usize::try_from(n - k).unwrap_or(0);
        format!("{digits}{}", "0".repeat(zeros))
    } else if 0 < n && n <= 21 {
        let point = usize::try_from(n).unwrap_or(0);
        let (integer, fraction) = digits.split_at(point.min(digits.len()));
        format!("{integer}.{fraction}")
    } else if -6 < n && n <= 0 {
        let zeros = usize::try_from(-n).unwrap_or(0);
        format!("0.{}{digits}", "0".repeat(zeros))
    } else {
        let exponent = n - 1;
        let sign = if exponent < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!("{first}{fraction}e{sign}{}", exponent.unsigned_abs())
    }
}

/// JavaScript's `ToNumber` on a string (`StringToNumber`): surrounding whitespace ignored,
/// empty → 0, decimal literals, `Infinity`, unsigned `0x`/`0o`/`0b` literals; otherwise NaN.
pub fn string_to_number(s: &str) -> f64 {
    let t = js_trim(s);
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    let bytes = t.as_bytes();
    if let (Some(b'0'), Some(prefix)) = (bytes.first(), bytes.get(1)) {
        let radix = match prefix {
            b'x' | b'X' => Some(16),
            b'o' | b'O' => Some(8),
            b'b' | b'B' => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            let digits = t.get(2..).unwrap_or_default();
            if digits.is_empty() {
                return f64::NAN;
            }
            let mut value = 0.0_f64;
            for c in digits.chars() {
                match c.to_digit(radix) {
                    Some(d) => value = value * f64::from(radix) + f64::from(d),
                    None => return f64::NAN,
                }
            }
            return value;
        }
    }
    if is_decimal_literal(t) {
        // Validated above: Rust's parser (correctly rounded) accepts every such literal.
        t.parse::<f64>().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

/// `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`
fn is_decimal_literal(t: &str) -> bool {
    let mut chars = t.chars().peekable();
    if matches!(chars.peek(), Some('+' | '-')) {
        chars.next();
    }
    let mut mantissa_digits = 0;
    while chars.next_if(char::is_ascii_digit).is_some() {
        mantissa_digits += 1;
    }
    if chars.next_if_eq(&'.').is_some() {
        while chars.next_if(char::is_ascii_digit).is_some() {
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return false;
    }
    if chars.next_if(|c| matches!(c, 'e' | 'E')).is_some() {
        chars.next_if(|c| matches!(c, '+' | '-'));
        let mut exponent_digits = 0;
        while chars.next_if(char::is_ascii_digit).is_some() {
            exponent_digits += 1;
        }
        if exponent_digits == 0 {
            return false;
        }
    }
    chars.next().is_none()
}

/// JavaScript's `IsLooselyEqual` (`==`).
pub(super) fn loose_equal(a: &Value, b: &Value) -> Result<bool> {
    use Value::{Array, Bool, Null, Number, Object, String, Undefined};
    Ok(match (a, b) {
        (Undefined | Null, Undefined | Null) => true,
        (Undefined | Null, _) | (_, Undefined | Null) => false,
        (Number(x), Number(y)) => x == y,
        (String(x), String(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        // Two arrays/objects are equal only if they are the same object; every evaluation
        // builds fresh ones, so never.
        (Array(_) | Object(_), Array(_) | Object(_)) => false,
        (Number(x), String(s)) | (String(s), Number(x)) => *x == string_to_number(s),
        (Bool(x), other) | (other, Bool(x)) => {
            loose_equal(&Number(f64::from(u8::from(*x))), other)?
        }
        (object @ (Array(_) | Object(_)), primitive)
        | (primitive, object @ (Array(_) | Object(_))) => {
            loose_equal(&object.to_primitive()?, primitive)?
        }
    })
}

/// JavaScript's `IsStrictlyEqual` (`===`).
pub(super) fn strict_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Undefined, Value::Undefined) | (Value::Null, Value::Null) => true,
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

/// `SameValueZero` (used by `Array.prototype.includes`): strict equality where NaN equals NaN.
pub(super) fn same_value_zero(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_nan() && y.is_nan() => true,
        _ => strict_equal(a, b),
    }
}

/// JavaScript's `IsLessThan`: `None` when the answer is undefined (a NaN is involved).
/// Two strings compare by UTF-16 code units, anything else numerically.
pub(super) fn is_less_than(a: &Value, b: &Value) -> Result<Option<bool>> {
    let (a, b) = (a.to_primitive()?, b.to_primitive()?);
    if let (Value::String(x), Value::String(y)) = (&a, &b) {
        return Ok(Some(x.encode_utf16().lt(y.encode_utf16())));
    }
    let (x, y) = (a.to_number(), b.to_number());
    if x.is_nan() || y.is_nan() {
        return Ok(None);
    }
    Ok(Some(x < y))
}

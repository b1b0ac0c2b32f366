//! JavaScript values as expressions see them: `ToString` of numbers, `ToNumber` of strings,
//! loose and strict equality, comparison.

use std::fmt;

use super::{EvalError, MAX_STRING_UNITS, Result};
use crate::js::json::FromJson;
use crate::js::{js_trim, number_to_string, string_to_number, utf16_len};

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

/// What `JSON.parse` gives an expression.
impl FromJson for Value {
    fn null() -> Self {
        Value::Null
    }
    fn boolean(value: bool) -> Self {
        Value::Bool(value)
    }
    fn number(value: f64) -> Self {
        Value::Number(value)
    }
    fn string(value: String) -> Self {
        Value::String(value)
    }
    fn array(items: Vec<Self>) -> Self {
        Value::Array(items)
    }
    fn object(properties: Vec<(String, Self)>) -> Self {
        Value::Object(properties)
    }
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

/// Refuses a produced string over the cap.
pub(super) fn capped(s: String) -> Result<Value> {
    // Cheap test first: a string never has more UTF-16 units than UTF-8 bytes.
    if s.len() > MAX_STRING_UNITS && utf16_len(&s) > MAX_STRING_UNITS {
        return Err(EvalError::StringTooLong);
    }
    Ok(Value::String(s))
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

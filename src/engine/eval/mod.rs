//! Evaluates ChatMD expressions (conditions and `calc`) at display time, with JavaScript's loose
//! semantics (docs/chatmd.md §F10.4, §F10.6), on the AST built by `crate::kb::expr`.
//!
//! Everything a knowledge base can observe of JavaScript is reproduced: `ToString` of numbers
//! digit for digit, `ToNumber` of strings, loose equality, string comparison by UTF-16 code
//! units, `+` concatenating as soon as one side is a string, `&&`/`||` yielding an operand.
//! Work is bounded: the tree depth is bounded by the parser, produced strings are capped at
//! [`MAX_STRING_UNITS`], `JSON.parse` nesting at [`MAX_JSON_DEPTH`]; nothing panics.
//! JavaScript's own rules (`JSON.parse`, number conversions, white space) are `crate::js`'s.

use thiserror::Error;

use crate::js::json::{self, JsonError};
use crate::js::{js_trim, set_own_property, utf16_len};
use crate::kb::expr::{BinaryOp, Expr, Function, MAX_AST_DEPTH, MAX_OBJECT_KEYS, Method, UnaryOp};

mod topic;
mod value;

pub use crate::js::json::MAX_JSON_DEPTH;
pub use crate::js::{normalize_text, number_to_string, string_to_number};
pub use topic::main_topic;
pub use value::Value;

use topic::normalize_text_with;
use value::{JsStringBuilder, capped, is_less_than, loose_equal, same_value_zero, strict_equal};
/// Longest string (in UTF-16 code units, JavaScript's `length`) an expression may produce.
/// Keeps `replaceAll`, concatenation and friends from building huge strings out of a
/// user-typed `@INPUT`.
pub const MAX_STRING_UNITS: usize = 10_000;

/// Why an evaluation failed. ChatMD catches every such error: a condition is then false and a
/// `calc` leaves its variable undefined ([`condition_holds`], [`evaluate_calc`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvalError {
    /// What JavaScript reports as a `TypeError` (property of `undefined`, not a function…).
    #[error("TypeError: {0}")]
    Type(String),
    /// `JSON.parse` on text that is not JSON (a `SyntaxError` in JavaScript).
    #[error("JSON.parse: {0}")]
    Json(#[from] JsonError),
    #[error("string longer than {MAX_STRING_UNITS} characters")]
    StringTooLong,
    /// Only reachable with a hand-built tree: the parser never builds one this deep.
    #[error("expression nested deeper than {MAX_AST_DEPTH} levels")]
    TooDeep,
    /// A whitelisted ChatMD helper whose exact definition guichet does not reproduce.
    #[error("`{0}` is not supported")]
    Unsupported(&'static str),
}

type Result<T, E = EvalError> = std::result::Result<T, E>;

/// Evaluates `expr`, reading variables through `vars` (the stored text, `None` when unset).
pub fn evaluate(expr: &Expr, vars: &dyn Fn(&str) -> Option<String>) -> Result<Value> {
    Evaluator { vars }.eval(expr, 1)
}

/// Whether a condition holds: its value is truthy. An error makes it false, as in ChatMD.
pub fn condition_holds(expr: &Expr, vars: &dyn Fn(&str) -> Option<String>) -> bool {
    evaluate(expr, vars).is_ok_and(|value| value.truthy())
}

/// The text to store for `` `@v = calc(expr)` ``. `None` (an error or an undefined result)
/// means the variable becomes undefined: ChatMD assigns `undefined`, erasing a previous value.
pub fn evaluate_calc(expr: &Expr, vars: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    evaluate(expr, vars)
        .ok()
        .and_then(|value| value.to_stored())
}

struct Evaluator<'a> {
    vars: &'a dyn Fn(&str) -> Option<String>,
}

impl Evaluator<'_> {
    fn eval(&self, expr: &Expr, depth: usize) -> Result<Value> {
        if depth > MAX_AST_DEPTH {
            return Err(EvalError::TooDeep);
        }
        let inner = depth + 1;
        Ok(match expr {
            Expr::Undefined => Value::Undefined,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Number(n) => Value::Number(*n),
            Expr::String(s) => Value::String(s.clone()),
            Expr::Variable(name) => {
                (self.vars)(name).map_or(Value::Undefined, |raw| Value::from_stored(&raw))
            }
            Expr::Array(items) => Value::Array(self.eval_all(items, inner)?),
            Expr::Object(entries) => {
                let mut object: Vec<(String, Value)> = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let value = self.eval(value, inner)?;
                    set_own_property(&mut object, key.clone(), value);
                }
                Value::Object(object)
            }
            Expr::Unary(op, operand) => {
                let value = self.eval(operand, inner)?;
                match op {
                    UnaryOp::Not => Value::Bool(!value.truthy()),
                    UnaryOp::Negate => Value::Number(-value.to_number()),
                    UnaryOp::Plus => Value::Number(value.to_number()),
                }
            }
            Expr::Binary(BinaryOp::And, left, right) => {
                let left = self.eval(left, inner)?;
                if left.truthy() {
                    self.eval(right, inner)?
                } else {
                    left
                }
            }
            Expr::Binary(BinaryOp::Or, left, right) => {
                let left = self.eval(left, inner)?;
                if left.truthy() {
                    left
                } else {
                    self.eval(right, inner)?
                }
            }
            Expr::Binary(op, left, right) => {
                let left = self.eval(left, inner)?;
                let right = self.eval(right, inner)?;
                binary(*op, &left, &right)?
            }
            Expr::Conditional(test, then, otherwise) => {
                if self.eval(test, inner)?.truthy() {
                    self.eval(then, inner)?
                } else {
                    self.eval(otherwise, inner)?
                }
            }
            Expr::Property(object, name) => get_property(&self.eval(object, inner)?, name)?,
            Expr::Index(object, key) => {
                let object = self.eval(object, inner)?;
                let key = self.eval(key, inner)?.to_js_string_capped()?;
                get_property(&object, &key)?
            }
            Expr::Method(receiver, method, args) => {
                let receiver = self.eval(receiver, inner)?;
                if matches!(receiver, Value::Undefined | Value::Null) {
                    return Err(EvalError::Type(format!(
                        "cannot read properties of {} (reading '{method}')",
                        receiver.type_name()
                    )));
                }
                let args = self.eval_all(args, inner)?;
                call_method(&receiver, *method, &args)?
            }
            Expr::Call(function, args) => {
                let args = self.eval_all(args, inner)?;
                call_function(*function, &args)?
            }
        })
    }

    fn eval_all(&self, exprs: &[Expr], depth: usize) -> Result<Vec<Value>> {
        exprs.iter().map(|e| self.eval(e, depth)).collect()
    }
}

fn binary(op: BinaryOp, left: &Value, right: &Value) -> Result<Value> {
    let number = |f: fn(f64, f64) -> f64| Value::Number(f(left.to_number(), right.to_number()));
    Ok(match op {
        BinaryOp::Add => {
            let (a, b) = (left.to_primitive()?, right.to_primitive()?);
            if matches!(a, Value::String(_)) || matches!(b, Value::String(_)) {
                let mut out = JsStringBuilder::capped();
                a.write_js_string(&mut out)?;
                b.write_js_string(&mut out)?;
                Value::String(out.text)
            } else {
                Value::Number(a.to_number() + b.to_number())
            }
        }
        BinaryOp::Sub => number(|a, b| a - b),
        BinaryOp::Mul => number(|a, b| a * b),
        BinaryOp::Div => number(|a, b| a / b),
        // Rust's `%` on floats is C's fmod, which is JavaScript's `%`.
        BinaryOp::Rem => number(|a, b| a % b),
        BinaryOp::Pow => number(js_pow),
        BinaryOp::Lt => Value::Bool(is_less_than(left, right)? == Some(true)),
        BinaryOp::Gt => Value::Bool(is_less_than(right, left)? == Some(true)),
        BinaryOp::Le => Value::Bool(is_less_than(right, left)? == Some(false)),
        BinaryOp::Ge => Value::Bool(is_less_than(left, right)? == Some(false)),
        BinaryOp::Eq => Value::Bool(loose_equal(left, right)?),
        BinaryOp::Ne => Value::Bool(!loose_equal(left, right)?),
        BinaryOp::StrictEq => Value::Bool(strict_equal(left, right)),
        BinaryOp::StrictNe => Value::Bool(!strict_equal(left, right)),
        // Short-circuiting operators are handled before both sides are evaluated.
        BinaryOp::And => Value::Bool(left.truthy() && right.truthy()),
        BinaryOp::Or => Value::Bool(left.truthy() || right.truthy()),
    })
}

/// `Number::exponentiate`, which differs from C's `pow` on a few edge cases.
fn js_pow(base: f64, exponent: f64) -> f64 {
    if exponent.is_nan() {
        return f64::NAN;
    }
    if exponent == 0.0 {
        return 1.0;
    }
    if base.is_nan() || (base.abs() == 1.0 && exponent.is_infinite()) {
        return f64::NAN;
    }
    base.powf(exponent)
}

/// A canonical array index (`"0"`, `"12"`; not `"01"`, `"-1"`, `"1.0"`).
fn array_index(key: &str) -> Option<usize> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>()
        .ok()
        .filter(|&i| i < u32::MAX)
        .and_then(|i| usize::try_from(i).ok())
}

/// The string of one UTF-16 code unit. Half of a surrogate pair cannot be held in a Rust
/// string; it reads as U+FFFD.
fn utf16_unit_at(s: &str, index: usize) -> Option<String> {
    let mut position = 0;
    for c in s.chars() {
        let width = c.len_utf16();
        if position == index {
            return Some(if width == 1 {
                c.to_string()
            } else {
                char::REPLACEMENT_CHARACTER.to_string()
            });
        }
        if position + width > index {
            return Some(char::REPLACEMENT_CHARACTER.to_string());
        }
        position += width;
    }
    None
}

fn get_property(object: &Value, key: &str) -> Result<Value> {
    Ok(match object {
        Value::Undefined | Value::Null => {
            return Err(EvalError::Type(format!(
                "cannot read properties of {} (reading '{key}')",
                object.type_name()
            )));
        }
        Value::String(s) => {
            if key == "length" {
                Value::Number(utf16_len(s) as f64)
            } else {
                array_index(key)
                    .and_then(|i| utf16_unit_at(s, i))
                    .map_or(Value::Undefined, Value::String)
            }
        }
        Value::Array(items) => {
            if key == "length" {
                Value::Number(items.len() as f64)
            } else {
                array_index(key)
                    .and_then(|i| items.get(i))
                    .cloned()
                    .unwrap_or(Value::Undefined)
            }
        }
        Value::Object(entries) => entries
            .iter()
            .find(|(k, _)| k == key)
            .map_or(Value::Undefined, |(_, v)| v.clone()),
        Value::Bool(_) | Value::Number(_) => Value::Undefined,
    })
}

fn argument(args: &[Value], index: usize) -> &Value {
    args.get(index).unwrap_or(&Value::Undefined)
}

/// `ToIntegerOrInfinity`, clamped to `0..=length`.
fn clamped_position(value: &Value, length: usize) -> usize {
    let n = value.to_number();
    if n.is_nan() || n <= 0.0 {
        0
    } else if n >= length as f64 {
        length
    } else {
        // In range and non-negative: truncation is ToIntegerOrInfinity.
        n as usize
    }
}

/// Byte offset of UTF-16 position `units` in `s`; `None` inside a surrogate pair.
fn utf16_to_byte(s: &str, units: usize) -> Option<usize> {
    let mut position = 0;
    for (byte, c) in s.char_indices() {
        if position == units {
            return Some(byte);
        }
        if position > units {
            return None;
        }
        position += c.len_utf16();
    }
    (position == units).then_some(s.len())
}

fn call_method(receiver: &Value, method: Method, args: &[Value]) -> Result<Value> {
    match receiver {
        Value::String(s) => string_method(s, method, args),
        Value::Array(items) if method == Method::Includes => {
            let wanted = argument(args, 0);
            let start = match args.get(1) {
                None => 0,
                Some(from) => {
                    let n = from.to_number();
                    let n = if n.is_nan() { 0.0 } else { n.trunc() };
                    let length = items.len() as f64;
                    let start = if n < 0.0 { (length + n).max(0.0) } else { n };
                    if start >= length {
                        items.len()
                    } else {
                        start as usize
                    }
                }
            };
            Ok(Value::Bool(
                items
                    .get(start..)
                    .unwrap_or_default()
                    .iter()
                    .any(|item| same_value_zero(item, wanted)),
            ))
        }
        other => Err(EvalError::Type(format!(
            "{}.{method} is not a function",
            other.type_name()
        ))),
    }
}

fn string_method(s: &str, method: Method, args: &[Value]) -> Result<Value> {
    let length = utf16_len(s);
    Ok(match method {
        Method::Includes => {
            let search = argument(args, 0).to_js_string_capped()?;
            let start = clamped_position(argument(args, 1), length);
            // A match never starts on the second half of a surrogate pair: skip to the next
            // character.
            let byte = (start..=length)
                .find_map(|units| utf16_to_byte(s, units))
                .unwrap_or(s.len());
            Value::Bool(s.get(byte..).unwrap_or_default().contains(search.as_str()))
        }
        Method::StartsWith => {
            let search = argument(args, 0).to_js_string_capped()?;
            let start = clamped_position(argument(args, 1), length);
            Value::Bool(match utf16_to_byte(s, start) {
                Some(byte) => s
                    .get(byte..)
                    .unwrap_or_default()
                    .starts_with(search.as_str()),
                None => search.is_empty(),
            })
        }
        Method::EndsWith => {
            let search = argument(args, 0).to_js_string_capped()?;
            let end = match argument(args, 1) {
                Value::Undefined => length,
                position => clamped_position(position, length),
            };
            Value::Bool(match utf16_to_byte(s, end) {
                Some(byte) => s.get(..byte).unwrap_or_default().ends_with(search.as_str()),
                None => search.is_empty(),
            })
        }
        Method::ToLowerCase => capped(s.to_lowercase())?,
        Method::ToUpperCase => capped(s.to_uppercase())?,
        Method::Trim => Value::String(js_trim(s).to_owned()),
        Method::Replace | Method::ReplaceAll => {
            let pattern = argument(args, 0).to_js_string_capped()?;
            let replacement = argument(args, 1).to_js_string_capped()?;
            Value::String(replace(
                s,
                &pattern,
                &replacement,
                method == Method::ReplaceAll,
            )?)
        }
    })
}

/// `String.prototype.replace`/`replaceAll` with a string pattern and a string replacement.
///
/// An empty pattern matches before every character and at the end (JavaScript matches between
/// UTF-16 units, which only differs inside characters outside the Basic Multilingual Plane).
fn replace(s: &str, pattern: &str, replacement: &str, all: bool) -> Result<String> {
    let matches: Vec<usize> = if pattern.is_empty() {
        let mut positions: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
        positions.push(s.len());
        positions
    } else {
        s.match_indices(pattern).map(|(i, _)| i).collect()
    };
    let matches = if all {
        matches.as_slice()
    } else {
        matches.get(..1).unwrap_or_default()
    };
    let mut out = JsStringBuilder::capped();
    let mut copied = 0;
    for &start in matches {
        let end = start + pattern.len();
        out.push(s.get(copied..start).unwrap_or_default())?;
        push_substitution(&mut out, s, start, end, replacement)?;
        copied = end;
    }
    out.push(s.get(copied..).unwrap_or_default())?;
    Ok(out.text)
}

/// `GetSubstitution` without capture groups: `$$`, `$&`, `` $` `` and `$'` are special.
fn push_substitution(
    out: &mut JsStringBuilder,
    s: &str,
    start: usize,
    end: usize,
    replacement: &str,
) -> Result<()> {
    let mut rest = replacement;
    while let Some(dollar) = rest.find('$') {
        out.push(rest.get(..dollar).unwrap_or_default())?;
        let after = rest.get(dollar + 1..).unwrap_or_default();
        let (text, consumed) = match after.chars().next() {
            Some('$') => ("$", 2),
            Some('&') => (s.get(start..end).unwrap_or_default(), 2),
            Some('`') => (s.get(..start).unwrap_or_default(), 2),
            Some('\'') => (s.get(end..).unwrap_or_default(), 2),
            _ => ("$", 1),
        };
        out.push(text)?;
        rest = rest.get(dollar + consumed..).unwrap_or_default();
    }
    out.push(rest)
}

fn call_function(function: Function, args: &[Value]) -> Result<Value> {
    let number = |index: usize| argument(args, index).to_number();
    Ok(match function {
        Function::MathAbs => Value::Number(number(0).abs()),
        Function::MathMin => Value::Number(args.iter().fold(f64::INFINITY, |min, value| {
            let n = value.to_number();
            if min.is_nan() || n.is_nan() {
                f64::NAN
            } else if n < min || (n == 0.0 && min == 0.0 && n.is_sign_negative()) {
                n
            } else {
                min
            }
        })),
        Function::MathMax => Value::Number(args.iter().fold(f64::NEG_INFINITY, |max, value| {
            let n = value.to_number();
            if max.is_nan() || n.is_nan() {
                f64::NAN
            } else if n > max || (n == 0.0 && max == 0.0 && n.is_sign_positive()) {
                n
            } else {
                max
            }
        })),
        Function::MathRound => Value::Number(js_round(number(0))),
        Function::EncodeUri => capped(encode_uri(&argument(args, 0).to_js_string_capped()?))?,
        // Objects as big as a literal may be (`kb::expr` bounds those).
        Function::JsonParse => {
            json::parse(&argument(args, 0).to_js_string_capped()?, MAX_OBJECT_KEYS)?
        }
        Function::NormalizeText => {
            let text = text_argument(function, argument(args, 0))?;
            let keep_case = match argument(args, 1) {
                Value::Object(options) => options
                    .iter()
                    .any(|(key, value)| key == "keepCase" && value.truthy()),
                _ => false,
            };
            capped(normalize_text_with(&text, keep_case))?
        }
        Function::MainTopic => {
            let text = text_argument(function, argument(args, 0))?;
            let expressions: Vec<String> = match argument(args, 1) {
                Value::Array(items) => items.iter().map(Value::to_js_string).collect(),
                _ => Vec::new(),
            };
            capped(main_topic(&text, &expressions))?
        }
        // Its exact definition (cosine similarity with bonuses, docs/chatmd.md §F10.4) is not
        // available; a guessed score would silently change which branch a bot takes.
        Function::SearchScore => return Err(EvalError::Unsupported("searchScore")),
    })
}

/// The text argument of a ChatMD helper; like the helpers, refuses `undefined`/`null`.
fn text_argument(function: Function, value: &Value) -> Result<String> {
    match value {
        Value::Undefined | Value::Null => Err(EvalError::Type(format!(
            "{function} needs a text, got {}",
            value.type_name()
        ))),
        other => other.to_js_string_capped(),
    }
}

/// `Math.round`: halves round towards +∞, and the sign of zero is kept (`round(-0.4)` is -0).
fn js_round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let floor = x.floor();
    // `x + 0.5` would round 0.49999999999999994 up; comparing the fraction does not.
    let rounded = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    if rounded == 0.0 && x < 0.0 {
        -0.0
    } else {
        rounded
    }
}

/// `encodeURI`: UTF-8 percent-encoding of everything but letters, digits and
/// `;,/?:@&=+$-_.!~*'()#`.
fn encode_uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || ";,/?:@&=+$-_.!~*'()#".contains(c) {
            out.push(c);
        } else {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::kb::expr::{parse_calc, parse_condition};

    /// B.11's variables (booleans and JSON are stored as text, as guichet stores them).
    fn b11_variables() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("num1", "10"),
            ("num2", "20"),
            ("str1", "Hello"),
            ("str2", "World"),
            ("boolTrue", "true"),
            ("boolFalse", "false"),
            ("json", r#"{"key": "value"}"#),
            ("jsonObj", r#"{"numbers": [1, 2, 3]}"#),
        ])
    }

    fn calc_with(text: &str, vars: &HashMap<&str, &str>) -> Result<Value, String> {
        let expr = parse_calc(text).map_err(|e| format!("parse error: {e}"))?;
        let lookup = |name: &str| vars.get(name).map(|v| (*v).to_owned());
        evaluate(&expr, &lookup).map_err(|e| format!("eval error: {e}"))
    }

    fn calc(text: &str) -> Result<Value, String> {
        calc_with(text, &b11_variables())
    }

    fn condition(text: &str, vars: &[(&str, &str)]) -> bool {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        let expr = match parse_condition(text) {
            Ok(expr) => expr,
            Err(e) => panic!("{text:?} does not parse: {e}"),
        };
        condition_holds(&expr, &|name| vars.get(name).map(|v| (*v).to_owned()))
    }

    fn num(n: f64) -> Result<Value, String> {
        Ok(Value::Number(n))
    }

    fn text(s: &str) -> Result<Value, String> {
        Ok(Value::String(s.to_owned()))
    }

    fn boolean(b: bool) -> Result<Value, String> {
        Ok(Value::Bool(b))
    }

    #[test]
    fn chatmd_evaluate_expression_spec() {
        // ChatMD's own tests of expressions (`evaluateExpression.spec.mjs`).
        let cases = [
            // Arithmetic on converted numbers.
            ("@num1 + @num2", num(30.0)),
            ("@num2 - @num1", num(10.0)),
            ("@num1 * 2", num(20.0)),
            ("@num2 / 2", num(10.0)),
            ("(@num1 + @num2) * 2", num(60.0)),
            // Strings.
            (r#"@str1 + " " + @str2"#, text("Hello World")),
            (
                r#"@str1.toUpperCase() + " " + @str2.toLowerCase()"#,
                text("HELLO world"),
            ),
            ("@str1.length + @str2.length", num(10.0)),
            (r#"@str1.includes("lo")"#, boolean(true)),
            (r#"@str2.startsWith("W")"#, boolean(true)),
            (r#"@str2.endsWith("d")"#, boolean(true)),
            ("@str1.trim() + @str2.trim()", text("HelloWorld")),
            (r#"@str1.replace("l", "x")"#, text("Hexlo")),
            (r#"@str2.replaceAll("o", "a")"#, text("Warld")),
            // Logic.
            ("@num1 > 5 && @num2 < 30", boolean(true)),
            ("!(@num1 < 5) || @num2 > 15", boolean(true)),
            (r#"!(@str1 == "Hello") && @str2 == "World""#, boolean(false)),
            // Math.
            ("Math.max(@num1, @num2)", num(20.0)),
            ("Math.min(@num1, @num2)", num(10.0)),
            ("Math.round(@num2 / 3)", num(7.0)),
            ("Math.abs(@num1 - 15)", num(5.0)),
            // Comparisons.
            ("@num1 < @num2", boolean(true)),
            ("@num1 <= @num1", boolean(true)),
            ("@num2 > @num1", boolean(true)),
            ("@num2 >= @num2", boolean(true)),
            (r#"@str1 == "Hello""#, boolean(true)),
            (r#"@str2 != "Hello""#, boolean(true)),
            // Booleans.
            ("@boolTrue", boolean(true)),
            ("@boolTrue || @boolFalse", boolean(true)),
            ("@boolFalse || false", boolean(false)),
            // JSON.
            ("JSON.parse(@json).key", text("value")),
            ("JSON.parse(@jsonObj).numbers[1]", num(2.0)),
            // mainTopic.
            (
                r#"mainTopic("Je m'intéresse beaucoup à la photographie")"#,
                text("photographie"),
            ),
            (
                r#"mainTopic("Je voudrais des informations sur les vélos électriques")"#,
                text("vélos électriques"),
            ),
            // The "complex expression" of the performance test.
            (
                "(Math.max(@num1, @num2) * Math.min(@num1, @num2)) / (Math.abs(@num2 - @num1) + 1) + JSON.parse(@jsonObj).numbers[0] + (@str1.length + @str2.length)",
                num(29.181818181818183),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(calc(input), expected, "{input}");
        }
    }

    #[test]
    fn undefined_variables_in_conditions() {
        // docs/chatmd.md §F10.6.
        let cases = [
            ("@x==value", false),
            ("@x!=value", true),
            ("@x>5", false),
            ("@x<5", false),
            ("@x==undefined", true),
            ("@x!=undefined", false),
            ("!@x", true),
            ("@x", false),
            // An error (property of undefined) makes the condition false.
            ("@x.length > 0", false),
            (r#"@x.includes("a")"#, false),
            ("!@x.length", false),
        ];
        for (input, expected) in cases {
            assert_eq!(condition(input, &[]), expected, "{input}");
        }
    }

    #[test]
    fn stored_variables_in_conditions() {
        let vars = [
            ("type_user", "profs"),
            ("age", "10"),
            ("name", "Jean Pierre"),
            ("flag", "true"),
            ("off", "false"),
            ("code", "007"),
            ("empty", ""),
            ("price", "3,14"),
        ];
        let cases = [
            ("@type_user==profs", true),
            ("@type_user == profs", true),
            ("@type_user==eleves", false),
            (r#"@type_user=="profs""#, true),
            ("@type_user!=profs", false),
            ("@name==Jean Pierre", true),
            // Stored "10" is the number 10: numeric against the string "5".
            ("@age>5", true),
            ("@age>=10", true),
            ("@age<9", false),
            ("@age==10", true),
            ("@age>18", false),
            // "007" stays a string and the right side is quoted: both compare as text.
            ("@code==7", false),
            ("@code==007", true),
            ("@code>10", false),
            ("@code>0", true),
            ("@flag==true", true),
            ("@flag", true),
            ("@off", false),
            ("!@off", true),
            ("@off==false", true),
            ("@empty", false),
            (r#"@empty==""#, true),
            ("@price==3,14", true),
            ("@type_user==profs && @age>5", true),
            ("@type_user==eleves || @age>5", true),
            ("(@type_user==eleves) || (@age<5)", false),
            ("@INPUT==undefined && @type_user==profs", true),
            ("@type_user.length == 5", true),
            (r#"normalizeText(@name) == "jean pierre""#, true),
        ];
        for (input, expected) in cases {
            assert_eq!(condition(input, &vars), expected, "{input}");
        }
    }

    #[test]
    #[expect(clippy::approx_constant, reason = "3.14 is ChatMD's test value, not π")]
    fn stored_string_conversion() {
        // ChatMD's tests of `tryConvertStringToNumber`, and docs/chatmd.md §F10.4.
        let cases = [
            ("10", Value::Number(10.0)),
            ("3.14", Value::Number(3.14)),
            ("-3.14", Value::Number(-3.14)),
            (" 10 ", Value::Number(10.0)),
            ("1e+21", Value::Number(1e21)),
            ("Infinity", Value::Number(f64::INFINITY)),
            ("0.1", Value::Number(0.1)),
            ("123abc", Value::String("123abc".into())),
            ("007", Value::String("007".into())),
            ("-3,14", Value::String("-3,14".into())),
            ("BBC", Value::String("BBC".into())),
            ("hello", Value::String("hello".into())),
            ("", Value::String(String::new())),
            ("1e21", Value::String("1e21".into())),
            ("+5", Value::String("+5".into())),
            (".5", Value::String(".5".into())),
            ("-0", Value::String("-0".into())),
            ("NaN", Value::String("NaN".into())),
            ("0x10", Value::String("0x10".into())),
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("True", Value::String("True".into())),
        ];
        for (raw, expected) in cases {
            assert_eq!(Value::from_stored(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn javascript_loose_semantics() {
        let no_vars = HashMap::new();
        let cases = [
            // Loose equality.
            (r#"1 == "1""#, boolean(true)),
            (r#"0 == """#, boolean(true)),
            (r#"true == "1""#, boolean(true)),
            (r#"false == "false""#, boolean(false)),
            ("undefined == JSON.parse(\"null\")", boolean(true)),
            ("undefined == 0", boolean(false)),
            (r#"[1,2] == "1,2""#, boolean(true)),
            ("[] == false", boolean(true)),
            ("[] == []", boolean(false)),
            (r#"JSON.parse("{}") == "[object Object]""#, boolean(true)),
            (r#"1 === "1""#, boolean(false)),
            (r#""a" !== "a""#, boolean(false)),
            ("0/0 == 0/0", boolean(false)),
            // Relational comparison: strings by UTF-16 units, otherwise numbers.
            (r#""10" > "5""#, boolean(false)),
            (r#"10 > "5""#, boolean(true)),
            (r#""b" > "a""#, boolean(true)),
            (r#""B" < "a""#, boolean(true)),
            // U+FF61 is above the high surrogates of U+1F600 in code points order only.
            ("\"\u{FF61}\" < \"\u{1F600}\"", boolean(false)),
            ("undefined < 1 || undefined >= 1", boolean(false)),
            (r#"JSON.parse("null") >= 0"#, boolean(true)),
            ("0/0 <= 0/0", boolean(false)),
            // `+` concatenates as soon as a side is a string.
            (r#"1 + "2""#, text("12")),
            (r#""a" + 1 + 2"#, text("a12")),
            (r#"1 + 2 + "a""#, text("3a")),
            ("[1,2] + 1", text("1,21")),
            ("true + 1", num(2.0)),
            ("undefined + 1", Ok(Value::Number(f64::NAN))),
            (r#""x" + undefined"#, text("xundefined")),
            (r#""x" + [1,,JSON.parse("null"),[2,3]]"#, text("x1,,,2,3")),
            (r#""x" + {}"#, text("x[object Object]")),
            (r#""3" * "4""#, num(12.0)),
            (r#""3" - 1"#, num(2.0)),
            ("7 % -3", num(1.0)),
            ("-7 % 3", num(-1.0)),
            ("2 ** 10", num(1024.0)),
            ("(-8) ** (1/3)", Ok(Value::Number(f64::NAN))),
            ("1 ** (1/0)", Ok(Value::Number(f64::NAN))),
            ("0.1 + 0.2", num(0.30000000000000004)),
            // `&&`/`||` yield an operand.
            (r#""" || "défaut""#, text("défaut")),
            (r#""a" && "b""#, text("b")),
            (r#"0 && "b""#, num(0.0)),
            (r#"1 ? "oui" : "non""#, text("oui")),
            (r#""" ? "oui" : "non""#, text("non")),
            ("+\"  42 \"", num(42.0)),
            ("-\"x\"", Ok(Value::Number(f64::NAN))),
            ("!\"\"", boolean(true)),
        ];
        for (input, expected) in cases {
            let got = calc_with(input, &no_vars);
            match (&got, &expected) {
                (Ok(Value::Number(a)), Ok(Value::Number(b))) if a.is_nan() && b.is_nan() => {}
                _ => assert_eq!(got, expected, "{input}"),
            }
        }
    }

    #[test]
    fn methods_properties_and_functions() {
        let vars = HashMap::from([
            ("s", "  Été à Paris  "),
            ("emoji", "a😀b"),
            ("list", r#"[1, "deux", null, {"k": [true]}]"#),
            ("url", "https://ex.org/a b?q=é&r=1#top"),
        ]);
        let cases = [
            ("@s.trim()", text("Été à Paris")),
            ("@s.toUpperCase()", text("  ÉTÉ À PARIS  ")),
            (r#""Straße".toUpperCase()"#, text("STRASSE")),
            ("@s.length", num(15.0)),
            ("@emoji.length", num(4.0)),
            ("@emoji[1]", text("\u{FFFD}")),
            ("@emoji[3]", text("b")),
            ("@emoji[9]", Ok(Value::Undefined)),
            (r#"@emoji.includes("b", 3)"#, boolean(true)),
            (r#"@emoji.includes("a", 1)"#, boolean(false)),
            (r#"@emoji.startsWith("b", 3)"#, boolean(true)),
            (r#"@emoji.startsWith("b", 2)"#, boolean(false)),
            (r#"@emoji.endsWith("a", 1)"#, boolean(true)),
            (r#""abc".endsWith("ab", 2)"#, boolean(true)),
            (r#""abc".includes("")"#, boolean(true)),
            (r#""abc".includes()"#, boolean(false)),
            (r#""undefined".includes()"#, boolean(true)),
            (r#""abc".startsWith("bc", 1)"#, boolean(true)),
            (r#""abc".startsWith("a", -5)"#, boolean(true)),
            (r#""aaa".replace("a", "b")"#, text("baa")),
            (r#""aaa".replaceAll("a", "b")"#, text("bbb")),
            (r#""aaaa".replaceAll("aa", "b")"#, text("bb")),
            (r#""ab".replaceAll("", "-")"#, text("-a-b-")),
            (r#""ab".replace("", "-")"#, text("-ab")),
            (
                r#""abc".replace("b", "[$&|$`|$'|$$|$1]")"#,
                text("a[b|a|c|$|$1]c"),
            ),
            (r#""abc".replace("x", "y")"#, text("abc")),
            (r#""a.b.c".replaceAll(".", 1)"#, text("a1b1c")),
            (r#""abc"["length"]"#, num(3.0)),
            (r#""abc"["01"]"#, Ok(Value::Undefined)),
            ("(5).length", Ok(Value::Undefined)),
            ("JSON.parse(@list).length", num(4.0)),
            ("JSON.parse(@list)[3].k[0]", boolean(true)),
            (r#"JSON.parse(@list)[3]["k"].length"#, num(1.0)),
            ("JSON.parse(@list)[2]", Ok(Value::Null)),
            ("JSON.parse(@list).missing", Ok(Value::Undefined)),
            (r#"JSON.parse(@list).includes("deux")"#, boolean(true)),
            ("JSON.parse(@list).includes(1, 1)", boolean(false)),
            ("[0/0].includes(0/0)", boolean(true)),
            (r#"JSON.parse("{\"a\":1,\"a\":2}").a"#, num(2.0)),
            (r#"JSON.parse("\"\\u00e9\\uD83D\\uDE00\"")"#, text("é😀")),
            (r#"JSON.parse(" [1e2, -0.5, \"x\"] ")[0]"#, num(100.0)),
            (r#"{a: {b: "c"}}.a.b"#, text("c")),
            ("[1, 2, 3][1]", num(2.0)),
            ("Math.round(2.5)", num(3.0)),
            ("Math.round(-2.5)", num(-2.0)),
            ("Math.round(0.49999999999999994)", num(0.0)),
            ("Math.round(\"7.6\")", num(8.0)),
            ("Math.max()", num(f64::NEG_INFINITY)),
            ("Math.min()", num(f64::INFINITY)),
            ("Math.abs(-3, 9)", num(3.0)),
            ("Math.abs()", Ok(Value::Number(f64::NAN))),
            ("Math.max(1, \"x\")", Ok(Value::Number(f64::NAN))),
            (
                "encodeURI(@url)",
                text("https://ex.org/a%20b?q=%C3%A9&r=1#top"),
            ),
            ("encodeURI(\"😀\")", text("%F0%9F%98%80")),
            (
                "normalizeText(\"  Éléphant à l'École \")",
                text("elephant a l'ecole"),
            ),
            (
                "normalizeText(\"Éléphant\", {keepCase: true})",
                text("Elephant"),
            ),
            (
                "normalizeText(\"Œuvre Cænogénèse\")",
                text("œuvre cænogenese"),
            ),
            (
                r#"mainTopic("trouve-moi un jeu de données sur le climat", ["jeu de données"])"#,
                text("climat"),
            ),
        ];
        for (input, expected) in cases {
            let got = calc_with(input, &vars);
            match (&got, &expected) {
                (Ok(Value::Number(a)), Ok(Value::Number(b))) if a.is_nan() && b.is_nan() => {}
                _ => assert_eq!(got, expected, "{input}"),
            }
        }
    }

    #[test]
    fn runtime_errors() {
        let no_vars = HashMap::new();
        let cases = [
            (
                "@missing.length",
                "TypeError: cannot read properties of undefined (reading 'length')",
            ),
            (
                "@missing.trim()",
                "TypeError: cannot read properties of undefined (reading 'trim')",
            ),
            (
                "JSON.parse(\"null\").x",
                "TypeError: cannot read properties of null (reading 'x')",
            ),
            ("(5).trim()", "TypeError: number.trim is not a function"),
            ("[1].trim()", "TypeError: array.trim is not a function"),
            (
                "JSON.parse(@missing)",
                "JSON.parse: unexpected token at position 0",
            ),
            (
                "JSON.parse(\"{'a':1}\")",
                "JSON.parse: expected a string key at position 1",
            ),
            (
                "JSON.parse(\"[1,]\")",
                "JSON.parse: unexpected token at position 3",
            ),
            (
                "JSON.parse(\"01\")",
                "JSON.parse: unexpected text after the JSON value at position 1",
            ),
            (
                "JSON.parse(\"1 2\")",
                "JSON.parse: unexpected text after the JSON value at position 2",
            ),
            (
                "normalizeText(@missing)",
                "TypeError: normalizeText needs a text, got undefined",
            ),
            (
                "mainTopic()",
                "TypeError: mainTopic needs a text, got undefined",
            ),
            (
                r#"searchScore("chat", "le chat")"#,
                "`searchScore` is not supported",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                calc_with(input, &no_vars),
                Err(format!("eval error: {expected}")),
                "{input}"
            );
        }
        let deep_json = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH + 1),
            "]".repeat(MAX_JSON_DEPTH + 1)
        );
        let vars = HashMap::from([("deep", deep_json.as_str())]);
        assert!(
            matches!(calc_with("JSON.parse(@deep)", &vars), Err(e) if e.contains("nested too deeply"))
        );
        let ok_json = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        let vars = HashMap::from([("deep", ok_json.as_str())]);
        assert!(calc_with("JSON.parse(@deep)", &vars).is_ok());
    }

    #[test]
    fn produced_strings_are_capped() {
        let long = "x".repeat(MAX_STRING_UNITS / 2 + 1);
        let vars = HashMap::from([("long", long.as_str()), ("emoji", "😀")]);
        let too_long = format!("eval error: {}", EvalError::StringTooLong);
        for input in [
            "@long + @long",
            r#"@long.replaceAll("x", "yy")"#,
            r#"@long.replaceAll("", "-")"#,
            r#"encodeURI(@long.replaceAll("x", " "))"#,
            "[@long, @long] + \"\"",
            "[@long, @long][[@long, @long]]",
        ] {
            assert_eq!(calc_with(input, &vars), Err(too_long.clone()), "{input}");
        }
        // Reading and comparing a long variable is fine; only produced strings are capped.
        assert!(matches!(
            calc_with("@long.length", &vars),
            Ok(Value::Number(_))
        ));
        assert!(calc_with("@long + \"\"", &vars).is_ok());
        // The cap counts UTF-16 units, as JavaScript's length does.
        let emojis = "😀".repeat(MAX_STRING_UNITS / 2);
        let vars = HashMap::from([("e", emojis.as_str())]);
        assert!(calc_with("@e + \"\"", &vars).is_ok());
        assert_eq!(calc_with("@e + \"a\"", &vars), Err(too_long));
    }

    #[test]
    fn calc_results_are_stored_as_text() {
        let vars = HashMap::from([("n", "4"), ("s", "abc")]);
        let lookup = |name: &str| vars.get(name).map(|v| (*v).to_owned());
        let cases = [
            ("@n * 2", Some("8")),
            ("0.1 + 0.2", Some("0.30000000000000004")),
            ("@n > 3", Some("true")),
            ("@s + @n", Some("abc4")),
            ("@s.length", Some("3")),
            ("-0", Some("0")),
            ("1e21 * 10", Some("1e+22")),
            ("[1, 2]", Some("1,2")),
            ("{}", Some("[object Object]")),
            ("JSON.parse(\"null\")", Some("null")),
            ("0/0", Some("NaN")),
            ("@missing", None),
            ("undefined", None),
            ("@missing.length", None),
            (r#"searchScore("a", "b")"#, None),
        ];
        for (input, expected) in cases {
            let expr = parse_calc(input).unwrap_or(Expr::String("parse failure".into()));
            assert_eq!(
                evaluate_calc(&expr, &lookup).as_deref(),
                expected,
                "{input}"
            );
        }
        // Stored text reads back as the same value.
        for value in [
            Value::Number(8.0),
            Value::Bool(false),
            Value::Number(0.30000000000000004),
        ] {
            let stored = value.to_stored().unwrap_or_default();
            assert_eq!(Value::from_stored(&stored), value);
        }
    }

    #[test]
    fn main_topic_matches_chatmd_examples() {
        // ChatMD's `nlp.spec.mjs`.
        let cases: [(&str, &[&str], &str); 26] = [
            ("", &[], ""),
            ("vélo", &[], "vélo"),
            ("le vélo", &[], "vélo"),
            ("la philosophie", &[], "philosophie"),
            ("les chats", &[], "chats"),
            ("surtout le vélo", &[], "vélo"),
            ("principalement la philosophie", &[], "philosophie"),
            ("C'est le vélo", &[], "vélo"),
            ("Ce sont les chats", &[], "chats"),
            (
                "Je veux des informations sur le vélo électrique",
                &[],
                "vélo électrique",
            ),
            (
                "Je m'intéresse beaucoup à la photographie",
                &[],
                "photographie",
            ),
            (
                "J'aimerais bien en savoir plus sur les voyages",
                &[],
                "voyages",
            ),
            ("Je suis intéressé par l'astronomie", &[], "astronomie"),
            (
                "Je cherche des infos sur la cuisine italienne",
                &[],
                "cuisine italienne",
            ),
            (
                "Ce qui m'intéresse, c'est la musique classique",
                &[],
                "musique classique",
            ),
            (
                "J'aimerais des infos sur le développement durable",
                &[],
                "développement durable",
            ),
            (
                "le vélo électrique, c'est ce qui m'intéresse le plus",
                &[],
                "vélo électrique",
            ),
            ("j'aime bien les films d'action", &[], "films action"),
            (
                "Je m'intéresse aux résultats de la recherche scientifique",
                &[],
                "résultats recherche scientifique",
            ),
            (
                "trouve-moi un jeu de données sur le climat",
                &["jeu de données"],
                "climat",
            ),
            (
                "je cherche des jeux de données sur la ville de Paris",
                &["jeu de données", "jeux de données", "ville de"],
                "Paris",
            ),
            ("Peux-tu me donner des infos sur l'Égypte ?", &[], "Égypte"),
            (
                "Pourrais-tu me trouver des informations sur la physique quantique ?",
                &[],
                "physique quantique",
            ),
            (
                "J'aimerais bien en savoir plus sur les impacts du changement climatique sur la biodiversité marine.",
                &[],
                "impacts changement climatique biodiversité marine",
            ),
            (
                "Je voudrais des informations sur les vélos électriques",
                &[],
                "vélos électriques",
            ),
            (
                "Parle-moi de Saint-Étienne s’il te plaît",
                &[],
                "Saint-Étienne",
            ),
        ];
        for (input, expressions, expected) in cases {
            let expressions: Vec<String> = expressions.iter().map(|e| (*e).to_owned()).collect();
            assert_eq!(main_topic(input, &expressions), expected, "{input}");
        }
    }

    #[test]
    fn evaluation_depth_is_bounded_even_for_hand_built_trees() {
        let mut expr = Expr::Number(1.0);
        for _ in 0..10_000 {
            expr = Expr::Unary(UnaryOp::Negate, Box::new(expr));
        }
        assert_eq!(evaluate(&expr, &|_| None), Err(EvalError::TooDeep));
        // Dropping that tree recurses too; keep it from overflowing by unwinding it here.
        let mut current = expr;
        while let Expr::Unary(_, inner) = current {
            current = *inner;
        }
        // The deepest tree the parser accepts (n comparisons joined by `||` are n + 1 deep)
        // evaluates, down to its last comparison, within a test thread's stack.
        let chain = |n: usize| vec![r#"@a=="x""#; n].join(" || ");
        assert!(parse_condition(&chain(MAX_AST_DEPTH)).is_err());
        let parsed = parse_condition(&chain(MAX_AST_DEPTH - 1));
        assert!(parsed.is_ok());
        if let Ok(expr) = parsed {
            assert!(!condition_holds(&expr, &|_| Some("y".to_owned())));
            assert!(condition_holds(&expr, &|_| Some("x".to_owned())));
        }
        let nested = format!("{}1{}", "-(".repeat(30), ")".repeat(30));
        assert_eq!(calc_with(&nested, &HashMap::new()), num(1.0));
    }

    /// Source text of (mostly) valid expressions, built from the grammar, so that most cases
    /// reach the evaluator.
    fn expression_text() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(vec![
            "@a",
            "@b",
            "@x",
            "@unset",
            "1",
            "0",
            "-0.5",
            "1e308",
            "\"t\"",
            "\"\"",
            "\"é😀\"",
            r#""[1,{\"k\":2}]""#,
            "true",
            "false",
            "undefined",
        ])
        .prop_map(str::to_owned);
        leaf.prop_recursive(6, 64, 3, |inner| {
            let binary_operators = prop::sample::select(vec![
                "+", "-", "*", "/", "%", "**", "==", "!=", "===", "!==", "<", "<=", ">", ">=",
                "&&", "||",
            ]);
            let methods = prop::sample::select(vec![
                "includes",
                "startsWith",
                "endsWith",
                "replace",
                "replaceAll",
                "trim",
                "toUpperCase",
                "toLowerCase",
            ]);
            let functions = prop::sample::select(vec![
                "Math.abs",
                "Math.min",
                "Math.max",
                "Math.round",
                "encodeURI",
                "JSON.parse",
                "normalizeText",
                "mainTopic",
                "searchScore",
            ]);
            prop_oneof![
                (inner.clone(), binary_operators, inner.clone())
                    .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
                (prop::sample::select(vec!["!", "-", "+"]), inner.clone())
                    .prop_map(|(op, a)| format!("{op}({a})")),
                (
                    inner.clone(),
                    methods,
                    prop::collection::vec(inner.clone(), 0..3)
                )
                    .prop_map(|(r, m, args)| format!("({r}).{m}({})", args.join(", "))),
                inner.clone().prop_map(|a| format!("({a}).length")),
                (functions, prop::collection::vec(inner.clone(), 0..3))
                    .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(a, b, c)| format!("{a} ? {b} : {c}")),
                (inner.clone(), inner.clone()).prop_map(|(a, i)| format!("({a})[{i}]")),
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|items| format!("[{}]", items.join(", "))),
                inner.prop_map(|a| format!("{{k: {a}}}.k")),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_parsers_never_panic(text in ".{0,80}") {
            let _ = parse_condition(&text);
            let _ = parse_calc(&text);
        }

        #[test]
        fn parsed_expressions_never_panic_the_evaluator(
            text in expression_text(),
            a in ".{0,12}",
            b in "[0-9.e+-]{0,6}",
        ) {
            let vars = HashMap::from([("a", a.as_str()), ("b", b.as_str()), ("x", "[1, \"2\", {\"k\": null}]")]);
            let lookup = |name: &str| vars.get(name).map(|v| (*v).to_owned());
            for expr in [parse_calc(&text), parse_condition(&text)].into_iter().flatten() {
                let _ = evaluate(&expr, &lookup);
                let _ = evaluate_calc(&expr, &lookup);
                let _ = condition_holds(&expr, &lookup);
                let _ = expr.variables();
            }
        }

        #[test]
        fn stored_numbers_round_trip(n in any::<f64>()) {
            let stored = Value::Number(n).to_stored().unwrap_or_default();
            match Value::from_stored(&stored) {
                Value::Number(back) => prop_assert!(back == n || (back == 0.0 && n == 0.0)),
                other => prop_assert!(n.is_nan() && other == Value::String("NaN".into())),
            }
        }
    }
}

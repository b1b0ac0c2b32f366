//! JavaScript's semantics as ChatMD relies on them, in one place: white space and `trim`,
//! lengths in UTF-16 code units, ChatMD's accent map and `normalizeText`, the conversions
//! between numbers and strings, own properties, and `JSON.parse` ([`json`]). Used by the
//! expression parser (`kb::expr`), the evaluator (`engine::eval`) and ChatMD matching
//! (`engine::chatmd`).

pub mod json;

/// ECMAScript `WhiteSpace` or `LineTerminator` (what `trim()` and `Number(" 1 ")` skip, what
/// `\s` matches, and what separates tokens). Differs from `char::is_whitespace`: includes
/// U+FEFF, excludes U+0085. The one definition, for the lexer, `engine::eval` and matching.
pub(crate) fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{A}' | '\u{B}' | '\u{C}' | '\u{D}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// JavaScript `String.prototype.trim`.
pub(crate) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// [`is_js_whitespace`] for one UTF-16 unit (all white-space characters are in the BMP).
pub(crate) fn is_js_whitespace_unit(unit: u16) -> bool {
    char::from_u32(u32::from(unit)).is_some_and(is_js_whitespace)
}

/// JavaScript's `length`: UTF-16 code units.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// ChatMD's fixed accent map (`removeAccents`): 15 letters and their upper-case forms, nothing
/// else (`á ñ æ œ` and decomposed accents are left alone). Matching (§M2) and `normalizeText`
/// in expressions apply the same table.
pub(crate) fn map_accent(c: char) -> char {
    match c {
        'à' | 'â' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'î' | 'ï' => 'i',
        'ô' | 'ö' => 'o',
        'û' | 'ù' | 'ü' => 'u',
        'ÿ' => 'y',
        'ç' => 'c',
        'À' | 'Â' => 'A',
        'É' | 'È' | 'Ê' | 'Ë' => 'E',
        'Î' | 'Ï' => 'I',
        'Ô' | 'Ö' => 'O',
        'Û' | 'Ù' | 'Ü' => 'U',
        'Ÿ' => 'Y',
        'Ç' => 'C',
        other => other,
    }
}

pub(crate) fn map_accents(s: &str) -> String {
    s.chars().map(map_accent).collect()
}

/// ChatMD's `normalizeText` (§M2): lower-case (full Unicode, like JavaScript `toLowerCase`),
/// trim JavaScript white space (U+FEFF included), then apply the 15-letter accent map.
/// Punctuation, apostrophes and inner white space are kept as typed. (Trimming before or after
/// the map is the same: the map neither makes nor removes white space.)
pub fn normalize_text(s: &str) -> String {
    map_accents(js_trim(&s.to_lowercase()))
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

/// Adds or replaces an own property of an object (JavaScript's `CreateDataProperty`, as an
/// object literal and `JSON.parse` do): a repeated key keeps its place and takes the last
/// value.
pub fn set_own_property<V>(object: &mut Vec<(String, V)>, key: String, value: V) {
    match object.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => object.push((key, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_javascript_does() {
        let cases = [
            (30.0, "30"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1.5e-7, "1.5e-7"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (0.5, "0.5"),
            (-1.5, "-1.5"),
            (-0.0, "0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (20.0 / 3.0, "6.666666666666667"),
            (1.23e-18, "1.23e-18"),
            (2.5e25, "2.5e+25"),
            (123.456, "123.456"),
        ];
        for (n, expected) in cases {
            assert_eq!(number_to_string(n), expected, "{n:e}");
        }
    }

    #[test]
    fn strings_convert_to_numbers_as_javascript_does() {
        let cases = [
            ("", 0.0),
            ("  ", 0.0),
            (" 12 ", 12.0),
            ("\u{A0}12\n", 12.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("-.5e1", -5.0),
            ("+3", 3.0),
            ("0x1F", 31.0),
            ("0b101", 5.0),
            ("0o17", 15.0),
            ("-Infinity", f64::NEG_INFINITY),
            ("1e1000", f64::INFINITY),
            ("007", 7.0),
        ];
        for (s, expected) in cases {
            assert_eq!(string_to_number(s), expected, "{s:?}");
        }
        for s in [
            "abc", "1e", "1,5", "-0x10", "0x", "inf", "NaN", "1_000", "1 2", ".",
        ] {
            assert!(string_to_number(s).is_nan(), "{s:?} should be NaN");
        }
    }
}

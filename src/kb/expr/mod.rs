//! ChatMD's expression language (conditions `` `if …` `` and `` `@v = calc(…)` ``), parsed once
//! at knowledge-base load time into a whitelisted AST (docs/chatmd.md §F10.4 and §F10.6).
//!
//! ChatMD evaluates these expressions by rewriting them into JavaScript source and handing that
//! to `new Function`. guichet never evaluates strings: it reproduces ChatMD's textual rewriting,
//! then parses the result with a parser that only knows the whitelisted subset of JavaScript
//! (literals, `@variables`, operators, a few string methods and helper functions). Anything else
//! is a parse error pointing at the offending column, so a knowledge base with an unsupported
//! expression is reported when it is loaded, not silently ignored at display time.
//!
//! Evaluation lives in `crate::engine::eval`.

use std::fmt;

use thiserror::Error;

mod lex;
mod parse;
mod rewrite;

use lex::tokenize;
use parse::Parser;
use rewrite::rewrite_condition;

/// Deepest nesting of parentheses, brackets, unary operators and ternaries the parser accepts.
/// Bounds the parser's recursion so hostile input cannot overflow the stack.
pub const MAX_NESTING: usize = 64;

/// Deepest tree the parser builds. A chain such as `@a==1 || @a==2 || …` is parsed by a loop but
/// yields a left-deep tree; the evaluator recurses on that tree, so its depth is bounded too.
/// 128 leaves room for long `||` lists while keeping evaluation far from any stack limit.
pub const MAX_AST_DEPTH: usize = 128;

/// Most keys an object literal `{…}` may have. The object is rebuilt at every display, and a
/// repeated key must replace the earlier one in place (JavaScript's order), so each key is
/// compared with the ones before it: bounding the count bounds that cost (80,000 keys took
/// 37 s per display). ChatMD bases use objects as small lookup tables.
pub const MAX_OBJECT_KEYS: usize = 1_000;

/// A syntax error, or a construct outside the whitelist.
///
/// `column` is a 0-based offset in characters (not bytes) into the text given to
/// [`parse_condition`] or [`parse_calc`]; the knowledge-base parser adds the position of that
/// text in its file to report `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("column {column}: {message}")]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

impl ExprError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        Self {
            column,
            message: message.into(),
        }
    }
}

type Result<T, E = ExprError> = std::result::Result<T, E>;

/// A parsed expression. Only whitelisted constructs can be represented.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// The literal `undefined`.
    Undefined,
    Bool(bool),
    Number(f64),
    String(String),
    /// `@name`: a dynamic variable, converted on read (docs/chatmd.md §F10.4).
    Variable(String),
    /// `[a, b]`; an elided element (`[a,,b]`) is `Undefined`.
    Array(Vec<Expr>),
    /// `{key: value, "other key": value}`.
    Object(Vec<(String, Expr)>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `test ? then : otherwise`.
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `.name` read (e.g. `.length`, or a key of an object from `JSON.parse`).
    Property(Box<Expr>, String),
    /// `[key]`.
    Index(Box<Expr>, Box<Expr>),
    /// `receiver.method(args)` for a whitelisted method.
    Method(Box<Expr>, Method, Vec<Expr>),
    /// A call to a whitelisted global function.
    Call(Function, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `!`
    Not,
    /// `-`
    Negate,
    /// `+` (conversion to number)
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    /// `**`
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    /// `==` (loose)
    Eq,
    /// `!=` (loose)
    Ne,
    /// `===`
    StrictEq,
    /// `!==`
    StrictNe,
    /// `&&` (short-circuit, yields an operand)
    And,
    /// `||` (short-circuit, yields an operand)
    Or,
}

/// Whitelisted methods (docs/chatmd.md §F10.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Includes,
    StartsWith,
    EndsWith,
    ToLowerCase,
    ToUpperCase,
    Trim,
    Replace,
    ReplaceAll,
}

impl Method {
    const ALL: [Method; 8] = [
        Method::Includes,
        Method::StartsWith,
        Method::EndsWith,
        Method::ToLowerCase,
        Method::ToUpperCase,
        Method::Trim,
        Method::Replace,
        Method::ReplaceAll,
    ];

    /// The JavaScript name, as written after the dot.
    pub fn name(self) -> &'static str {
        match self {
            Method::Includes => "includes",
            Method::StartsWith => "startsWith",
            Method::EndsWith => "endsWith",
            Method::ToLowerCase => "toLowerCase",
            Method::ToUpperCase => "toUpperCase",
            Method::Trim => "trim",
            Method::Replace => "replace",
            Method::ReplaceAll => "replaceAll",
        }
    }

    fn from_name(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Whitelisted global functions (docs/chatmd.md §F10.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    MathAbs,
    MathMin,
    MathMax,
    MathRound,
    EncodeUri,
    JsonParse,
    NormalizeText,
    MainTopic,
    SearchScore,
}

impl Function {
    /// The JavaScript name, as written in an expression.
    pub fn name(self) -> &'static str {
        match self {
            Function::MathAbs => "Math.abs",
            Function::MathMin => "Math.min",
            Function::MathMax => "Math.max",
            Function::MathRound => "Math.round",
            Function::EncodeUri => "encodeURI",
            Function::JsonParse => "JSON.parse",
            Function::NormalizeText => "normalizeText",
            Function::MainTopic => "mainTopic",
            Function::SearchScore => "searchScore",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Expr {
    /// Every variable name referenced, each once, in order of first appearance.
    ///
    /// Iterative so that even a hand-built (unbounded) tree cannot overflow the stack.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        // A set beside the list: `[@a0, @a1, …]` may name many thousands of variables, and
        // searching the list for each would cost quadratic time.
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut pending: Vec<&Expr> = vec![self];
        while let Some(expr) = pending.pop() {
            // Children are pushed in reverse so that they are visited left to right.
            match expr {
                Expr::Variable(name) => {
                    if seen.insert(name) {
                        names.push(name);
                    }
                }
                Expr::Undefined | Expr::Bool(_) | Expr::Number(_) | Expr::String(_) => {}
                Expr::Array(items) | Expr::Call(_, items) => pending.extend(items.iter().rev()),
                Expr::Object(entries) => pending.extend(entries.iter().rev().map(|(_, e)| e)),
                Expr::Unary(_, operand) | Expr::Property(operand, _) => pending.push(operand),
                Expr::Binary(_, left, right) | Expr::Index(left, right) => {
                    pending.push(right);
                    pending.push(left);
                }
                Expr::Conditional(test, then, otherwise) => {
                    pending.push(otherwise);
                    pending.push(then);
                    pending.push(test);
                }
                Expr::Method(receiver, _, args) => {
                    pending.extend(args.iter().rev());
                    pending.push(receiver);
                }
            }
        }
        names
    }
}

/// Whether `c` may appear in a variable name after `@` in a condition or `calc`.
///
/// ChatMD matches `@([\p{L}0-9_]+)`. Rust's `is_alphabetic` is the Unicode `Alphabetic`
/// property, a slight superset of the letter categories `\p{L}` (it also holds letter numbers
/// such as `Ⅻ` and some combining vowel signs); for French text the two agree.
pub fn is_variable_name_char(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit() || c == '_'
}

/// What the regular expression `.` does not match (no `s` flag in ChatMD's rewriting regex).
fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// A character of the source with its column in the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SourceChar {
    ch: char,
    column: usize,
}

/// Parses the text of a condition (what follows `if ` in `` `if …` ``).
///
/// ChatMD does not evaluate the condition as written: it first rewrites it
/// (`checkConditionalBlock.mjs`), and this function reproduces that rewriting before parsing:
///
/// 1. `@name` references are located first, everywhere (even inside quotes).
/// 2. After each comparison operator (`==`, `!=`, `<=`, `>=`, `<`, `>`, tried in that order at
///    each position, left to right, without overlap), the text up to the next `)`, `&`, `|` or
///    the end becomes a double-quoted string literal, unless a variable reference comes first,
///    in which case the text is kept as code and ends right after that reference.
///    Spaces (regex `/(==|!=|<=|>=|<|>) ?(.*?) ?(\)|&|\||$)/`): exactly **one** ASCII space
///    right after the operator and **one** right before the terminator are dropped; any other
///    space is kept in the value, so `@a ==  x` compares with `" x"` and `@a == x  && …` with
///    `"x "`. Tabs and no-break spaces are never dropped. A line break before the terminator
///    stops the rewriting at that operator (ChatMD's `.` does not match it).
/// 3. Every `""` in the result becomes `"` (so an already quoted value stays one string, and a
///    literal `""` elsewhere breaks like in ChatMD), then every `"undefined"`, `"true"` and
///    `"false"` becomes the bare literal (docs/chatmd.md §F10.6).
///
/// An empty value (`@a==` or `@a==)`) is reported as an error: in ChatMD it produces an
/// unterminated string, i.e. a condition that is always false.
pub fn parse_condition(text: &str) -> Result<Expr> {
    let source = rewrite_condition(text)?;
    parse_source(&source, text.chars().count())
}

/// Parses the inside of `calc(…)`: plain whitelisted JavaScript, `@name` being a variable.
pub fn parse_calc(text: &str) -> Result<Expr> {
    let source: Vec<SourceChar> = text
        .chars()
        .enumerate()
        .map(|(column, ch)| SourceChar { ch, column })
        .collect();
    parse_source(&source, source.len())
}

fn parse_source(source: &[SourceChar], end_column: usize) -> Result<Expr> {
    let (tokens, lexical_error) = tokenize(source, end_column);
    let mut parser = Parser {
        tokens,
        position: 0,
        nesting: 0,
    };
    match (parser.parse_whole(), lexical_error) {
        (Ok(_), Some(lexical)) => Err(lexical),
        (Ok(expr), None) => Ok(expr),
        // The tokens stop at the lexical error: a parse error there is caused by it.
        (Err(syntax), Some(lexical)) if syntax.column >= lexical.column => Err(lexical),
        (Err(syntax), _) => Err(syntax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str) -> Box<Expr> {
        Box::new(Expr::Variable(name.to_owned()))
    }

    fn string(s: &str) -> Box<Expr> {
        Box::new(Expr::String(s.to_owned()))
    }

    fn bin(op: BinaryOp, left: Box<Expr>, right: Box<Expr>) -> Expr {
        Expr::Binary(op, left, right)
    }

    /// The rewritten condition, as text (what ChatMD would hand to JavaScript, with `@name`
    /// standing for the variable lookup).
    fn rewritten(text: &str) -> String {
        match rewrite_condition(text) {
            Ok(chars) => chars.iter().map(|c| c.ch).collect(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn condition_rewriting_matches_chatmd() {
        let cases = [
            ("@type_user==profs", r#"@type_user=="profs" "#),
            ("@age>18", r#"@age>"18" "#),
            ("@name==Jean Pierre", r#"@name=="Jean Pierre" "#),
            // One space on each side is dropped, further ones are kept.
            ("@a == x", r#"@a =="x" "#),
            ("@a ==  x", r#"@a ==" x" "#),
            ("@a == x  && @b", r#"@a =="x " && @b"#),
            // A tab is not a space for the regex.
            ("@a ==\tx", "@a ==\"\tx\" "),
            // Already quoted: stays one string.
            (r#"@a == "profs""#, r#"@a =="profs" "#),
            (r#"@a == """#, r#"@a =="" "#),
            // Literals.
            ("@x==undefined", "@x==undefined "),
            ("@x == true", "@x ==true "),
            (r#"@x == "false""#, "@x ==false "),
            // Every occurrence is restored (ChatMD's own copies restore the first only).
            (
                "@a==undefined && @b==undefined",
                "@a==undefined && @b==undefined ",
            ),
            // Terminators.
            ("(@a==x) && (@b!=y)", r#"(@a=="x" ) && (@b!="y" )"#),
            ("@a==x||@b<=3", r#"@a=="x" ||@b<="3" "#),
            // A variable on the right stays code and ends the value.
            ("@a==@b", "@a==@b "),
            ("@a == @b.length", "@a ==@b .length"),
            ("@a > @b + 1", "@a >@b  + 1"),
            // Operators inside the value are part of it.
            ("@a == x<y", r#"@a =="x<y" "#),
            // No comparison: untouched.
            ("!@x", "!@x"),
            (r#"@INPUT.includes("oui")"#, r#"@INPUT.includes("oui")"#),
            // `<=` is tried before `<`.
            ("@a<=5", r#"@a<="5" "#),
            // A line break before the terminator stops the rewriting of that comparison.
            ("@a==x\n", "@a==x\n"),
        ];
        for (input, expected) in cases {
            assert_eq!(rewritten(input), expected, "rewriting {input:?}");
        }
    }

    #[test]
    fn conditions_parse_to_the_expected_tree() {
        let cases: Vec<(&str, Expr)> = vec![
            (
                "@type_user==profs",
                bin(BinaryOp::Eq, var("type_user"), string("profs")),
            ),
            ("@age>18", bin(BinaryOp::Gt, var("age"), string("18"))),
            (
                "@name==Jean Pierre",
                bin(BinaryOp::Eq, var("name"), string("Jean Pierre")),
            ),
            (
                r#"@name == "Jean Pierre""#,
                bin(BinaryOp::Eq, var("name"), string("Jean Pierre")),
            ),
            (
                "@x==undefined",
                bin(BinaryOp::Eq, var("x"), Box::new(Expr::Undefined)),
            ),
            (
                "@ok!=false",
                bin(BinaryOp::Ne, var("ok"), Box::new(Expr::Bool(false))),
            ),
            ("!@x", Expr::Unary(UnaryOp::Not, var("x"))),
            ("@a==@b", bin(BinaryOp::Eq, var("a"), var("b"))),
            (
                "@a==x && @b!=y",
                bin(
                    BinaryOp::And,
                    Box::new(bin(BinaryOp::Eq, var("a"), string("x"))),
                    Box::new(bin(BinaryOp::Ne, var("b"), string("y"))),
                ),
            ),
            (
                "@année>=2024",
                bin(BinaryOp::Ge, var("année"), string("2024")),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_condition(input), Ok(expected), "parsing {input:?}");
        }
    }

    #[test]
    fn calc_parses_with_javascript_precedence() {
        let cases: Vec<(&str, Expr)> = vec![
            (
                "@num1 + @num2 * 2",
                bin(
                    BinaryOp::Add,
                    var("num1"),
                    Box::new(bin(BinaryOp::Mul, var("num2"), Box::new(Expr::Number(2.0)))),
                ),
            ),
            (
                "1 - 2 - 3",
                bin(
                    BinaryOp::Sub,
                    Box::new(bin(
                        BinaryOp::Sub,
                        Box::new(Expr::Number(1.0)),
                        Box::new(Expr::Number(2.0)),
                    )),
                    Box::new(Expr::Number(3.0)),
                ),
            ),
            (
                "2 ** 3 ** 2",
                bin(
                    BinaryOp::Pow,
                    Box::new(Expr::Number(2.0)),
                    Box::new(bin(
                        BinaryOp::Pow,
                        Box::new(Expr::Number(3.0)),
                        Box::new(Expr::Number(2.0)),
                    )),
                ),
            ),
            (
                "@a || @b && @c",
                bin(
                    BinaryOp::Or,
                    var("a"),
                    Box::new(bin(BinaryOp::And, var("b"), var("c"))),
                ),
            ),
            (
                "@a ? 1 : @b ? 2 : 3",
                Expr::Conditional(
                    var("a"),
                    Box::new(Expr::Number(1.0)),
                    Box::new(Expr::Conditional(
                        var("b"),
                        Box::new(Expr::Number(2.0)),
                        Box::new(Expr::Number(3.0)),
                    )),
                ),
            ),
            (
                r#"JSON.parse(@jsonObj).numbers[1]"#,
                Expr::Index(
                    Box::new(Expr::Property(
                        Box::new(Expr::Call(
                            Function::JsonParse,
                            vec![Expr::Variable("jsonObj".into())],
                        )),
                        "numbers".into(),
                    )),
                    Box::new(Expr::Number(1.0)),
                ),
            ),
            (
                r#"@str1.replace("l", "x")"#,
                Expr::Method(
                    var("str1"),
                    Method::Replace,
                    vec![Expr::String("l".into()), Expr::String("x".into())],
                ),
            ),
            (
                "Math.max(@a, 3,)",
                Expr::Call(
                    Function::MathMax,
                    vec![Expr::Variable("a".into()), Expr::Number(3.0)],
                ),
            ),
            (
                "[1,,2,]",
                Expr::Array(vec![Expr::Number(1.0), Expr::Undefined, Expr::Number(2.0)]),
            ),
            (
                r#"{a: 1, "b c": 2, a: 3}"#,
                Expr::Object(vec![
                    ("a".into(), Expr::Number(3.0)),
                    ("b c".into(), Expr::Number(2.0)),
                ]),
            ),
            (".5e1", Expr::Number(5.0)),
            (
                r#""a\"b\u00e9\u{1F600}\x41""#,
                Expr::String("a\"bé😀A".into()),
            ),
            (r#""\uD83D\uDE00""#, Expr::String("😀".into())),
            (
                "@x?.5:1",
                Expr::Conditional(
                    var("x"),
                    Box::new(Expr::Number(0.5)),
                    Box::new(Expr::Number(1.0)),
                ),
            ),
            (
                "- -1",
                Expr::Unary(
                    UnaryOp::Negate,
                    Box::new(Expr::Unary(UnaryOp::Negate, Box::new(Expr::Number(1.0)))),
                ),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_calc(input), Ok(expected), "parsing {input:?}");
        }
    }

    #[test]
    fn constructs_outside_the_whitelist_are_rejected_with_their_column() {
        // (input, column, part of the message)
        let cases = [
            ("while(true) {}", 0, "keyword `while`"),
            (
                r#"fetch("http://malicious.com")"#,
                0,
                "`fetch` is forbidden",
            ),
            (r#"const fs=require("fs");"#, 0, "keyword `const`"),
            (r#"alert("XSS")"#, 0, "`alert` is forbidden"),
            ("process.exit()", 0, "`process` is forbidden"),
            (r#"require("fs")"#, 0, "`require` is forbidden"),
            (r#"eval("while(true) {}")"#, 0, "`eval` is forbidden"),
            ("new Function(1)", 0, "keyword `new`"),
            ("window.location", 0, "`window` is forbidden"),
            ("1 + global.x", 4, "`global` is forbidden"),
            ("@a = 3", 3, "assignment"),
            ("@a++", 2, "increment"),
            ("@a & 1", 3, "bitwise"),
            ("@a; 1", 2, "only one expression"),
            ("'abc'", 0, "double quotes"),
            ("`abc`", 0, "template"),
            ("@a.constructor", 3, "`constructor`"),
            ("@a.__proto__", 3, "`__proto__`"),
            ("@a.toString()", 3, "`.toString()` is not allowed"),
            ("@a.trim", 3, "must be called"),
            ("Math.random()", 0, "`Math.random` is not allowed"),
            ("Math.PI", 0, "`Math.PI` is not allowed"),
            ("JSON.stringify(1)", 0, "`JSON.stringify` is not allowed"),
            ("encodeURI", 0, "must be called"),
            ("@a(1)", 2, "only the whitelisted functions"),
            ("Bonjour", 0, "unknown name `Bonjour`"),
            ("null", 0, "`null` is not supported"),
            ("010", 0, "octal"),
            ("0x1F", 0, "hexadecimal"),
            ("1abc", 1, "directly followed by a letter"),
            ("1e", 2, "exponent"),
            (r#""abc"#, 0, "unterminated string"),
            (r#""mail @dom""#, 6, "inside a string"),
            ("@ 1", 0, "must be followed by a variable name"),
            ("/ab/", 0, "regular expressions"),
            ("1 // note", 2, "comments"),
            ("(1", 2, "expected `)`"),
            ("1 2", 2, "unexpected number"),
            ("", 0, "empty expression"),
            ("-2 ** 2", 3, "parentheses"),
            ("a?.b", 0, "unknown name `a`"),
            (r#"{__proto__: 1}"#, 1, "`__proto__`"),
        ];
        for (input, column, message) in cases {
            match parse_calc(input) {
                Ok(expr) => panic!("{input:?} should be rejected, parsed as {expr:?}"),
                Err(e) => {
                    assert_eq!(e.column, column, "column for {input:?}: {e}");
                    assert!(e.message.contains(message), "message for {input:?}: {e}");
                }
            }
        }
    }

    #[test]
    fn condition_errors_point_into_the_original_text() {
        let cases = [
            ("@a==", 2, "missing value after `==`"),
            ("(@a==)", 3, "missing value"),
            ("@a=x", 2, "assignment"),
            ("@a==x && fetch(1)", 9, "`fetch` is forbidden"),
            // ChatMD breaks the string too (`"x" "` is unterminated).
            (r#"@a == "x"  && @b"#, 14, "inside a string"),
        ];
        for (input, column, message) in cases {
            match parse_condition(input) {
                Ok(expr) => panic!("{input:?} should be rejected, parsed as {expr:?}"),
                Err(e) => {
                    assert_eq!(e.column, column, "column for {input:?}: {e}");
                    assert!(e.message.contains(message), "message for {input:?}: {e}");
                }
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = 20_000;
        let inputs = [
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            format!("{}@x", "!".repeat(n)),
            format!("{}1", "- ".repeat(n)),
            format!("{}1{}", "[".repeat(n), "]".repeat(n)),
            vec!["1"; n].join("+"),
            vec![r#"@a=="x""#; n].join(" || "),
            format!("{}1", "@a ? 1 : ".repeat(n)),
            vec!["2"; n].join("**"),
            format!("{}1{}", "Math.abs(".repeat(n), ")".repeat(n)),
            format!("@a{}", ".length".repeat(n)),
        ];
        for input in &inputs {
            let calc = parse_calc(input);
            let condition = parse_condition(input);
            for result in [calc, condition] {
                let error = result.expect_err("deep input must be rejected");
                assert!(error.message.contains("too deeply nested"), "{error}");
            }
        }
        // Within the limits it parses.
        let ok = format!(
            "{}1{}",
            "(".repeat(MAX_NESTING - 2),
            ")".repeat(MAX_NESTING - 2)
        );
        assert_eq!(parse_calc(&ok), Ok(Expr::Number(1.0)));
        let chain = vec!["@a==x"; MAX_AST_DEPTH / 2].join(" || ");
        assert!(parse_condition(&chain).is_ok());
    }

    #[test]
    fn variables_lists_each_reference_once_in_order() {
        let expr = parse_condition("@b==x && (@a > @b || normalizeText(@c) == @a)")
            .unwrap_or(Expr::Undefined);
        assert_eq!(expr.variables(), vec!["b", "a", "c"]);
        let expr = parse_calc(r#"{k: @x, l: [@y, @x.length]}["k"] ? @z.replace(@w, "") : 1"#)
            .unwrap_or(Expr::Undefined);
        assert_eq!(expr.variables(), vec!["x", "y", "z", "w"]);
        assert!(
            parse_calc("1 + 2")
                .unwrap_or(Expr::Variable("v".into()))
                .variables()
                .is_empty()
        );
    }

    #[test]
    fn javascript_whitespace_separates_tokens() {
        // A no-break space (French typography before `?` and `:`) is JavaScript whitespace.
        let expr = parse_calc("@a\u{A0}?\u{A0}1\u{A0}:\u{FEFF}2");
        assert_eq!(
            expr,
            Ok(Expr::Conditional(
                var("a"),
                Box::new(Expr::Number(1.0)),
                Box::new(Expr::Number(2.0))
            ))
        );
    }
}

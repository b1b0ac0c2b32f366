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

/// ECMAScript `WhiteSpace` or `LineTerminator` (what `trim()` and `Number(" 1 ")` skip, what
/// `\s` matches, and what separates tokens). Differs from `char::is_whitespace`: includes
/// U+FEFF, excludes U+0085. The one definition: `engine::eval` and the ChatMD matcher use it too.
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

// ---------------------------------------------------------------------------------------------
// Condition rewriting (docs/chatmd.md §F10.6 step 2)

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

fn rewrite_condition(text: &str) -> Result<Vec<SourceChar>> {
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

// ---------------------------------------------------------------------------------------------
// Tokenizer

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    String(String),
    Variable(String),
    Identifier(String),
    Punct(&'static str),
    End,
}

impl Token {
    fn describe(&self) -> String {
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
fn tokenize(source: &[SourceChar], end_column: usize) -> (Vec<(Token, usize)>, Option<ExprError>) {
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

// ---------------------------------------------------------------------------------------------
// Parser

/// A parsed subtree and its depth (a leaf has depth 1).
struct Node {
    expr: Expr,
    depth: usize,
}

impl Node {
    fn leaf(expr: Expr) -> Self {
        Node { expr, depth: 1 }
    }
}

/// Builds a node over `children`, refusing trees deeper than [`MAX_AST_DEPTH`].
fn node(column: usize, children_depth: usize, expr: Expr) -> Result<Node> {
    let depth = children_depth + 1;
    if depth > MAX_AST_DEPTH {
        return Err(ExprError::new(
            column,
            format!("expression too deeply nested (more than {MAX_AST_DEPTH} levels)"),
        ));
    }
    Ok(Node { expr, depth })
}

/// Names that ChatMD explicitly refuses (docs/chatmd.md §F10.4) and other host objects.
const FORBIDDEN_NAMES: [&str; 22] = [
    "eval",
    "Function",
    "require",
    "process",
    "global",
    "globalThis",
    "window",
    "document",
    "alert",
    "fetch",
    "XMLHttpRequest",
    "setTimeout",
    "setInterval",
    "import",
    "self",
    "top",
    "parent",
    "frames",
    "localStorage",
    "sessionStorage",
    "navigator",
    "location",
];

const KEYWORDS: [&str; 37] = [
    "new",
    "while",
    "for",
    "do",
    "if",
    "else",
    "function",
    "return",
    "var",
    "let",
    "const",
    "class",
    "typeof",
    "void",
    "delete",
    "in",
    "instanceof",
    "this",
    "super",
    "throw",
    "try",
    "catch",
    "finally",
    "switch",
    "case",
    "default",
    "break",
    "continue",
    "yield",
    "await",
    "async",
    "with",
    "debugger",
    "export",
    "extends",
    "of",
    "static",
];

/// Property names that reach JavaScript's object machinery rather than data.
const RESERVED_PROPERTIES: [&str; 3] = ["constructor", "prototype", "__proto__"];

struct Parser {
    tokens: Vec<(Token, usize)>,
    position: usize,
    nesting: usize,
}

/// Binary operator precedence (higher binds tighter), JavaScript's table.
fn binary_operator(token: &Token) -> Option<(BinaryOp, u8)> {
    let Token::Punct(p) = token else {
        return None;
    };
    Some(match *p {
        "||" => (BinaryOp::Or, 1),
        "&&" => (BinaryOp::And, 2),
        "==" => (BinaryOp::Eq, 3),
        "!=" => (BinaryOp::Ne, 3),
        "===" => (BinaryOp::StrictEq, 3),
        "!==" => (BinaryOp::StrictNe, 3),
        "<" => (BinaryOp::Lt, 4),
        "<=" => (BinaryOp::Le, 4),
        ">" => (BinaryOp::Gt, 4),
        ">=" => (BinaryOp::Ge, 4),
        "+" => (BinaryOp::Add, 5),
        "-" => (BinaryOp::Sub, 5),
        "*" => (BinaryOp::Mul, 6),
        "/" => (BinaryOp::Div, 6),
        "%" => (BinaryOp::Rem, 6),
        "**" => (BinaryOp::Pow, 7),
        _ => return None,
    })
}

const POW_PRECEDENCE: u8 = 7;

impl Parser {
    fn parse_whole(&mut self) -> Result<Expr> {
        let (first, column) = self.peek();
        if *first == Token::End {
            return Err(ExprError::new(column, "empty expression"));
        }
        let node = self.expression()?;
        let (next, column) = self.peek();
        if *next != Token::End {
            return Err(ExprError::new(
                column,
                format!(
                    "unexpected {} after the end of the expression",
                    next.describe()
                ),
            ));
        }
        Ok(node.expr)
    }

    fn peek(&self) -> (&Token, usize) {
        match self.tokens.get(self.position) {
            Some((token, column)) => (token, *column),
            None => (&Token::End, self.tokens.last().map_or(0, |(_, c)| *c)),
        }
    }

    fn peek_punct(&self, p: &str) -> bool {
        matches!(self.peek().0, Token::Punct(q) if *q == p)
    }

    fn advance(&mut self) -> (Token, usize) {
        let current = self
            .tokens
            .get(self.position)
            .cloned()
            .unwrap_or((Token::End, self.peek().1));
        if self.position < self.tokens.len() {
            self.position += 1;
        }
        current
    }

    fn expect_punct(&mut self, p: &'static str) -> Result<usize> {
        let (token, column) = self.peek();
        if matches!(token, Token::Punct(q) if *q == p) {
            self.position += 1;
            Ok(column)
        } else {
            Err(ExprError::new(
                column,
                format!("expected `{p}`, found {}", token.describe()),
            ))
        }
    }

    fn expression(&mut self) -> Result<Node> {
        let test = self.binary(1)?;
        if !self.peek_punct("?") {
            return Ok(test);
        }
        let column = self.expect_punct("?")?;
        let then = self.nested(Self::expression)?;
        self.expect_punct(":")?;
        let otherwise = self.nested(Self::expression)?;
        let depth = test.depth.max(then.depth).max(otherwise.depth);
        node(
            column,
            depth,
            Expr::Conditional(
                Box::new(test.expr),
                Box::new(then.expr),
                Box::new(otherwise.expr),
            ),
        )
    }

    /// Runs `parse` one nesting level deeper, refusing to go past [`MAX_NESTING`]. Called
    /// wherever the input itself drives the recursion (brackets, arguments, unary operators,
    /// ternaries, `**`); the recursion between precedence levels is bounded by the grammar.
    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.nesting >= MAX_NESTING {
            return Err(ExprError::new(
                self.peek().1,
                format!("expression too deeply nested (more than {MAX_NESTING} levels)"),
            ));
        }
        self.nesting += 1;
        let result = parse(self);
        self.nesting -= 1;
        result
    }

    /// Precedence climbing: operators of the same level associate to the left (a loop, so a
    /// long `||` chain costs no recursion), except `**` which associates to the right.
    fn binary(&mut self, min_precedence: u8) -> Result<Node> {
        let (mut left, mut left_is_unary) = self.unary_marked()?;
        while let Some((op, precedence)) = binary_operator(self.peek().0) {
            if precedence < min_precedence {
                break;
            }
            let column = self.advance().1;
            if op == BinaryOp::Pow && left_is_unary {
                return Err(ExprError::new(
                    column,
                    "put the operand of `**` in parentheses when it has a sign or `!`",
                ));
            }
            let right = if op == BinaryOp::Pow {
                self.nested(|p| p.binary(POW_PRECEDENCE))?
            } else {
                self.binary(precedence + 1)?
            };
            let depth = left.depth.max(right.depth);
            left = node(
                column,
                depth,
                Expr::Binary(op, Box::new(left.expr), Box::new(right.expr)),
            )?;
            left_is_unary = false;
        }
        Ok(left)
    }

    /// Parses a unary expression; the flag says whether it starts with a unary operator.
    fn unary_marked(&mut self) -> Result<(Node, bool)> {
        let op = match self.peek().0 {
            Token::Punct("!") => Some(UnaryOp::Not),
            Token::Punct("-") => Some(UnaryOp::Negate),
            Token::Punct("+") => Some(UnaryOp::Plus),
            _ => None,
        };
        match op {
            Some(op) => {
                let column = self.advance().1;
                let (operand, _) = self.nested(Self::unary_marked)?;
                let depth = operand.depth;
                Ok((
                    node(column, depth, Expr::Unary(op, Box::new(operand.expr)))?,
                    true,
                ))
            }
            None => Ok((self.postfix()?, false)),
        }
    }

    fn postfix(&mut self) -> Result<Node> {
        let mut current = self.primary()?;
        loop {
            let (token, column) = self.peek();
            match token {
                Token::Punct(".") => {
                    self.position += 1;
                    current = self.member(current, column)?;
                }
                Token::Punct("[") => {
                    self.position += 1;
                    let key = self.nested(Self::expression)?;
                    self.expect_punct("]")?;
                    let depth = current.depth.max(key.depth);
                    current = node(
                        column,
                        depth,
                        Expr::Index(Box::new(current.expr), Box::new(key.expr)),
                    )?;
                }
                Token::Punct("(") => {
                    return Err(ExprError::new(
                        column,
                        "only the whitelisted functions and methods can be called",
                    ));
                }
                _ => return Ok(current),
            }
        }
    }

    fn member(&mut self, object: Node, dot_column: usize) -> Result<Node> {
        let (token, column) = self.advance();
        let Token::Identifier(name) = token else {
            return Err(ExprError::new(
                column,
                format!(
                    "expected a property name after `.`, found {}",
                    token.describe()
                ),
            ));
        };
        if RESERVED_PROPERTIES.contains(&name.as_str()) {
            return Err(ExprError::new(
                column,
                format!("property `{name}` is not allowed"),
            ));
        }
        let called = self.peek_punct("(");
        match (Method::from_name(&name), called) {
            (Some(method), true) => {
                self.position += 1;
                let (args, depth) = self.arguments()?;
                node(
                    dot_column,
                    object.depth.max(depth),
                    Expr::Method(Box::new(object.expr), method, args),
                )
            }
            (Some(method), false) => Err(ExprError::new(
                column,
                format!("method `.{method}` must be called: `.{method}(…)`"),
            )),
            (None, true) => Err(ExprError::new(
                column,
                format!(
                    "method `.{name}()` is not allowed (allowed: {})",
                    Method::ALL.map(Method::name).join(", ")
                ),
            )),
            (None, false) => node(
                dot_column,
                object.depth,
                Expr::Property(Box::new(object.expr), name),
            ),
        }
    }

    /// Arguments after an opening parenthesis, up to and including the closing one.
    fn arguments(&mut self) -> Result<(Vec<Expr>, usize)> {
        let mut args = Vec::new();
        let mut depth = 0;
        while !self.peek_punct(")") {
            let arg = self.nested(Self::expression)?;
            depth = depth.max(arg.depth);
            args.push(arg.expr);
            if !self.peek_punct(",") {
                break;
            }
            self.position += 1;
        }
        self.expect_punct(")")?;
        Ok((args, depth))
    }

    fn primary(&mut self) -> Result<Node> {
        let (token, column) = self.advance();
        match token {
            Token::Number(n) => Ok(Node::leaf(Expr::Number(n))),
            Token::String(s) => Ok(Node::leaf(Expr::String(s))),
            Token::Variable(name) => Ok(Node::leaf(Expr::Variable(name))),
            Token::Punct("(") => {
                let inner = self.nested(Self::expression)?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            Token::Punct("[") => self.array(column),
            Token::Punct("{") => self.object(column),
            Token::Identifier(name) => self.identifier(name, column),
            Token::Punct("/") => Err(ExprError::new(
                column,
                "regular expressions are not allowed",
            )),
            other => Err(ExprError::new(
                column,
                format!("expected a value, found {}", other.describe()),
            )),
        }
    }

    fn array(&mut self, column: usize) -> Result<Node> {
        let mut items = Vec::new();
        let mut depth = 0;
        loop {
            if self.peek_punct("]") {
                break;
            }
            if self.peek_punct(",") {
                // Elision: `[a,,b]` has a hole, read as undefined.
                self.position += 1;
                items.push(Expr::Undefined);
                continue;
            }
            let item = self.nested(Self::expression)?;
            depth = depth.max(item.depth);
            items.push(item.expr);
            if !self.peek_punct(",") {
                break;
            }
            self.position += 1;
        }
        self.expect_punct("]")?;
        node(column, depth, Expr::Array(items))
    }

    fn object(&mut self, column: usize) -> Result<Node> {
        let mut entries: Vec<(String, Expr)> = Vec::new();
        let mut depth = 0;
        while !self.peek_punct("}") {
            let (token, key_column) = self.advance();
            let key = match token {
                Token::Identifier(name) | Token::String(name) => name,
                other => {
                    return Err(ExprError::new(
                        key_column,
                        format!(
                            "expected a name or a string as object key, found {}",
                            other.describe()
                        ),
                    ));
                }
            };
            if key == "__proto__" {
                return Err(ExprError::new(key_column, "key `__proto__` is not allowed"));
            }
            if entries.len() >= MAX_OBJECT_KEYS && !entries.iter().any(|(k, _)| *k == key) {
                return Err(ExprError::new(
                    key_column,
                    format!("object literal with more than {MAX_OBJECT_KEYS} keys"),
                ));
            }
            self.expect_punct(":")?;
            let value = self.nested(Self::expression)?;
            depth = depth.max(value.depth);
            // A repeated key keeps its first position and its last value, as in JavaScript.
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value.expr,
                None => entries.push((key, value.expr)),
            }
            if !self.peek_punct(",") {
                break;
            }
            self.position += 1;
        }
        self.expect_punct("}")?;
        node(column, depth, Expr::Object(entries))
    }

    fn identifier(&mut self, name: String, column: usize) -> Result<Node> {
        let function = match name.as_str() {
            "true" => return Ok(Node::leaf(Expr::Bool(true))),
            "false" => return Ok(Node::leaf(Expr::Bool(false))),
            "undefined" => return Ok(Node::leaf(Expr::Undefined)),
            "Math" => {
                let member = self.namespace_member(&name, column)?;
                match member.as_str() {
                    "abs" => Function::MathAbs,
                    "min" => Function::MathMin,
                    "max" => Function::MathMax,
                    "round" => Function::MathRound,
                    other => {
                        return Err(ExprError::new(
                            column,
                            format!(
                                "`Math.{other}` is not allowed (allowed: Math.abs, Math.min, Math.max, Math.round)"
                            ),
                        ));
                    }
                }
            }
            "JSON" => {
                let member = self.namespace_member(&name, column)?;
                if member != "parse" {
                    return Err(ExprError::new(
                        column,
                        format!("`JSON.{member}` is not allowed (only `JSON.parse` is)"),
                    ));
                }
                Function::JsonParse
            }
            "encodeURI" => Function::EncodeUri,
            "normalizeText" => Function::NormalizeText,
            "mainTopic" => Function::MainTopic,
            "searchScore" => Function::SearchScore,
            _ => return Err(ExprError::new(column, unknown_identifier_message(&name))),
        };
        if !self.peek_punct("(") {
            return Err(ExprError::new(
                column,
                format!("`{function}` must be called: `{function}(…)`"),
            ));
        }
        self.position += 1;
        let (args, depth) = self.arguments()?;
        node(column, depth, Expr::Call(function, args))
    }

    /// The name after `Math.` or `JSON.`.
    fn namespace_member(&mut self, namespace: &str, column: usize) -> Result<String> {
        if !self.peek_punct(".") {
            return Err(ExprError::new(
                column,
                format!("`{namespace}` can only be used as `{namespace}.function(…)`"),
            ));
        }
        self.position += 1;
        match self.advance() {
            (Token::Identifier(member), _) => Ok(member),
            (other, member_column) => Err(ExprError::new(
                member_column,
                format!(
                    "expected a function name after `{namespace}.`, found {}",
                    other.describe()
                ),
            )),
        }
    }
}

fn unknown_identifier_message(name: &str) -> String {
    if FORBIDDEN_NAMES.contains(&name) {
        format!("`{name}` is forbidden in ChatMD expressions")
    } else if KEYWORDS.contains(&name) {
        format!("JavaScript keyword `{name}` is not allowed in an expression")
    } else if matches!(name, "null" | "NaN" | "Infinity") {
        format!(
            "`{name}` is not supported (literals are numbers, \"strings\", true, false and undefined)"
        )
    } else {
        format!("unknown name `{name}`: write text between double quotes and variables as `@name`")
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

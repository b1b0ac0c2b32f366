//! The parser: tokens to the whitelisted AST, bounded in depth, with errors at a column.

use super::lex::Token;
use super::{
    BinaryOp, Expr, ExprError, Function, MAX_AST_DEPTH, MAX_NESTING, MAX_OBJECT_KEYS, Method,
    Result, UnaryOp,
};

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

pub(super) struct Parser {
    pub(super) tokens: Vec<(Token, usize)>,
    pub(super) position: usize,
    pub(super) nesting: usize,
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
    pub(super) fn parse_whole(&mut self) -> Result<Expr> {
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

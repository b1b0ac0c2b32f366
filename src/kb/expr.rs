//! Expressions of conditions and `calc(…)` (temporary stand-in until the real parser lands).

#[derive(Debug, Clone, PartialEq)]
pub struct Expr(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (column {column})")]
pub struct ExprError {
    pub column: u32,
    pub message: String,
}

impl Expr {
    pub fn never() -> Self {
        Expr("false".into())
    }
    pub fn undefined() -> Self {
        Expr("undefined".into())
    }
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(p) = rest.find('@') {
            let name: String = rest[p + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[p + 1 + name.len()..];
            out.push(name);
        }
        out
    }
}

pub fn parse_condition(text: &str) -> Result<Expr, ExprError> {
    parse_calc(text)
}

pub fn parse_calc(text: &str) -> Result<Expr, ExprError> {
    if let Some(p) = text.find("eval") {
        return Err(ExprError {
            column: p as u32,
            message: "`eval` is not allowed".into(),
        });
    }
    Ok(Expr(text.to_string()))
}

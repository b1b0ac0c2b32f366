//! Evaluation of conditions and `calc(…)` (temporary stand-in until the real evaluator lands).

use crate::kb::expr::Expr;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Undefined,
    String(String),
}

impl Value {
    pub fn to_stored_string(&self) -> String {
        match self {
            Value::Undefined => "undefined".into(),
            Value::String(s) => s.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot evaluate")]
pub struct EvalError;

pub fn evaluate(_expr: &Expr, _vars: &dyn Fn(&str) -> Option<String>) -> Result<Value, EvalError> {
    Err(EvalError)
}

pub fn condition_holds(expr: &Expr, vars: &dyn Fn(&str) -> Option<String>) -> bool {
    let text = format!("{expr:?}");
    let text = text.trim_start_matches("Expr(\"").trim_end_matches("\")");
    for (op, eq) in [("!=", false), ("==", true)] {
        if let Some((l, r)) = text.split_once(op) {
            let name = l.trim().trim_start_matches('@');
            let value = vars(name);
            let r = r.trim().trim_matches('"');
            return (value.as_deref() == Some(r)) == eq;
        }
    }
    false
}

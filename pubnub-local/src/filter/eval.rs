//! Evaluation of a parsed filter against a message (PROTOCOL.md §11.3).
//!
//! Values are JSON; a missing field, a type mismatch or a division by zero yields "no value",
//! and any comparison involving no value is false, so the message is filtered out.

use serde_json::Value;

use super::parser::{ArithOp, CmpOp, Expr, Root, Segment};

pub(super) struct Input<'a> {
    pub(super) meta: Option<&'a Value>,
    pub(super) data: &'a Value,
}

pub(super) fn condition(expr: &Expr, input: &Input<'_>) -> bool {
    match expr {
        Expr::Or(a, b) => condition(a, input) || condition(b, input),
        Expr::And(a, b) => condition(a, input) && condition(b, input),
        Expr::Not(a) => !condition(a, input),
        Expr::Compare(op, a, b) => match (value(a, input), value(b, input)) {
            (Some(a), Some(b)) => compare(*op, &a, &b),
            _ => false,
        },
        Expr::Like(a, b) => match (value(a, input), value(b, input)) {
            (Some(a), Some(Value::String(pattern))) => {
                scalar_text(&a).is_some_and(|text| like(&text, &pattern))
            }
            _ => false,
        },
        Expr::Contains(a, b) => match (value(a, input), value(b, input)) {
            (Some(Value::Array(items)), Some(needle)) => {
                items.iter().any(|item| equal(item, &needle))
            }
            (Some(Value::String(hay)), Some(needle)) => {
                scalar_text(&needle).is_some_and(|needle| hay.contains(&needle))
            }
            _ => false,
        },
        // The parser only lets conditions reach here.
        _ => false,
    }
}

fn value(expr: &Expr, input: &Input<'_>) -> Option<Value> {
    match expr {
        Expr::Literal(v) => Some(v.clone()),
        Expr::Set(items) => items
            .iter()
            .map(|item| value(item, input))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        Expr::Path(root, segments) => {
            let mut current = match root {
                Root::Meta => input.meta?,
                Root::Data => input.data,
            };
            for segment in segments {
                current = match (segment, current) {
                    (Segment::Field(name), Value::Object(map)) => map.get(name)?,
                    (Segment::Index(i), Value::Array(items)) => items.get(*i)?,
                    (Segment::Index(i), Value::Object(map)) => map.get(&i.to_string())?,
                    _ => return None,
                };
            }
            Some(current.clone())
        }
        Expr::Neg(a) => number_value(-number(&value(a, input)?)?),
        Expr::Arith(op, a, b) => {
            let a = number(&value(a, input)?)?;
            let b = number(&value(b, input)?)?;
            let result = match op {
                ArithOp::Add => a + b,
                ArithOp::Sub => a - b,
                ArithOp::Mul => a * b,
                ArithOp::Div if b == 0.0 => return None,
                ArithOp::Div => a / b,
                ArithOp::Rem if b == 0.0 => return None,
                ArithOp::Rem => a % b,
            };
            number_value(result)
        }
        _ => None,
    }
}

fn number_value(n: f64) -> Option<Value> {
    serde_json::Number::from_f64(n).map(Value::Number)
}

/// A number, or a string that holds one: `"55" > 50` is true, as the service does it.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    let numeric = matches!(a, Value::Number(_)) || matches!(b, Value::Number(_));
    if numeric {
        if let (Some(x), Some(y)) = (number(a), number(b)) {
            return x == y;
        }
    }
    match (a, b) {
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => a == b,
        _ => match (scalar_text(a), scalar_text(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    match op {
        CmpOp::Eq => equal(a, b),
        CmpOp::Ne => !equal(a, b),
        _ => {
            let (Some(x), Some(y)) = (number(a), number(b)) else {
                return false;
            };
            match op {
                CmpOp::Gt => x > y,
                CmpOp::Ge => x >= y,
                CmpOp::Lt => x < y,
                _ => x <= y,
            }
        }
    }
}

/// Case-insensitive glob: `*` matches any run of characters, `\*` a literal star.
fn like(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum P {
        Any,
        Char(char),
    }
    let mut parts = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'*') {
            chars.next();
            parts.push(P::Char('*'));
        } else if c == '*' {
            parts.push(P::Any);
        } else {
            parts.extend(c.to_lowercase().map(P::Char));
        }
    }
    let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    // Classic greedy matcher with backtracking to the last star: linear space, and
    // O(text × pattern) time at worst, which is fine for inputs capped in length.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match parts.get(p) {
            Some(P::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(P::Any) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    parts[p..].iter().all(|part| *part == P::Any)
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_globs() {
        assert!(like("blue12367", "blue*"));
        assert!(like("BLUE", "blue"));
        assert!(like("my-sports-news", "*sports*"));
        assert!(like("xsuccess", "*success"));
        assert!(!like("success!", "*success"));
        assert!(like("a*b", "a\\*b"));
        assert!(!like("axb", "a\\*b"));
        assert!(like("", "*"));
        assert!(!like("", "a"));
    }
}

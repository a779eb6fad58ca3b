//! Subscribe filter expressions (`filter-expr`, PROTOCOL.md §11): a tokenizer, a
//! recursive-descent parser and an evaluator over a message's `meta` and payload.
//!
//! ```
//! use pubnub_local::filter::Filter;
//! use serde_json::json;
//!
//! let filter = Filter::parse("meta.priority == 'high' && data.score > 80").unwrap();
//! assert!(filter.matches(Some(&json!({"priority": "high"})), &json!({"score": 90})));
//! assert!(Filter::parse("meta.a ==").is_err());
//! ```

mod eval;
mod lexer;
mod parser;

use serde_json::Value;

/// Longest expression accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 2048;

/// Most tokens in one expression; bounds parse and evaluation depth on hostile input.
const MAX_TOKENS: usize = 512;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: parser::Expr,
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {position}: {message}")]
pub struct FilterError {
    /// Character offset (in the tokenizer) or token index (in the parser) of the problem.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl FilterError {
    fn at(position: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            position,
            message: message.into(),
        }
    }
}

impl Filter {
    /// Parses an expression; never panics, whatever the input.
    pub fn parse(expression: &str) -> Result<Filter, FilterError> {
        if expression.chars().count() > MAX_FILTER_CHARS {
            return Err(FilterError::at(MAX_FILTER_CHARS, "expression too long"));
        }
        let tokens = lexer::tokenize(expression)?;
        if tokens.len() > MAX_TOKENS {
            return Err(FilterError::at(
                MAX_TOKENS,
                "expression has too many tokens",
            ));
        }
        if tokens.is_empty() {
            return Err(FilterError::at(0, "empty expression"));
        }
        Ok(Filter {
            expr: parser::parse(tokens)?,
        })
    }

    /// Whether a message with this `meta` and payload passes the filter. Bare identifiers
    /// and `meta.…` read `meta`; `data.…` reads the payload.
    pub fn matches(&self, meta: Option<&Value>, data: &Value) -> bool {
        eval::condition(&self.expr, &eval::Input { meta, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(expr: &str, meta: Value, data: Value) -> bool {
        Filter::parse(expr)
            .unwrap_or_else(|e| panic!("{expr:?}: {e}"))
            .matches(Some(&meta), &data)
    }

    #[test]
    fn examples_from_the_protocol() {
        let cases: &[(&str, Value, Value, bool)] = &[
            (
                "meta.priority == \"high\" && (data.score > 80)",
                json!({"priority": "high"}),
                json!({"score": 81}),
                true,
            ),
            (
                "meta.priority == \"high\" && (data.score > 80)",
                json!({"priority": "high"}),
                json!({"score": 80}),
                false,
            ),
            (
                "uuid != 'my-user-id'",
                json!({"uuid": "other"}),
                json!(1),
                true,
            ),
            (
                "uuid != 'my-user-id'",
                json!({"uuid": "my-user-id"}),
                json!(1),
                false,
            ),
            ("uuid != 'my-user-id'", json!({}), json!(1), false),
            (
                "region == 'us-west' && priority == 'high'",
                json!({"region": "us-west", "priority": "high"}),
                json!(null),
                true,
            ),
            (
                "type LIKE 'sport-*'",
                json!({"type": "Sport-ski"}),
                json!(0),
                true,
            ),
            (
                "type like 'sport-*'",
                json!({"type": "news"}),
                json!(0),
                false,
            ),
            (
                "!(data.type == \"system\")",
                json!({}),
                json!({"type": "user"}),
                true,
            ),
            (
                "!(data.type == \"system\")",
                json!({}),
                json!({"type": "system"}),
                false,
            ),
            (
                "meta.eventId % 100 == 0",
                json!({"eventId": 300}),
                json!(0),
                true,
            ),
            (
                "meta.eventId % 100 == 0",
                json!({"eventId": 301}),
                json!(0),
                false,
            ),
            (
                "('fr','en','de') contains language",
                json!({"language": "en"}),
                json!(0),
                true,
            ),
            (
                "('fr','en','de') contains language",
                json!({"language": "es"}),
                json!(0),
                false,
            ),
            (
                "temperature > 50",
                json!({"temperature": "55"}),
                json!(0),
                true,
            ),
            (
                "message_part LIKE '*success*'",
                json!({"message_part": "a success!"}),
                json!(0),
                true,
            ),
            (
                "meta.tags CONTAINS \"urgent\"",
                json!({"tags": ["x", "urgent"]}),
                json!(0),
                true,
            ),
            (
                "meta.title CONTAINS 'ell'",
                json!({"title": "hello"}),
                json!(0),
                true,
            ),
            (
                "data.colors[0] == 'blue'",
                json!({}),
                json!({"colors": ["blue"]}),
                true,
            ),
            (
                "data.config['enabled'] == \"true\"",
                json!({}),
                json!({"config": {"enabled": "true"}}),
                true,
            ),
            (
                "a == 1 || b == 2 && c == 3",
                json!({"a": 1}),
                json!(0),
                true,
            ),
            (
                "(a == 1 || b == 2) && c == 3",
                json!({"a": 1}),
                json!(0),
                false,
            ),
            ("a + 2 * 3 == 7", json!({"a": 1}), json!(0), true),
            ("(a + 2) * 3 == 9", json!({"a": 1}), json!(0), true),
            ("-a < 0", json!({"a": 1}), json!(0), true),
            ("a / 0 == 1", json!({"a": 1}), json!(0), false),
            ("flag == true", json!({"flag": true}), json!(0), true),
            ("n >= 2.5 && n <= 2.5", json!({"n": 2.5}), json!(0), true),
        ];
        for (expr, meta, data, expected) in cases {
            assert_eq!(
                check(expr, meta.clone(), data.clone()),
                *expected,
                "{expr} with {meta} / {data}"
            );
        }
    }

    #[test]
    fn missing_meta_filters_out() {
        let filter = Filter::parse("a == 1").unwrap();
        assert!(!filter.matches(None, &json!({"a": 1})));
    }

    #[test]
    fn bad_expressions_are_errors_not_panics() {
        let deep_parens = format!("{}a == 1{}", "(".repeat(200), ")".repeat(200));
        let deep_nots = format!("{}a == 1", "!".repeat(300));
        let deep_neg = format!("{}a == 1", "-".repeat(300));
        let long = format!("a == '{}'", "x".repeat(3000));
        let many = vec!["a == 1"; 200].join(" && ");
        for bad in [
            "",
            "   ",
            "meta.a ==",
            "== 1",
            "a",
            "a + 1",
            "a && 1",
            "1 && a == 1",
            "(a == 1",
            "a == 1)",
            "a == (1, 2",
            "a LIKE",
            "a[",
            "a[-1] == 1",
            "a['x' == 1",
            "meta. == 1",
            "'x' == 'x' 'y'",
            "((a == 1) == 2)",
            "a == 1 ! b",
            "\u{0}",
            deep_parens.as_str(),
            deep_nots.as_str(),
            deep_neg.as_str(),
            long.as_str(),
            many.as_str(),
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        // A cheap deterministic fuzz: every prefix and suffix of a rich expression.
        let source =
            "!(meta.a[0]['k'] >= -1.5e3 && ('x','y') contains data.b) || c LIKE '*\\*z*' % 2";
        let chars: Vec<char> = source.chars().collect();
        for i in 0..chars.len() {
            let head: String = chars[..i].iter().collect();
            let tail: String = chars[i..].iter().collect();
            for expr in [head, tail] {
                if let Ok(f) = Filter::parse(&expr) {
                    f.matches(
                        Some(&json!({"a": [{"k": 1}], "c": "z"})),
                        &json!({"b": "x"}),
                    );
                }
            }
        }
    }
}

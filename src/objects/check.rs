//! Checks of App Context input, done before anything is sent.

use serde_json::Value;

use crate::error::Error;

use super::{MAX_ID_CHARS, MAX_LIMIT};

/// Longest filter expression sent, in characters (the URL must stay reasonable).
pub(crate) const MAX_FILTER_CHARS: usize = 2048;

/// An id of a user or a channel: 1 to [`MAX_ID_CHARS`] characters, not blank, no control
/// characters, not a dot segment (it travels as a path segment).
pub(crate) fn id(what: &str, id: &str) -> Result<(), Error> {
    if id.trim().is_empty() {
        return Err(Error::invalid(format!("the {what} id is empty")));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(Error::invalid(format!(
            "the {what} id is longer than {MAX_ID_CHARS} characters"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "the {what} id contains a control character"
        )));
    }
    if id == "." || id == ".." {
        return Err(Error::invalid(format!(
            "the {what} id cannot be a dot segment"
        )));
    }
    Ok(())
}

/// `custom`: a JSON object whose values are strings, numbers, booleans or null; the service
/// stores no nested objects or arrays there.
pub(crate) fn custom(custom: &Value) -> Result<(), Error> {
    let Value::Object(map) = custom else {
        return Err(Error::invalid("custom must be a JSON object"));
    };
    for (key, value) in map {
        if matches!(value, Value::Object(_) | Value::Array(_)) {
            return Err(Error::invalid(format!(
                "custom field {key:?} is not a scalar: custom values must be strings, numbers, booleans or null"
            )));
        }
    }
    Ok(())
}

/// A page size: 1 to [`MAX_LIMIT`].
pub(crate) fn limit(limit: usize) -> Result<(), Error> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "limit {limit} is out of range: 1 to {MAX_LIMIT}"
        )))
    }
}

/// A filter expression: not blank, not too long, quotes closed and parentheses balanced
/// (outside quotes). The service checks the rest of the grammar.
pub(crate) fn filter(expression: &str) -> Result<(), Error> {
    if expression.trim().is_empty() {
        return Err(Error::invalid("the filter expression is empty"));
    }
    if expression.chars().count() > MAX_FILTER_CHARS {
        return Err(Error::invalid(format!(
            "the filter expression is longer than {MAX_FILTER_CHARS} characters"
        )));
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in expression.chars().enumerate() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    Error::invalid(format!(
                        "invalid filter expression: unmatched ')' at character {i}"
                    ))
                })?;
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return Err(Error::invalid(
            "invalid filter expression: a quoted string is not closed",
        ));
    }
    if depth > 0 {
        return Err(Error::invalid(
            "invalid filter expression: a '(' is not closed",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids() {
        assert!(id("user", "alice").is_ok());
        assert!(id("user", &"u".repeat(MAX_ID_CHARS)).is_ok());
        for bad in ["", " ", "a\nb", ".", "..", &"u".repeat(MAX_ID_CHARS + 1)] {
            assert!(id("user", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn customs() {
        assert!(custom(&json!({"a": 1, "b": "x", "c": true, "d": null})).is_ok());
        for bad in [
            json!([]),
            json!("x"),
            json!({"a": {"b": 1}}),
            json!({"a": [1]}),
        ] {
            assert!(custom(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert!(limit(1).is_ok());
        assert!(limit(100).is_ok());
        assert!(limit(0).is_err());
        assert!(limit(101).is_err());
    }

    #[test]
    fn filters() {
        for good in [
            "name == 'alice'",
            "(name like 'a*' || id == \"b\") && custom.x != 'y'",
            "name == 'it\\'s (fine'",
        ] {
            assert!(filter(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "  ",
            "(name == 'a'",
            "name == 'a')",
            ")(",
            "name == 'a",
            "name == \"a'",
        ] {
            assert!(filter(bad).is_err(), "{bad:?}");
        }
    }
}

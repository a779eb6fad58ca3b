//! Tokens of a filter expression.

use super::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Bool(bool),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Not,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Like,
    Contains,
}

/// Splits an expression into tokens; positions in errors are character offsets.
pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        let (token, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => (Token::LParen, 1),
            ')' => (Token::RParen, 1),
            '[' => (Token::LBracket, 1),
            ']' => (Token::RBracket, 1),
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) => (Token::Dot, 1),
            ',' => (Token::Comma, 1),
            '+' => (Token::Plus, 1),
            '-' => (Token::Minus, 1),
            '*' => (Token::Star, 1),
            '/' => (Token::Slash, 1),
            '%' => (Token::Percent, 1),
            '=' if next == Some('=') => (Token::Eq, 2),
            '!' if next == Some('=') => (Token::Ne, 2),
            '!' => (Token::Not, 1),
            '>' if next == Some('=') => (Token::Ge, 2),
            '>' => (Token::Gt, 1),
            '<' if next == Some('=') => (Token::Le, 2),
            '<' => (Token::Lt, 1),
            '&' if next == Some('&') => (Token::And, 2),
            '|' if next == Some('|') => (Token::Or, 2),
            '\'' | '"' => {
                let (text, len) = string(&chars[i..], i)?;
                (Token::Str(text), len)
            }
            c if c.is_ascii_digit() || c == '.' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit() || **c == '.')
                    .count();
                let text: String = chars[i..i + len].iter().collect();
                let value = text
                    .parse::<f64>()
                    .map_err(|_| FilterError::at(i, format!("bad number {text:?}")))?;
                (Token::Num(value), len)
            }
            c if c.is_alphabetic() || c == '_' || c == '$' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_' || **c == '$')
                    .count();
                let word: String = chars[i..i + len].iter().collect();
                let token = match word.to_ascii_lowercase().as_str() {
                    "like" => Token::Like,
                    "contains" => Token::Contains,
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    _ => Token::Ident(word),
                };
                (token, len)
            }
            other => {
                return Err(FilterError::at(
                    i,
                    format!("unexpected character {other:?}"),
                ))
            }
        };
        tokens.push(token);
        i += len;
    }
    Ok(tokens)
}

/// A quoted string starting at `chars[0]`; backslash escapes the next character, except
/// that `\*` stays as written so LIKE can tell a literal star from a wildcard.
fn string(chars: &[char], offset: usize) -> Result<(String, usize), FilterError> {
    let quote = chars[0];
    let mut out = String::new();
    let mut i = 1;
    loop {
        match chars.get(i) {
            None => return Err(FilterError::at(offset, "unterminated string")),
            Some(&c) if c == quote => return Ok((out, i + 1)),
            Some('\\') => {
                match chars.get(i + 1) {
                    Some('*') => out.push_str("\\*"),
                    Some(&escaped) => out.push(escaped),
                    None => return Err(FilterError::at(offset, "unterminated string")),
                }
                i += 2;
            }
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        use Token::*;
        assert_eq!(
            tokenize("meta.a[0] >= 1.5 && !(b LIKE 'x*') || c contains \"q\\\"\"").unwrap(),
            vec![
                Ident("meta".into()),
                Dot,
                Ident("a".into()),
                LBracket,
                Num(0.0),
                RBracket,
                Ge,
                Num(1.5),
                And,
                Not,
                LParen,
                Ident("b".into()),
                Like,
                Str("x*".into()),
                RParen,
                Or,
                Ident("c".into()),
                Contains,
                Str("q\"".into()),
            ]
        );
    }

    #[test]
    fn errors() {
        for bad in ["'open", "a = b", "a & b", "a | b", "#", "1..2", "'\\"] {
            assert!(tokenize(bad).is_err(), "{bad:?}");
        }
    }
}

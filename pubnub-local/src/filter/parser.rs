//! Recursive-descent parser for filter expressions (PROTOCOL.md §11.2).
//!
//! Precedence, loosest first: `||`, `&&`, `!`, comparison (`== != > < >= <= LIKE CONTAINS`),
//! `+ -`, `* / %`, unary `-`, primary. Parentheses serve three roles: grouping a condition,
//! grouping arithmetic, and a literal set `('a','b')` (two or more comma-separated items).
//! The parser builds one tree for all of them and then checks that conditions and values are
//! used where each belongs, so `(a == 1) && b` and `(a + 1) > 2` both parse and `a && 1`
//! does not.

use serde_json::Value;

use super::lexer::Token;
use super::FilterError;

/// Deepest nesting accepted; keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Root {
    Meta,
    Data,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Segment {
    Field(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    Like(Box<Expr>, Box<Expr>),
    Contains(Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Literal(Value),
    Path(Root, Vec<Segment>),
    Set(Vec<Expr>),
}

impl Expr {
    fn is_condition(&self) -> bool {
        matches!(
            self,
            Expr::Or(..)
                | Expr::And(..)
                | Expr::Not(..)
                | Expr::Compare(..)
                | Expr::Like(..)
                | Expr::Contains(..)
        )
    }
}

pub(super) fn parse(tokens: Vec<Token>) -> Result<Expr, FilterError> {
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.pos < parser.tokens.len() {
        return Err(parser.error("unexpected token after the end of the expression"));
    }
    if !expr.is_condition() {
        return Err(FilterError::at(
            0,
            "the expression is a value, not a condition",
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, message: &str) -> FilterError {
        FilterError::at(self.pos, format!("{message} (token {})", self.pos))
    }

    fn condition(&self, expr: Expr) -> Result<Expr, FilterError> {
        if expr.is_condition() {
            Ok(expr)
        } else {
            Err(self.error("expected a condition"))
        }
    }

    fn value(&self, expr: Expr) -> Result<Expr, FilterError> {
        if expr.is_condition() {
            Err(self.error("expected a value, found a condition"))
        } else {
            Ok(expr)
        }
    }

    fn descend(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("expression nested too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        self.descend()?;
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            let right = self.and()?;
            left = Expr::Or(
                Box::new(self.condition(left)?),
                Box::new(self.condition(right)?),
            );
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.not()?;
        while self.eat(&Token::And) {
            let right = self.not()?;
            left = Expr::And(
                Box::new(self.condition(left)?),
                Box::new(self.condition(right)?),
            );
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        if self.eat(&Token::Not) {
            self.descend()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(self.condition(inner)?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, FilterError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Token::Eq) => Some(CmpOp::Eq),
            Some(Token::Ne) => Some(CmpOp::Ne),
            Some(Token::Gt) => Some(CmpOp::Gt),
            Some(Token::Ge) => Some(CmpOp::Ge),
            Some(Token::Lt) => Some(CmpOp::Lt),
            Some(Token::Le) => Some(CmpOp::Le),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::Compare(
                op,
                Box::new(self.value(left)?),
                Box::new(self.value(right)?),
            ));
        }
        if self.eat(&Token::Like) {
            let right = self.additive()?;
            return Ok(Expr::Like(
                Box::new(self.value(left)?),
                Box::new(self.value(right)?),
            ));
        }
        if self.eat(&Token::Contains) {
            let right = self.additive()?;
            return Ok(Expr::Contains(
                Box::new(self.value(left)?),
                Box::new(self.value(right)?),
            ));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Token::Plus) => ArithOp::Add,
                Some(Token::Minus) => ArithOp::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.multiplicative()?;
            left = Expr::Arith(
                op,
                Box::new(self.value(left)?),
                Box::new(self.value(right)?),
            );
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Star) => ArithOp::Mul,
                Some(Token::Slash) => ArithOp::Div,
                Some(Token::Percent) => ArithOp::Rem,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::Arith(
                op,
                Box::new(self.value(left)?),
                Box::new(self.value(right)?),
            );
        }
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.eat(&Token::Minus) {
            self.descend()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(self.value(inner)?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error("unexpected end of expression"));
        };
        self.pos += 1;
        match token {
            Token::Str(s) => Ok(Expr::Literal(Value::String(s))),
            Token::Num(n) => Ok(Expr::Literal(
                serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            )),
            Token::Bool(b) => Ok(Expr::Literal(Value::Bool(b))),
            Token::Ident(name) => self.path(name),
            Token::LParen => {
                let first = self.or()?;
                if !self.eat(&Token::Comma) {
                    if !self.eat(&Token::RParen) {
                        return Err(self.error("expected ')'"));
                    }
                    return Ok(first);
                }
                let mut items = vec![self.value(first)?];
                loop {
                    let item = self.additive()?;
                    items.push(self.value(item)?);
                    if self.eat(&Token::RParen) {
                        return Ok(Expr::Set(items));
                    }
                    if !self.eat(&Token::Comma) {
                        return Err(self.error("expected ',' or ')' in a set"));
                    }
                }
            }
            _ => {
                self.pos -= 1;
                Err(self.error("expected a value"))
            }
        }
    }

    /// `meta.x`, `data.x[0]['k']`, or a bare identifier, which names a meta field.
    fn path(&mut self, first: String) -> Result<Expr, FilterError> {
        let (root, mut segments) = match first.as_str() {
            "meta" => (Root::Meta, Vec::new()),
            "data" => (Root::Data, Vec::new()),
            _ => (Root::Meta, vec![Segment::Field(first)]),
        };
        loop {
            if self.eat(&Token::Dot) {
                match self.peek().cloned() {
                    Some(Token::Ident(name)) => {
                        self.pos += 1;
                        segments.push(Segment::Field(name));
                    }
                    // Keywords are fine as field names after a dot: `meta.like`.
                    Some(Token::Like) => {
                        self.pos += 1;
                        segments.push(Segment::Field("like".into()));
                    }
                    Some(Token::Contains) => {
                        self.pos += 1;
                        segments.push(Segment::Field("contains".into()));
                    }
                    _ => return Err(self.error("expected a field name after '.'")),
                }
            } else if self.eat(&Token::LBracket) {
                let segment = match self.peek().cloned() {
                    Some(Token::Num(n)) if n >= 0.0 && n.fract() == 0.0 && n < 1e9 => {
                        Segment::Index(n as usize)
                    }
                    Some(Token::Str(s)) => Segment::Field(s),
                    _ => return Err(self.error("expected an index or a quoted key")),
                };
                self.pos += 1;
                if !self.eat(&Token::RBracket) {
                    return Err(self.error("expected ']'"));
                }
                segments.push(segment);
            } else {
                return Ok(Expr::Path(root, segments));
            }
        }
    }
}

//! The expression grammar (a PEG, compiled by the `peg` crate) and its syntax tree with source
//! spans, so that every later error can name the column of the offending token.
//!
//! ```text
//! expr    := or
//! or      := and ("||" and)*
//! and     := not ("&&" not)*
//! not     := "!" not | cmp
//! cmp     := sum (("<=" | ">=" | "==" | "!=" | "<" | ">") sum)?
//! sum     := product (("+" | "-") product)*
//! product := unary (("*" | "/") unary)*
//! unary   := "-" unary | "+" unary | power
//! power   := atom ("^" unary)?              (right-associative: 2^-x, a^b^c = a^(b^c))
//! atom    := number | name "(" expr ("," expr)* ")" | name | "(" expr ")"
//! ```
//!
//! `-x^2` is `-(x^2)`, as in mathematics.

use crate::error::{Error, Result};

/// Byte offsets `[start, end)` of a node in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Binary operators of the syntax tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

/// A node of the syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    Num(f64, Span),
    Name(String, Span),
    Neg(Box<Ast>, Span),
    Not(Box<Ast>, Span),
    Bin(BinOp, Box<Ast>, Box<Ast>, Span),
    Call(String, Span, Vec<Ast>, Span),
}

impl Ast {
    /// The span of the whole node.
    pub fn span(&self) -> Span {
        match self {
            Ast::Num(_, s) | Ast::Name(_, s) | Ast::Neg(_, s) | Ast::Not(_, s) => *s,
            Ast::Bin(_, _, _, s) | Ast::Call(_, _, _, s) => *s,
        }
    }
}

fn bin(op: BinOp, l: Ast, r: Ast) -> Ast {
    let span = Span {
        start: l.span().start,
        end: r.span().end,
    };
    Ast::Bin(op, Box::new(l), Box::new(r), span)
}

fn fold(first: Ast, rest: Vec<(BinOp, Ast)>) -> Ast {
    rest.into_iter().fold(first, |l, (op, r)| bin(op, l, r))
}

peg::parser! {
    grammar grammar() for str {
        rule _() = quiet!{ ([' ' | '\t' | '\n' | '\r'] / "#" [^ '\n']*)* }

        rule number() -> Ast
            = s:position!() n:$(quiet!{
                (['0'..='9']+ ("." ['0'..='9']*)? / "." ['0'..='9']+)
                (['e' | 'E'] ['+' | '-']? ['0'..='9']+)?
              }) e:position!() !['a'..='z' | 'A'..='Z' | '_' | '0'..='9']
            {? n.parse::<f64>().map(|v| Ast::Num(v, Span { start: s, end: e })).or(Err("a number")) }
            / expected!("a number")

        rule name() -> (String, Span)
            = s:position!() n:$(quiet!{['a'..='z' | 'A'..='Z' | '_'] ['a'..='z' | 'A'..='Z' | '0'..='9' | '_']*})
              e:position!()
            { (n.to_string(), Span { start: s, end: e }) }
            / expected!("a name")

        rule atom() -> Ast
            = number()
            / n:name() _ "(" _ args:(expr() ** (_ "," _)) _ ")" e:position!()
              { Ast::Call(n.0, n.1, args, Span { start: n.1.start, end: e }) }
            / n:name() { Ast::Name(n.0, n.1) }
            / "(" _ x:expr() _ ")" { x }

        rule power() -> Ast
            = a:atom() _ "^" _ b:unary() { bin(BinOp::Pow, a, b) }
            / atom()

        rule unary() -> Ast
            = s:position!() "-" _ x:unary() { let e = x.span().end; Ast::Neg(Box::new(x), Span { start: s, end: e }) }
            / "+" _ x:unary() { x }
            / power()

        rule product() -> Ast
            = f:unary() rest:(_ op:$("*" / "/") _ x:unary() { (if op == "*" { BinOp::Mul } else { BinOp::Div }, x) })*
            { fold(f, rest) }

        rule sum() -> Ast
            = f:product() rest:(_ op:$("+" / "-") _ x:product() { (if op == "+" { BinOp::Add } else { BinOp::Sub }, x) })*
            { fold(f, rest) }

        rule cmp_op() -> BinOp
            = "<=" { BinOp::Le } / ">=" { BinOp::Ge } / "==" { BinOp::Eq } / "!=" { BinOp::Ne }
            / "<" { BinOp::Lt } / ">" { BinOp::Gt }

        rule cmp() -> Ast
            = l:sum() _ op:cmp_op() _ r:sum() { bin(op, l, r) }
            / sum()

        rule not() -> Ast
            = s:position!() "!" !"=" _ x:not() { let e = x.span().end; Ast::Not(Box::new(x), Span { start: s, end: e }) }
            / cmp()

        rule and() -> Ast
            = f:not() rest:(_ "&&" _ x:not() { (BinOp::And, x) })* { fold(f, rest) }

        rule or() -> Ast
            = f:and() rest:(_ "||" _ x:and() { (BinOp::Or, x) })* { fold(f, rest) }

        rule expr() -> Ast = or()

        pub rule top() -> Ast = _ x:expr() _ { x }
    }
}

/// 1-based column of byte offset `at` in `src` (counted in characters, so `μ` counts once).
pub fn column(src: &str, at: usize) -> usize {
    src[..at.min(src.len())].chars().count() + 1
}

/// Parses `src`; a syntax error names the column and what was expected there.
pub fn parse(src: &str) -> Result<Ast> {
    grammar::top(src).map_err(|e| {
        let at = e.location.offset;
        let found = src[at.min(src.len())..]
            .chars()
            .next()
            .map_or("the end of the expression".to_string(), |c| {
                format!("'{c}'")
            });
        let mut expected: Vec<&str> = e.expected.tokens().collect();
        expected.sort();
        expected.dedup();
        Error::input(format!(
            "syntax error at column {}: found {found}, expected {}",
            column(src, at),
            expected.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(a: &Ast) -> String {
        match a {
            Ast::Num(v, _) => format!("{v}"),
            Ast::Name(n, _) => n.clone(),
            Ast::Neg(x, _) => format!("(-{})", show(x)),
            Ast::Not(x, _) => format!("(!{})", show(x)),
            Ast::Bin(op, l, r, _) => format!("({} {} {})", show(l), op.symbol(), show(r)),
            Ast::Call(f, _, args, _) => {
                format!(
                    "{f}({})",
                    args.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            }
        }
    }

    #[test]
    fn precedence_and_associativity_follow_mathematics() {
        let p = |s: &str| show(&parse(s).unwrap());
        assert_eq!(p("1 + 2 * 3"), "(1 + (2 * 3))");
        assert_eq!(p("a - b - c"), "((a - b) - c)");
        assert_eq!(p("a / b / c"), "((a / b) / c)");
        assert_eq!(p("-x^2"), "(-(x ^ 2))");
        assert_eq!(p("a^b^c"), "(a ^ (b ^ c))");
        assert_eq!(p("2^-x"), "(2 ^ (-x))");
        assert_eq!(
            p("x < 1 && y >= 2 || !z"),
            "(((x < 1) && (y >= 2)) || (!z))"
        );
        assert_eq!(p("f(x, 1.5e-3, .5)"), "f(x, 0.0015, 0.5)");
        assert_eq!(p(" (x - mu) # a comment\n / s"), "((x - mu) / s)");
    }

    #[test]
    fn spans_are_byte_ranges_of_the_source() {
        let src = "log(sigma) + x";
        let Ast::Bin(_, l, r, s) = parse(src).unwrap() else {
            panic!()
        };
        assert_eq!((s.start, s.end), (0, 14));
        assert_eq!(&src[l.span().start..l.span().end], "log(sigma)");
        assert_eq!(r.span().start, 13);
        assert_eq!(column("μ + sigam", 4), 4);
    }

    #[test]
    fn syntax_errors_name_the_column() {
        let e = parse("x + * 2").unwrap_err().to_string();
        assert!(e.contains("column 5"), "{e}");
        let e = parse("log(x").unwrap_err().to_string();
        assert!(
            e.contains("column 6") && e.contains("end of the expression"),
            "{e}"
        );
        assert!(parse("2x").is_err());
        assert!(parse("").is_err());
    }
}

//! Name resolution and type checking: turns the syntax tree into (a) the node of the split's
//! graph, with every built-in family's log-density expanded into the language (so the split can
//! hoist its pieces), and (b) the tree the f64 reference evaluates, which keeps the family calls
//! as calls of the family's exact `ln_pdf` — so an expansion mistake shows up as a disagreement.
//! Errors name the column of the offending token.

use super::graph::{Graph, Id, Op1, Op2};
use super::interval::{self, Range};
use super::parse::{self, column, Ast, BinOp, Span};
use crate::error::{Error, Result};
use crate::model::{Family, REGISTRY};

/// The tree the f64 reference path evaluates: the whole expression, unsplit.
#[derive(Clone)]
pub enum RefExpr {
    Num(f64),
    X,
    P(usize),
    U(Op1, Box<RefExpr>),
    B(Op2, Box<RefExpr>, Box<RefExpr>),
    PowI(Box<RefExpr>, i32),
    Sel(Box<RefExpr>, Box<RefExpr>, Box<RefExpr>),
    Lse(Vec<RefExpr>),
    /// A built-in family's exact log-density: `ln_pdf(args[0], args[1..])`, NaN where the
    /// parameters are not valid.
    Fam(&'static dyn Family, Vec<RefExpr>),
}

impl std::fmt::Debug for RefExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefExpr::Fam(fam, args) => write!(f, "Fam({}, {args:?})", fam.name()),
            RefExpr::Num(v) => write!(f, "{v}"),
            RefExpr::X => write!(f, "x"),
            RefExpr::P(j) => write!(f, "p{j}"),
            RefExpr::U(o, a) => write!(f, "{o:?}({a:?})"),
            RefExpr::B(o, a, b) => write!(f, "{o:?}({a:?}, {b:?})"),
            RefExpr::PowI(a, n) => write!(f, "({a:?})^{n}"),
            RefExpr::Sel(c, a, b) => write!(f, "select({c:?}, {a:?}, {b:?})"),
            RefExpr::Lse(v) => write!(f, "logsumexp({v:?})"),
        }
    }
}

/// What a model's names mean.
pub struct Scope<'a> {
    /// Parameter names, in order.
    pub params: &'a [String],
    /// Each parameter's interval (from its domain), for the division check.
    pub ranges: &'a [Range],
    /// The support of x.
    pub support: Range,
}

/// Named constants.
const CONSTANTS: &[(&str, f64)] = &[
    ("pi", std::f64::consts::PI),
    ("e", std::f64::consts::E),
    ("inf", f64::INFINITY),
];

/// One-argument functions.
const FUNCTIONS1: &[(&str, Op1)] = &[
    ("log", Op1::Log),
    ("exp", Op1::Exp),
    ("sqrt", Op1::Sqrt),
    ("abs", Op1::Abs),
    ("log1p", Op1::Log1p),
    ("expm1", Op1::Expm1),
    ("lgamma", Op1::Lgamma),
    ("erf", Op1::Erf),
    ("erfc", Op1::Erfc),
    ("tanh", Op1::Tanh),
    ("floor", Op1::Floor),
];

/// Every function name of the language other than the families' (for messages).
fn function_names() -> String {
    let mut v: Vec<&str> = FUNCTIONS1.iter().map(|f| f.0).collect();
    v.extend(["pow", "min", "max", "logsumexp", "select", "if"]);
    v.join(", ")
}

/// Whether `name` is taken by the language (x, a constant or a function).
pub fn is_reserved(name: &str) -> bool {
    name == "x"
        || CONSTANTS.iter().any(|c| c.0 == name)
        || FUNCTIONS1.iter().any(|c| c.0 == name)
        || ["pow", "min", "max", "logsumexp", "select", "if"].contains(&name)
        || family_of(name).is_some()
}

/// The built-in family of `NAME_lpdf` (continuous) or `NAME_lpmf` (discrete).
fn family_of(name: &str) -> Option<&'static dyn Family> {
    REGISTRY.iter().copied().find(|f| {
        let suffix = if f.integer_data() { "_lpmf" } else { "_lpdf" };
        name.strip_suffix(suffix) == Some(f.name())
    })
}

/// The family whose log-density is misspelt with the other suffix (`poisson_lpdf`).
fn family_with_wrong_suffix(name: &str) -> Option<&'static dyn Family> {
    REGISTRY.iter().copied().find(|f| {
        let other = if f.integer_data() { "_lpdf" } else { "_lpmf" };
        name.strip_suffix(other) == Some(f.name())
    })
}

/// A family's log-density in the language, in terms of `x` and the family's parameter names.
/// Support conditions are written as `select(cond, value, -inf)`, which the split turns into
/// support checks.
pub fn family_template(name: &str) -> &'static str {
    match name {
        "normal" => "-log(sigma) - 0.5*log(2*pi) - 0.5*((x - mu)/sigma)^2",
        "lognormal" => {
            "select(x > 0, -log(sigma) - 0.5*log(2*pi) - log(x) - 0.5*((log(x) - mu)/sigma)^2, -inf)"
        }
        "exponential" => "select(x >= 0, log(rate) - rate*x, -inf)",
        "gamma" => {
            "select(x > 0, shape*log(rate) - lgamma(shape) + (shape - 1)*log(x) - rate*x, -inf)"
        }
        "beta" => {
            "select(x > 0 && x < 1, lgamma(alpha + beta) - lgamma(alpha) - lgamma(beta) + (alpha - 1)*log(x) + (beta - 1)*log1p(-x), -inf)"
        }
        "weibull" => {
            "select(x > 0, log(shape) - log(scale) + (shape - 1)*(log(x) - log(scale)) - exp(shape*(log(x) - log(scale))), -inf)"
        }
        "laplace" => "-log(2*scale) - abs(x - mu)/scale",
        "cauchy" => "-log(pi*scale) - log1p(((x - mu)/scale)^2)",
        "student_t" => {
            "lgamma((nu + 1)/2) - lgamma(nu/2) - 0.5*log(nu*pi) - log(sigma) - (nu + 1)/2*log1p(((x - mu)/sigma)^2/nu)"
        }
        "logistic" => {
            "-abs((x - mu)/scale) - 2*log1p(exp(-abs((x - mu)/scale))) - log(scale)"
        }
        "uniform" => "select(low <= x && x <= high, -log(high - low), -inf)",
        "normal_mixture" => {
            "logsumexp(log(w) - log(sigma1) - 0.5*((x - mu1)/sigma1)^2, log1p(-w) - log(sigma2) - 0.5*((x - mu2)/sigma2)^2) - 0.5*log(2*pi)"
        }
        "poisson" => "select(x >= 0, x*log(rate) - rate - lgamma(x + 1), -inf)",
        "binomial" => {
            "select(x >= 0 && x <= trials, lgamma(trials + 1) - lgamma(x + 1) - lgamma(trials - x + 1) + x*log(p) + (trials - x)*log1p(-p), -inf)"
        }
        "bernoulli" => "select(x == 0 || x == 1, x*log(p) + (1 - x)*log1p(-p), -inf)",
        "geometric" => "select(x >= 0, log(p) + x*log1p(-p), -inf)",
        "negative_binomial" => {
            "select(x >= 0, lgamma(x + r) - lgamma(r) - lgamma(x + 1) + r*log(p) + x*log1p(-p), -inf)"
        }
        _ => "",
    }
}

/// What a name stands for while resolving.
enum Names<'a> {
    /// A model: x, its parameters, constants, functions.
    Model(&'a Scope<'a>),
    /// A family template: x and the family's parameters bound to argument nodes.
    Template(Vec<(&'static str, Id)>),
}

/// The result of resolving a sub-expression.
struct Typed {
    id: Id,
    reference: RefExpr,
    boolean: bool,
    span: Span,
}

struct Resolver<'a> {
    src: &'a str,
    names: Names<'a>,
    used: Vec<bool>,
}

/// Resolves a model's expression: its graph node, its reference tree, and which parameters it
/// uses. The value must be a number (not a condition).
pub fn resolve(src: &str, scope: &Scope<'_>, g: &mut Graph) -> Result<(Id, RefExpr, Vec<bool>)> {
    let ast = parse::parse(src)?;
    let mut r = Resolver {
        src,
        names: Names::Model(scope),
        used: vec![false; scope.params.len()],
    };
    let t = r.expr(&ast, g)?;
    r.number(&t, "the log-density")?;
    Ok((t.id, t.reference, r.used))
}

impl Resolver<'_> {
    fn col(&self, s: Span) -> usize {
        column(self.src, s.start)
    }

    fn err(&self, s: Span, msg: impl std::fmt::Display) -> Error {
        Error::input(format!("{msg} at column {}", self.col(s)))
    }

    fn number(&self, t: &Typed, what: &str) -> Result<()> {
        if t.boolean {
            return Err(self.err(
                t.span,
                format!("{what} must be a number, but this is a condition"),
            ));
        }
        Ok(())
    }

    fn condition(&self, t: &Typed, what: &str) -> Result<()> {
        if !t.boolean {
            return Err(self.err(
                t.span,
                format!("{what} must be a condition (a comparison such as x > 0)"),
            ));
        }
        Ok(())
    }

    fn name(&mut self, n: &str, span: Span, g: &mut Graph) -> Result<Typed> {
        let mk = |id, reference| Typed {
            id,
            reference,
            boolean: false,
            span,
        };
        match &self.names {
            Names::Template(bound) => {
                if let Some(&(_, id)) = bound.iter().find(|b| b.0 == n) {
                    return Ok(mk(id, RefExpr::Num(f64::NAN)));
                }
            }
            Names::Model(scope) => {
                if n == "x" {
                    return Ok(mk(g.x(), RefExpr::X));
                }
                if let Some(j) = scope.params.iter().position(|p| p == n) {
                    self.used[j] = true;
                    return Ok(mk(g.param(j), RefExpr::P(j)));
                }
            }
        }
        if let Some(&(_, v)) = CONSTANTS.iter().find(|c| c.0 == n) {
            return Ok(mk(g.num(v), RefExpr::Num(v)));
        }
        let known = match &self.names {
            Names::Model(scope) if scope.params.is_empty() => "there are no parameters".into(),
            Names::Model(scope) => format!("parameters are {}", scope.params.join(", ")),
            Names::Template(b) => format!(
                "template names are {}",
                b.iter().map(|b| b.0).collect::<Vec<_>>().join(", ")
            ),
        };
        if FUNCTIONS1.iter().any(|f| f.0 == n) || family_of(n).is_some() {
            return Err(self.err(span, format!("'{n}' is a function: write {n}(...)")));
        }
        Err(self
            .err(span, format!("unknown name '{n}'"))
            .with_note(&format!("; {known}; constants are pi, e, inf")))
    }

    fn args(&mut self, args: &[Ast], g: &mut Graph) -> Result<Vec<Typed>> {
        args.iter().map(|a| self.expr(a, g)).collect()
    }

    fn arity(&self, f: &str, span: Span, got: usize, want: usize) -> Result<()> {
        if got != want {
            return Err(self.err(
                span,
                format!(
                    "'{f}' takes {want} argument{}, got {got}",
                    if want == 1 { "" } else { "s" }
                ),
            ));
        }
        Ok(())
    }

    fn call(
        &mut self,
        f: &str,
        fspan: Span,
        args: &[Ast],
        span: Span,
        g: &mut Graph,
    ) -> Result<Typed> {
        let a = self.args(args, g)?;
        let done = |id, reference, boolean| Typed {
            id,
            reference,
            boolean,
            span,
        };
        if let Some(&(_, op)) = FUNCTIONS1.iter().find(|p| p.0 == f) {
            self.arity(f, fspan, a.len(), 1)?;
            self.number(&a[0], &format!("the argument of {f}"))?;
            let a0 = a.into_iter().next().expect("one argument");
            return Ok(done(
                g.u(op, a0.id),
                RefExpr::U(op, Box::new(a0.reference)),
                false,
            ));
        }
        match f {
            "pow" => {
                self.arity(f, fspan, a.len(), 2)?;
                let mut it = a.into_iter();
                let (b, e) = (it.next().expect("2"), it.next().expect("2"));
                self.power(b, e, span, g)
            }
            "min" | "max" => {
                if a.len() < 2 {
                    return Err(self.err(
                        fspan,
                        format!("'{f}' takes at least 2 arguments, got {}", a.len()),
                    ));
                }
                let op = if f == "min" { Op2::Min } else { Op2::Max };
                for t in &a {
                    self.number(t, &format!("an argument of {f}"))?;
                }
                let mut it = a.into_iter();
                let first = it.next().expect("2");
                let (mut id, mut reference) = (first.id, first.reference);
                for t in it {
                    id = g.b(op, id, t.id);
                    reference = RefExpr::B(op, Box::new(reference), Box::new(t.reference));
                }
                Ok(done(id, reference, false))
            }
            "logsumexp" => {
                if a.is_empty() {
                    return Err(self.err(fspan, "'logsumexp' takes at least 1 argument, got 0"));
                }
                for t in &a {
                    self.number(t, "an argument of logsumexp")?;
                }
                let ids = a.iter().map(|t| t.id).collect();
                let refs = a.into_iter().map(|t| t.reference).collect();
                Ok(done(g.lse(ids), RefExpr::Lse(refs), false))
            }
            "select" | "if" => {
                self.arity(f, fspan, a.len(), 3)?;
                self.condition(&a[0], &format!("the first argument of {f}"))?;
                self.number(&a[1], &format!("the second argument of {f}"))?;
                self.number(&a[2], &format!("the third argument of {f}"))?;
                let mut it = a.into_iter();
                let (c, x, y) = (
                    it.next().expect("3"),
                    it.next().expect("3"),
                    it.next().expect("3"),
                );
                Ok(done(
                    g.sel(c.id, x.id, y.id),
                    RefExpr::Sel(
                        Box::new(c.reference),
                        Box::new(x.reference),
                        Box::new(y.reference),
                    ),
                    false,
                ))
            }
            _ => {
                if let Some(fam) = family_of(f) {
                    let want = 1 + fam.params().len();
                    if a.len() != want {
                        let names: Vec<&str> = fam.params().iter().map(|p| p.name).collect();
                        return Err(self.err(
                            fspan,
                            format!(
                                "'{f}' takes {want} arguments (x, {}), got {}",
                                names.join(", "),
                                a.len()
                            ),
                        ));
                    }
                    for t in &a {
                        self.number(t, &format!("an argument of {f}"))?;
                    }
                    let id = expand_family(fam, &a.iter().map(|t| t.id).collect::<Vec<_>>(), g)?;
                    let refs = a.into_iter().map(|t| t.reference).collect();
                    return Ok(done(id, RefExpr::Fam(fam, refs), false));
                }
                if let Some(fam) = family_with_wrong_suffix(f) {
                    let right = if fam.integer_data() { "_lpmf" } else { "_lpdf" };
                    return Err(self.err(
                        fspan,
                        format!(
                            "unknown function '{f}': {} is {}, write {}{right}",
                            fam.name(),
                            if fam.integer_data() {
                                "discrete"
                            } else {
                                "continuous"
                            },
                            fam.name()
                        ),
                    ));
                }
                let families: Vec<String> = REGISTRY
                    .iter()
                    .map(|f| {
                        format!(
                            "{}{}",
                            f.name(),
                            if f.integer_data() { "_lpmf" } else { "_lpdf" }
                        )
                    })
                    .collect();
                Err(self
                    .err(fspan, format!("unknown function '{f}'"))
                    .with_note(&format!(
                        "; functions are {} and the families' {}",
                        function_names(),
                        families.join(", ")
                    )))
            }
        }
    }

    /// base ^ exponent: an integer exponent (a number) is exact repeated multiplication, valid for
    /// any sign of the base; any other exponent is exp(e·ln b), for b ≥ 0.
    fn power(&mut self, b: Typed, e: Typed, span: Span, g: &mut Graph) -> Result<Typed> {
        self.number(&b, "the base of ^")?;
        self.number(&e, "the exponent of ^")?;
        if let Some(v) = g.num_value(e.id) {
            if v.fract() == 0.0 && v.abs() <= 64.0 {
                let n = v as i32;
                return Ok(Typed {
                    id: g.powi(b.id, n),
                    reference: RefExpr::PowI(Box::new(b.reference), n),
                    boolean: false,
                    span,
                });
            }
        }
        Ok(Typed {
            id: g.b(Op2::Pow, b.id, e.id),
            reference: RefExpr::B(Op2::Pow, Box::new(b.reference), Box::new(e.reference)),
            boolean: false,
            span,
        })
    }

    fn expr(&mut self, a: &Ast, g: &mut Graph) -> Result<Typed> {
        match a {
            Ast::Num(v, s) => Ok(Typed {
                id: g.num(*v),
                reference: RefExpr::Num(*v),
                boolean: false,
                span: *s,
            }),
            Ast::Name(n, s) => self.name(n, *s, g),
            Ast::Neg(x, s) => {
                let t = self.expr(x, g)?;
                self.number(&t, "the operand of unary -")?;
                Ok(Typed {
                    id: g.u(Op1::Neg, t.id),
                    reference: RefExpr::U(Op1::Neg, Box::new(t.reference)),
                    boolean: false,
                    span: *s,
                })
            }
            Ast::Not(x, s) => {
                let t = self.expr(x, g)?;
                self.condition(&t, "the operand of !")?;
                Ok(Typed {
                    id: g.u(Op1::Not, t.id),
                    reference: RefExpr::U(Op1::Not, Box::new(t.reference)),
                    boolean: true,
                    span: *s,
                })
            }
            Ast::Call(f, fs, args, s) => self.call(f, *fs, args, *s, g),
            Ast::Bin(op, l, r, s) => {
                let (tl, tr) = (self.expr(l, g)?, self.expr(r, g)?);
                let op2 = match op {
                    BinOp::Pow => return self.power(tl, tr, *s, g),
                    BinOp::Add => Op2::Add,
                    BinOp::Sub => Op2::Sub,
                    BinOp::Mul => Op2::Mul,
                    BinOp::Div => Op2::Div,
                    BinOp::Lt => Op2::Lt,
                    BinOp::Le => Op2::Le,
                    BinOp::Gt => Op2::Gt,
                    BinOp::Ge => Op2::Ge,
                    BinOp::Eq => Op2::Eq,
                    BinOp::Ne => Op2::Ne,
                    BinOp::And => Op2::And,
                    BinOp::Or => Op2::Or,
                };
                let logic = matches!(op2, Op2::And | Op2::Or);
                if logic {
                    self.condition(&tl, &format!("the left operand of {}", op.symbol()))?;
                    self.condition(&tr, &format!("the right operand of {}", op.symbol()))?;
                } else {
                    self.number(&tl, &format!("the left operand of {}", op.symbol()))?;
                    self.number(&tr, &format!("the right operand of {}", op.symbol()))?;
                }
                if op2 == Op2::Div {
                    self.check_divisor(&tr, r, g)?;
                }
                Ok(Typed {
                    id: g.b(op2, tl.id, tr.id),
                    reference: RefExpr::B(op2, Box::new(tl.reference), Box::new(tr.reference)),
                    boolean: logic || op2.is_cmp(),
                    span: *s,
                })
            }
        }
    }

    /// A divisor that depends on the parameters must not be able to be 0 given their domains
    /// (and the support of x).
    fn check_divisor(&self, t: &Typed, ast: &Ast, g: &Graph) -> Result<()> {
        let Names::Model(scope) = &self.names else {
            return Ok(());
        };
        if !g.has_theta(t.id) {
            return Ok(());
        }
        let r = interval::range(g, t.id, scope.ranges, scope.support);
        if r.contains_zero() {
            let text = &self.src[ast.span().start..ast.span().end];
            return Err(self.err(
                ast.span(),
                format!("division by '{text}', which can be 0 for parameters in their domains"),
            ));
        }
        Ok(())
    }
}

trait WithNote {
    fn with_note(self, note: &str) -> Self;
}

impl WithNote for Error {
    fn with_note(self, note: &str) -> Self {
        match self {
            Error::Input(m) => Error::Input(m + note),
            e => e,
        }
    }
}

/// Expands `family`'s log-density at argument nodes `args` (x first) into the graph.
pub fn expand_family(family: &'static dyn Family, args: &[Id], g: &mut Graph) -> Result<Id> {
    let src = family_template(family.name());
    let ast = parse::parse(src)?;
    let mut bound: Vec<(&'static str, Id)> = vec![("x", args[0])];
    bound.extend(
        family
            .params()
            .iter()
            .zip(&args[1..])
            .map(|(p, &a)| (p.name, a)),
    );
    let mut r = Resolver {
        src,
        names: Names::Template(bound),
        used: vec![],
    };
    Ok(r.expr(&ast, g)?.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_of<'a>(params: &'a [String], ranges: &'a [Range]) -> Scope<'a> {
        Scope {
            params,
            ranges,
            support: Range::ALL,
        }
    }

    #[test]
    fn unknown_names_point_at_their_column_and_list_the_parameters() {
        let params = vec!["mu".to_string(), "sigma".to_string()];
        let ranges = [Range::ALL, Range::new(0.0, f64::INFINITY, true, true)];
        let mut g = Graph::default();
        let e = resolve(
            "-log(sigma) - (x-mu)^2/sigam",
            &scope_of(&params, &ranges),
            &mut g,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown name 'sigam' at column 24"), "{e}");
        assert!(e.contains("parameters are mu, sigma"), "{e}");
    }

    #[test]
    fn arity_type_and_division_errors_name_the_place() {
        let params = vec!["mu".to_string(), "s".to_string()];
        let ranges = [Range::ALL, Range::ALL];
        let sc = scope_of(&params, &ranges);
        let mut g = Graph::default();
        let e = |src: &str, g: &mut Graph| resolve(src, &sc, g).unwrap_err().to_string();
        assert!(e("log(x, mu) + s", &mut g).contains("'log' takes 1 argument, got 2 at column 1"));
        assert!(e("normal_lpdf(x, mu)", &mut g).contains("takes 3 arguments (x, mu, sigma)"));
        assert!(e("x/s + mu", &mut g).contains("division by 's'"));
        assert!(e("select(x, mu, s)", &mut g).contains("must be a condition"));
        assert!(e("(x > mu) + s", &mut g).contains("must be a number"));
        assert!(e("poisson_lpdf(x, mu) + s", &mut g).contains("write poisson_lpmf"));
        assert!(e("foo(x) + mu + s", &mut g).contains("unknown function 'foo' at column 1"));
    }

    #[test]
    fn every_family_template_resolves() {
        for fam in REGISTRY {
            let mut g = Graph::default();
            let x = g.x();
            let args: Vec<Id> = std::iter::once(x)
                .chain((0..fam.params().len()).map(|j| g.param(j)))
                .collect();
            let id = expand_family(*fam, &args, &mut g).unwrap();
            let theta = fam.example_theta();
            let mut xs = vec![0.0; 16];
            use rand::SeedableRng;
            fam.sample_into(&theta, &mut rand::rngs::StdRng::seed_from_u64(1), &mut xs)
                .unwrap();
            for &x in &xs {
                let want = fam.ln_pdf(x, &theta);
                let got = g.eval(id, x, &theta);
                assert!(
                    (want - got).abs() <= 1e-12 * want.abs().max(1.0),
                    "{}: x = {x}: template {got}, ln_pdf {want}",
                    fam.name()
                );
            }
        }
    }
}

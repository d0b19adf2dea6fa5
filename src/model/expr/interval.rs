//! Interval bounds of sub-expressions from the parameters' domains and the support of x, used to
//! reject a division by something that can be 0 and to drop support conditions the declared
//! support already guarantees. Conservative: an unknown bound is ±∞.

use super::graph::{Graph, Id, Op1, Op2, N};

/// A real interval with open or closed ends (±∞ ends are open).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
    pub lo_open: bool,
    pub hi_open: bool,
}

impl Range {
    /// (−∞, ∞).
    pub const ALL: Range = Range {
        lo: f64::NEG_INFINITY,
        hi: f64::INFINITY,
        lo_open: true,
        hi_open: true,
    };

    /// [lo, hi] with the given openness.
    pub fn new(lo: f64, hi: f64, lo_open: bool, hi_open: bool) -> Range {
        Range {
            lo,
            hi,
            lo_open: lo_open || lo == f64::NEG_INFINITY,
            hi_open: hi_open || hi == f64::INFINITY,
        }
    }

    fn point(v: f64) -> Range {
        Range::new(v, v, false, false)
    }

    /// Whether the interval holds no number.
    #[allow(clippy::nonminimal_bool)]
    pub fn is_empty(&self) -> bool {
        !(self.lo < self.hi || (self.lo == self.hi && !self.lo_open && !self.hi_open))
    }

    /// Whether 0 may lie in the interval.
    pub fn contains_zero(&self) -> bool {
        (self.lo < 0.0 || (self.lo == 0.0 && !self.lo_open))
            && (self.hi > 0.0 || (self.hi == 0.0 && !self.hi_open))
    }

    /// Whether every value is > v (or ≥ v with `or_equal`).
    pub fn above(&self, v: f64, or_equal: bool) -> bool {
        self.lo > v || (self.lo == v && (self.lo_open || or_equal))
    }

    /// Whether every value is < v (or ≤ v with `or_equal`).
    pub fn below(&self, v: f64, or_equal: bool) -> bool {
        self.hi < v || (self.hi == v && (self.hi_open || or_equal))
    }

    fn neg(self) -> Range {
        Range::new(-self.hi, -self.lo, self.hi_open, self.lo_open)
    }

    fn add(self, o: Range) -> Range {
        Range::new(
            self.lo + o.lo,
            self.hi + o.hi,
            self.lo_open || o.lo_open,
            self.hi_open || o.hi_open,
        )
    }

    fn mul(self, o: Range) -> Range {
        // Corners, with 0·∞ taken as 0 (the limit of the products near that corner).
        let m = |a: f64, b: f64| if a == 0.0 || b == 0.0 { 0.0 } else { a * b };
        let corners = [
            (m(self.lo, o.lo), self.lo_open || o.lo_open),
            (m(self.lo, o.hi), self.lo_open || o.hi_open),
            (m(self.hi, o.lo), self.hi_open || o.lo_open),
            (m(self.hi, o.hi), self.hi_open || o.hi_open),
        ];
        let mut lo = corners[0];
        let mut hi = corners[0];
        for &c in &corners[1..] {
            if c.0 < lo.0 || (c.0 == lo.0 && !c.1) {
                lo = c;
            }
            if c.0 > hi.0 || (c.0 == hi.0 && !c.1) {
                hi = c;
            }
        }
        if lo.0.is_nan() || hi.0.is_nan() {
            return Range::ALL;
        }
        Range::new(lo.0, hi.0, lo.1, hi.1)
    }

    fn recip(self) -> Range {
        if self.contains_zero() {
            return Range::ALL;
        }
        let r = |v: f64| if v.is_infinite() { 0.0 } else { 1.0 / v };
        // An end at 0 (open) maps to ±∞.
        let lo = if self.hi == 0.0 {
            f64::NEG_INFINITY
        } else {
            r(self.hi)
        };
        let hi = if self.lo == 0.0 {
            f64::INFINITY
        } else {
            r(self.lo)
        };
        Range::new(lo, hi, self.hi_open, self.lo_open)
    }

    fn monotone(self, f: impl Fn(f64) -> f64) -> Range {
        Range::new(f(self.lo), f(self.hi), self.lo_open, self.hi_open)
    }
}

/// The interval of node `id`, given the parameters' intervals and x's.
pub fn range(g: &Graph, id: Id, params: &[Range], x: Range) -> Range {
    let r = |i: Id| range(g, i, params, x);
    match g.node(id) {
        N::Num(b) => Range::point(f64::from_bits(*b)),
        N::X => x,
        N::P(j) => params[*j],
        N::U(op, a) => {
            let a = r(*a);
            match op {
                Op1::Neg => a.neg(),
                Op1::Exp => a.monotone(f64::exp),
                Op1::Expm1 => a.monotone(f64::exp_m1),
                Op1::Tanh => a.monotone(f64::tanh),
                Op1::Erf => a.monotone(libm::erf),
                Op1::Erfc => Range::new(libm::erfc(a.hi), libm::erfc(a.lo), a.hi_open, a.lo_open),
                Op1::Log if a.lo >= 0.0 => a.monotone(f64::ln),
                Op1::Log1p if a.lo >= -1.0 => a.monotone(f64::ln_1p),
                Op1::Sqrt if a.lo >= 0.0 => a.monotone(f64::sqrt),
                Op1::Abs => {
                    if a.lo >= 0.0 {
                        a
                    } else if a.hi <= 0.0 {
                        a.neg()
                    } else {
                        Range::new(0.0, a.hi.max(-a.lo), false, true)
                    }
                }
                Op1::Not => Range::new(0.0, 1.0, false, false),
                _ => Range::ALL,
            }
        }
        N::B(op, a, b) => {
            let (ra, rb) = (r(*a), r(*b));
            match op {
                Op2::Add => ra.add(rb),
                Op2::Sub => ra.add(rb.neg()),
                Op2::Mul if a == b => sq(ra),
                Op2::Mul => ra.mul(rb),
                Op2::Div => ra.mul(rb.recip()),
                Op2::Min => Range::new(ra.lo.min(rb.lo), ra.hi.min(rb.hi), true, true),
                Op2::Max => Range::new(ra.lo.max(rb.lo), ra.hi.max(rb.hi), true, true),
                Op2::Pow if ra.above(0.0, false) => Range::new(0.0, f64::INFINITY, true, true),
                Op2::Pow => Range::new(0.0, f64::INFINITY, false, true),
                _ if op.is_cmp() || matches!(op, Op2::And | Op2::Or) => {
                    Range::new(0.0, 1.0, false, false)
                }
                _ => Range::ALL,
            }
        }
        N::PowI(a, n) => {
            let ra = r(*a);
            let mut p = Range::point(1.0);
            let k = n.unsigned_abs();
            if k % 2 == 0 {
                let s = sq(ra);
                for _ in 0..k / 2 {
                    p = p.mul(s);
                }
            } else {
                for _ in 0..k {
                    p = p.mul(ra);
                }
            }
            if *n < 0 {
                p.recip()
            } else {
                p
            }
        }
        N::Sel(_, a, b) => {
            let (ra, rb) = (r(*a), r(*b));
            Range::new(ra.lo.min(rb.lo), ra.hi.max(rb.hi), true, true)
        }
        N::Lse(_) | N::F(_) | N::C(_) => Range::ALL,
    }
}

/// The interval of a², which is never negative.
fn sq(a: Range) -> Range {
    if a.lo >= 0.0 {
        a.mul(a)
    } else if a.hi <= 0.0 {
        a.neg().mul(a.neg())
    } else {
        let m = a.hi.max(-a.lo);
        Range::new(0.0, m * m, false, true)
    }
}

/// Whether the condition `id` (built from comparisons of x with numbers, `&&`, `||`, `!`) holds
/// for every x of the support.
pub fn always_true(g: &Graph, id: Id, x: Range) -> bool {
    match g.node(id) {
        N::B(Op2::And, a, b) => always_true(g, *a, x) && always_true(g, *b, x),
        N::B(Op2::Or, a, b) => always_true(g, *a, x) || always_true(g, *b, x),
        N::B(op, a, b) if op.is_cmp() => {
            let (op, v) = match (g.node(*a), g.num_value(*b), g.node(*b), g.num_value(*a)) {
                (N::X, Some(v), _, _) => (*op, v),
                (_, _, N::X, Some(v)) => (op.swapped(), v),
                _ => return false,
            };
            match op {
                Op2::Gt => x.above(v, false),
                Op2::Ge => x.above(v, true),
                Op2::Lt => x.below(v, false),
                Op2::Le => x.below(v, true),
                Op2::Ne => x.above(v, false) || x.below(v, false),
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_parameters_never_make_a_zero_denominator() {
        let mut g = Graph::default();
        let s = g.param(0);
        let two = g.num(2.0);
        let s2 = g.powi(s, 2);
        let d = g.b(Op2::Mul, two, s2);
        let pos = Range::new(0.0, f64::INFINITY, true, true);
        assert!(!range(&g, d, &[pos], Range::ALL).contains_zero());
        assert!(range(&g, d, &[Range::ALL], Range::ALL).contains_zero());
        let one = g.num(1.0);
        let w = g.b(Op2::Sub, one, s);
        let unit = Range::new(0.0, 1.0, true, true);
        assert!(!range(&g, w, &[unit], Range::ALL).contains_zero());
        assert!(Range::new(3.0, 1.0, false, false).is_empty());
        assert!(Range::new(1.0, 1.0, true, false).is_empty());
    }

    #[test]
    fn support_conditions_implied_by_the_support_are_recognised() {
        let mut g = Graph::default();
        let x = g.x();
        let zero = g.num(0.0);
        let gt = g.b(Op2::Gt, x, zero);
        let pos = Range::new(0.0, f64::INFINITY, true, true);
        assert!(always_true(&g, gt, pos));
        assert!(!always_true(&g, gt, Range::ALL));
    }
}

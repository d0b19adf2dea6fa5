//! The per-point columns shared by CSV, NPZ and Parquet: `index`, the family's parameters in
//! its order, `loglik`, `mean_loglik`, `cross_entropy`, `outside_support`, then `kl` when H(P) is
//! known and `kl_exact` when P is of the swept family with a closed form. Cross-entropy and KL
//! are in the report's units; log-likelihoods in nats.

use super::Report;
use crate::analysis::identity::Units;
use crate::engine::partials::Partials;

/// What a column holds, per grid point i.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// i, the point's index in grid order.
    Index,
    /// θⱼ for the family's parameter j.
    Param(usize),
    /// S(θ) = Σ log Q(xᵢ|θ), −∞ with a sample outside the support.
    Loglik,
    /// S(θ)/n.
    MeanLoglik,
    /// H(P̂, Q_θ) = −S(θ)/n.
    CrossEntropy,
    /// Samples outside the support of Q_θ.
    OutsideSupport,
    /// cross-entropy − H(P).
    Kl,
    /// The closed-form D_KL(P‖Q_θ) (NaN where none).
    KlExact,
}

impl Kind {
    /// Integer columns (index, outside_support); the others are f64.
    pub fn is_integer(self) -> bool {
        matches!(self, Kind::Index | Kind::OutsideSupport)
    }
}

/// A named column.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// The columns of a report, and their values.
pub struct Columns<'a> {
    pub list: Vec<Column>,
    partials: &'a Partials,
    units: Units,
    kl: Option<&'a [f64]>,
    kl_exact: Option<&'a [f64]>,
    /// Per parameter: (stride, values) so that θⱼ of point i = values[(i / stride) % len].
    axes: Vec<(usize, &'a [f64])>,
}

impl<'a> Columns<'a> {
    /// The columns of `r`.
    pub fn new(r: &'a Report<'a>) -> Columns<'a> {
        let an = r.analysis;
        let kl = an.kl.as_deref();
        let kl_exact = an.kl_exact.as_deref();
        let mut list = vec![Column {
            name: "index".into(),
            kind: Kind::Index,
        }];
        for (j, p) in r.family.params().iter().enumerate() {
            list.push(Column {
                name: p.name.to_string(),
                kind: Kind::Param(j),
            });
        }
        for (name, kind) in [
            ("loglik", Kind::Loglik),
            ("mean_loglik", Kind::MeanLoglik),
            ("cross_entropy", Kind::CrossEntropy),
            ("outside_support", Kind::OutsideSupport),
        ] {
            list.push(Column {
                name: name.into(),
                kind,
            });
        }
        if kl.is_some() {
            list.push(Column {
                name: "kl".into(),
                kind: Kind::Kl,
            });
        }
        if kl_exact.is_some() {
            list.push(Column {
                name: "kl_exact".into(),
                kind: Kind::KlExact,
            });
        }
        let mut axes = vec![(1usize, &[][..]); r.grid.n_params()];
        let mut stride = 1;
        for a in r.grid.axes().iter().rev() {
            axes[a.param] = (stride, &a.values[..]);
            stride *= a.values.len();
        }
        Columns {
            list,
            partials: &r.outcome.primary.partials,
            units: r.units(),
            kl,
            kl_exact,
            axes,
        }
    }

    /// Index into the axis values of parameter `j` at point `i`.
    #[inline]
    pub fn axis_index(&self, j: usize, i: usize) -> usize {
        let (stride, values) = self.axes[j];
        (i / stride) % values.len()
    }

    /// The grid values of parameter `j`.
    pub fn axis_values(&self, j: usize) -> &'a [f64] {
        self.axes[j].1
    }

    /// The value of an f64 column at point `i` (integer columns converted).
    #[inline]
    pub fn f64(&self, kind: Kind, i: usize) -> f64 {
        let p = self.partials;
        match kind {
            Kind::Index => i as f64,
            Kind::Param(j) => {
                let (stride, values) = self.axes[j];
                values[(i / stride) % values.len()]
            }
            Kind::Loglik => p.loglik(i),
            Kind::MeanLoglik => p.mean_loglik(i),
            Kind::CrossEntropy => self.units.of(-p.mean_loglik(i)),
            Kind::OutsideSupport => p.outside[i] as f64,
            Kind::Kl => self.kl.map_or(f64::NAN, |k| self.units.of(k[i])),
            Kind::KlExact => self.kl_exact.map_or(f64::NAN, |k| self.units.of(k[i])),
        }
    }

    /// The value of an integer column at point `i` (`index`, `outside_support`).
    #[inline]
    pub fn int(&self, kind: Kind, i: usize) -> i64 {
        match kind {
            Kind::OutsideSupport => i64::try_from(self.partials.outside[i]).unwrap_or(i64::MAX),
            _ => i as i64,
        }
    }
}

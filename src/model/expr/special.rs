//! f32 special functions of the expression language: the CPU twins of
//! `shaders/lib/special.wgsl` (same algorithms, same constants), used by the fast CPU path's
//! fused programs. Accuracy against f64 (libm) is tested on a dense sweep here, and the WGSL
//! versions through a test shader (`tests/expr_special.rs`).

/// ln(1 + z): for −0.5 < z < 1, 2·atanh(w) with w = z/(2 + z) by its odd series (8 terms);
/// elsewhere ln(1 + z).
#[inline(always)]
pub fn log1p(z: f32) -> f32 {
    if z > -0.5 && z < 1.0 {
        let w = z / (2.0 + z);
        let w2 = w * w;
        let mut p = 1.0 / 15.0;
        for c in [13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
            p = p * w2 + 1.0 / c;
        }
        2.0 * w * p
    } else {
        (1.0 + z).ln()
    }
}

/// eᶻ − 1: for |z| < 0.5 its Taylor series to z¹⁰; elsewhere exp(z) − 1.
#[inline(always)]
pub fn expm1(z: f32) -> f32 {
    if z.abs() < 0.5 {
        let mut p = 1.0 / 3_628_800.0;
        for c in [
            362_880.0, 40_320.0, 5040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0,
        ] {
            p = p * z + 1.0 / c;
        }
        z * p
    } else {
        z.exp() - 1.0
    }
}

/// tanh(x) = sign(x)·m/(m + 2), m = expm1(2|x|), with |x| capped at 9.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let m = expm1(2.0 * x.abs().min(9.0));
    let t = m / (m + 2.0);
    if x < 0.0 {
        -t
    } else if x > 0.0 {
        t
    } else {
        0.0
    }
}

/// ln Γ(x) for x > 0: shifted up to z ≥ 5, then Stirling's series to z⁻⁷.
#[inline(always)]
fn lgamma_pos(x: f32) -> f32 {
    let mut z = x;
    let mut prod = 1.0f32;
    for _ in 0..5 {
        if z < 5.0 {
            prod *= z;
            z += 1.0;
        }
    }
    let r = 1.0 / z;
    let r2 = r * r;
    let corr = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0))));
    (z - 0.5) * z.ln() - z + 0.918_938_5 + corr - prod.ln()
}

/// ln |Γ(x)|; for x ≤ 0 by reflection.
#[inline(always)]
pub fn lgamma(x: f32) -> f32 {
    if x > 0.0 {
        lgamma_pos(x)
    } else {
        let s = (std::f32::consts::PI * (x - x.floor())).sin().abs();
        (std::f32::consts::PI / s).ln() - lgamma_pos(1.0 - x)
    }
}

/// erfc(|x|) = t·exp(−x² + P(t)), t = 1/(1 + |x|/2), x² split as h² + (x − h)(x + h). The
/// coefficients are written as in the WGSL twin.
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn erfc_abs(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let mut p = 0.170_872_77f32;
    for c in [
        -0.822_152_23,
        1.488_515_87,
        -1.135_203_98,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_68,
        -1.265_512_23,
    ] {
        p = p * t + c;
    }
    let h = (z * 16.0).floor() / 16.0;
    t * (-h * h).exp() * (p - (z - h) * (z + h)).exp()
}

/// erfc(x).
#[inline(always)]
pub fn erfc(x: f32) -> f32 {
    let e = erfc_abs(x);
    if x < 0.0 {
        2.0 - e
    } else {
        e
    }
}

/// erf(x): Taylor series to x¹⁵ for |x| < 0.5, else sign(x)·(1 − erfc|x|).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    if x.abs() < 0.5 {
        let x2 = x * x;
        let mut p = -1.0 / 75_600.0f32;
        for c in [9360.0, -1320.0, 216.0, -42.0, 10.0, -3.0, 1.0] {
            p = p * x2 + 1.0 / c;
        }
        std::f32::consts::FRAC_2_SQRT_PI * x * p
    } else {
        let f = 1.0 - erfc_abs(x);
        if x < 0.0 {
            -f
        } else {
            f
        }
    }
}

/// The functions of this module, for tests that sweep them (here and on the device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Log1p,
    Expm1,
    Tanh,
    Lgamma,
    Erf,
    Erfc,
}

impl Special {
    /// Every function.
    pub const ALL: [Special; 6] = [
        Special::Log1p,
        Special::Expm1,
        Special::Tanh,
        Special::Lgamma,
        Special::Erf,
        Special::Erfc,
    ];

    /// The WGSL function in `shaders/lib/special.wgsl`.
    pub fn wgsl_name(self) -> &'static str {
        match self {
            Special::Log1p => "sp_log1p4",
            Special::Expm1 => "sp_expm14",
            Special::Tanh => "sp_tanh4",
            Special::Lgamma => "sp_lgamma4",
            Special::Erf => "sp_erf4",
            Special::Erfc => "sp_erfc4",
        }
    }

    /// The f32 twin.
    pub fn f32(self, x: f32) -> f32 {
        match self {
            Special::Log1p => log1p(x),
            Special::Expm1 => expm1(x),
            Special::Tanh => tanh(x),
            Special::Lgamma => lgamma(x),
            Special::Erf => erf(x),
            Special::Erfc => erfc(x),
        }
    }

    /// The f64 value (libm), the yardstick.
    pub fn f64(self, x: f64) -> f64 {
        match self {
            Special::Log1p => x.ln_1p(),
            Special::Expm1 => x.exp_m1(),
            Special::Tanh => x.tanh(),
            Special::Lgamma => libm::lgamma_r(x).0,
            Special::Erf => libm::erf(x),
            Special::Erfc => libm::erfc(x),
        }
    }

    /// The test range and the documented accuracy: the error |f32 − f64| allowed at x is
    /// `abs + rel·|f(x)|`, and for expm1 also 1.3e-7·|x|·|f(x)| — WGSL's own `exp` is only
    /// specified to 3 + 2|x| ULP (see the header of `shaders/lib/special.wgsl`).
    pub fn range_and_tolerance(self) -> ((f64, f64), f64, f64) {
        match self {
            Special::Log1p => ((-0.999, 50.0), 0.0, 4e-7),
            Special::Expm1 => ((-20.0, 20.0), 0.0, 4e-7),
            Special::Tanh => ((-12.0, 12.0), 0.0, 4e-7),
            Special::Lgamma => ((0.001, 60.0), 2.5e-6, 1e-6),
            Special::Erf => ((-6.0, 6.0), 3e-7, 4e-7),
            Special::Erfc => ((-3.0, 9.0), 0.0, 2e-5),
        }
    }

    /// A dense sweep of the test range (`n` points, both ends included).
    pub fn sweep(self, n: usize) -> Vec<f32> {
        let ((a, b), _, _) = self.range_and_tolerance();
        (0..n)
            .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64) as f32)
            .collect()
    }

    /// The largest error of `values` (at `xs`) in units of the allowed error (≤ 1 passes), and
    /// the x where it occurs.
    pub fn worst(self, xs: &[f32], values: &[f32]) -> (f64, f32) {
        let (_, abs, rel) = self.range_and_tolerance();
        let mut worst = (0.0, 0.0);
        for (&x, &v) in xs.iter().zip(values) {
            let want = self.f64(x as f64);
            let grow = if self == Special::Expm1 {
                1.3e-7 * (x as f64).abs()
            } else {
                0.0
            };
            let allowed = abs + (rel + grow) * want.abs() + f64::MIN_POSITIVE;
            let e = (v as f64 - want).abs() / allowed;
            if e.is_nan() || e > worst.0 {
                worst = (e, x);
            }
        }
        worst
    }
}

/// The WGSL library of these functions (`shaders/lib/special.wgsl`) after the family kernels'
/// `shaders/lib/math.wgsl` it builds on (as in every sweep shader), for testing it on a device
/// (`engine::gpu::probe`).
pub const WGSL: &str = concat!(
    include_str!("../../../shaders/lib/math.wgsl"),
    include_str!("../../../shaders/lib/special.wgsl")
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every f32 twin is within its documented accuracy of f64 on a dense sweep of its range.
    #[test]
    fn f32_twins_meet_their_documented_accuracy_on_a_dense_sweep() {
        for f in Special::ALL {
            let xs = f.sweep(200_001);
            let vs: Vec<f32> = xs.iter().map(|&x| f.f32(x)).collect();
            let (e, at) = f.worst(&xs, &vs);
            assert!(e <= 1.0, "{f:?}: error {e} × allowed at x = {at}");
        }
    }

    #[test]
    fn small_arguments_keep_relative_accuracy() {
        for z in [1e-8f32, -3e-6, 1e-4, 0.3] {
            assert!(((log1p(z) as f64 - (z as f64).ln_1p()) / (z as f64)).abs() < 3e-7);
            assert!(((expm1(z) as f64 - (z as f64).exp_m1()) / (z as f64)).abs() < 3e-7);
            assert!(((erf(z) as f64 - libm::erf(z as f64)) / libm::erf(z as f64)).abs() < 3e-7);
        }
    }
}

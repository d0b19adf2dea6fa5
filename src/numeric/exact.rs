//! Order-independent (exact) summation of f64 values.
//!
//! [`ExactSum`] holds Σⱼ round(vⱼ · 2⁶⁴) as an exact integer, so that the sum of a set of values
//! is the same bits whatever the order or grouping of the additions: adding chunk partials in
//! chunk order, or adding the partials of shards, ranks or devices in any order, gives the same
//! result. Each value is rounded once, on its own, to a multiple of 2⁻⁶⁴ (round half to even);
//! after that every operation is exact integer arithmetic.
//!
//! Range and resolution: values and sums of any finite magnitude (up to f64::MAX) are held
//! exactly at a resolution of 2⁻⁶⁴ ≈ 5.4·10⁻²⁰. Sums below 2⁶³ ≈ 9.2·10¹⁸ in magnitude (every
//! realistic log-likelihood) live in one `i128`; larger ones move to a wide integer of 18 limbs.
//! Non-finite values are counted apart: the sum is NaN if a NaN or both infinities were added,
//! else ±∞ if an infinity was.
//!
//! The value read back, [`ExactSum::value`], is the exact sum correctly rounded to f64 (round
//! half to even). Compared with plain f64 addition of n chunk partials, this costs the rounding of
//! each partial to 2⁻⁶⁴ (an absolute error ≤ n·2⁻⁶⁵ in all) and gains independence from order.

/// Limbs of the wide representation: 2⁶⁴-scaled values up to 2¹⁰²⁴·2⁶⁴ need 1,088 bits plus
/// headroom for carries and a sign.
const WIDE_LIMBS: usize = 18;

/// A two's-complement integer of `WIDE_LIMBS` little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Wide([u64; WIDE_LIMBS]);

impl Wide {
    fn from_i128(v: i128) -> Wide {
        let mut l = [if v < 0 { u64::MAX } else { 0 }; WIDE_LIMBS];
        l[0] = v as u64;
        l[1] = (v >> 64) as u64;
        Wide(l)
    }

    /// ±m·2^shift for a 64-bit magnitude m and shift ≥ 0.
    fn from_scaled(negative: bool, m: u64, shift: u32) -> Wide {
        let mut l = [0u64; WIDE_LIMBS];
        let (q, r) = ((shift / 64) as usize, shift % 64);
        l[q] = m << r;
        if r > 0 && q + 1 < WIDE_LIMBS {
            l[q + 1] = m >> (64 - r);
        }
        let w = Wide(l);
        if negative {
            w.neg()
        } else {
            w
        }
    }

    fn add(&self, o: &Wide) -> Wide {
        let mut out = [0u64; WIDE_LIMBS];
        let mut carry = false;
        for (i, d) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(o.0[i]);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            *d = s2;
            carry = c1 || c2;
        }
        Wide(out)
    }

    fn neg(&self) -> Wide {
        let mut out = [0u64; WIDE_LIMBS];
        let mut carry = true;
        for (i, d) in out.iter_mut().enumerate() {
            let (s, c) = (!self.0[i]).overflowing_add(carry as u64);
            *d = s;
            carry = c;
        }
        Wide(out)
    }

    fn is_negative(&self) -> bool {
        self.0[WIDE_LIMBS - 1] >> 63 == 1
    }

    /// The value if it fits an i128.
    fn to_i128(self) -> Option<i128> {
        let fill = if self.is_negative() { u64::MAX } else { 0 };
        if self.0[2..].iter().any(|&l| l != fill) {
            return None;
        }
        let v = (self.0[0] as u128 | (self.0[1] as u128) << 64) as i128;
        // The sign of the low 128 bits must agree with the fill.
        ((v < 0) == self.is_negative()).then_some(v)
    }

    /// The value · 2⁻⁶⁴, correctly rounded to f64.
    fn to_f64(self) -> f64 {
        let negative = self.is_negative();
        let mag = if negative { self.neg() } else { self };
        let Some(top) = (0..WIDE_LIMBS).rev().find(|&i| mag.0[i] != 0) else {
            return 0.0;
        };
        // Highest set bit, counted from bit 0 of limb 0.
        let hi = top as u32 * 64 + 63 - mag.0[top].leading_zeros();
        let bit = |k: u32| (mag.0[(k / 64) as usize] >> (k % 64)) & 1;
        let v = if hi < 53 {
            let m = mag.0[0] as f64; // exact below 2⁵³
            m * 2f64.powi(-64)
        } else {
            // 53 significant bits [hi−52, hi], then round half to even on the rest.
            let lo = hi - 52;
            let mut m: u64 = 0;
            for k in (lo..=hi).rev() {
                m = (m << 1) | bit(k);
            }
            let guard = bit(lo - 1) == 1;
            let sticky = (0..lo - 1).any(|k| bit(k) == 1);
            if guard && (sticky || m & 1 == 1) {
                m += 1;
            }
            // m · 2^(lo − 64); m ≤ 2⁵³ so the conversion is exact, and ldexp is exact or
            // overflows to ∞ as rounding requires.
            ldexp(m as f64, lo as i32 - 64)
        };
        if negative {
            -v
        } else {
            v
        }
    }
}

/// x · 2^e without intermediate overflow or underflow for the exponents used here.
fn ldexp(x: f64, e: i32) -> f64 {
    let mut x = x;
    let mut e = e;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e)
}

/// round(v · 2⁶⁴) for finite v, as an exact integer: `Ok` when it fits an i128, else `Err` with
/// the wide value.
fn scaled(v: f64) -> Result<i128, Box<Wide>> {
    let bits = v.to_bits();
    let negative = bits >> 63 == 1;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    if exp == 0 && frac == 0 {
        return Ok(0);
    }
    // v = ±m · 2^(e), m an integer < 2⁵³.
    let (m, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    // Scaled by 2⁶⁴: ±m · 2^(e + 64).
    let s = e + 64;
    if s >= 0 {
        if s <= 73 {
            // m < 2⁵³, so m · 2^s < 2¹²⁶: fits an i128.
            let mag = (m as i128) << s;
            return Ok(if negative { -mag } else { mag });
        }
        return Err(Box::new(Wide::from_scaled(negative, m, s as u32)));
    }
    // Right shift by −s with round half to even.
    let sh = (-s) as u32;
    let mag: u64 = if sh >= 64 {
        // m · 2^−sh < 2⁵³ · 2⁻⁶⁴ < 1/2: rounds to 0.
        0
    } else {
        let q = m >> sh;
        let rem = m & ((1u64 << sh) - 1);
        let half = 1u64 << (sh - 1);
        if rem > half || (rem == half && q & 1 == 1) {
            q + 1
        } else {
            q
        }
    };
    let mag = mag as i128;
    Ok(if negative { -mag } else { mag })
}

/// round(v · 2⁶⁴) when v is finite and the result fits an i128 (|v| < 2⁶³), else `None`: the
/// compact fixed-point form [`ExactSum`] uses for ordinary values.
#[inline]
pub fn to_fixed(v: f64) -> Option<i128> {
    if !v.is_finite() {
        return None;
    }
    scaled(v).ok().filter(|s| s.unsigned_abs() < 1u128 << 126)
}

/// A fixed-point value of [`to_fixed`] back in f64, correctly rounded.
#[inline]
pub fn fixed_to_f64(s: i128) -> f64 {
    s as f64 * 2f64.powi(-64)
}

/// An exact, order-independent sum of f64 values (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExactSum {
    small: i128,
    wide: Option<Box<Wide>>,
    pos_inf: u64,
    neg_inf: u64,
    nan: u64,
}

impl ExactSum {
    /// The empty sum (0).
    pub fn new() -> ExactSum {
        ExactSum::default()
    }

    /// The sum holding one fixed-point value of [`to_fixed`].
    pub fn from_fixed(s: i128) -> ExactSum {
        ExactSum {
            small: s,
            ..ExactSum::default()
        }
    }

    /// Adds a fixed-point value of [`to_fixed`] exactly.
    pub fn add_fixed(&mut self, s: i128) {
        self.add_i128(s)
    }

    /// Adds round(v · 2⁶⁴) · 2⁻⁶⁴ exactly; non-finite values are counted.
    #[inline]
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            if v.is_nan() {
                self.nan += 1;
            } else if v > 0.0 {
                self.pos_inf += 1;
            } else {
                self.neg_inf += 1;
            }
            return;
        }
        match scaled(v) {
            Ok(s) => self.add_i128(s),
            Err(w) => self.add_wide(&w),
        }
    }

    fn add_i128(&mut self, s: i128) {
        if let Some(w) = &mut self.wide {
            **w = w.add(&Wide::from_i128(s));
            return;
        }
        match self.small.checked_add(s) {
            Some(t) => self.small = t,
            None => {
                let w = Wide::from_i128(self.small).add(&Wide::from_i128(s));
                self.small = 0;
                self.wide = Some(Box::new(w));
            }
        }
    }

    fn add_wide(&mut self, w: &Wide) {
        let cur = match self.wide.take() {
            Some(c) => *c,
            None => Wide::from_i128(self.small),
        };
        let sum = cur.add(w);
        self.small = 0;
        match sum.to_i128() {
            Some(v) => self.small = v,
            None => self.wide = Some(Box::new(sum)),
        }
    }

    /// Adds another exact sum (merging partials of shards): exact, so the order of merges does
    /// not matter.
    pub fn merge(&mut self, o: &ExactSum) {
        self.pos_inf += o.pos_inf;
        self.neg_inf += o.neg_inf;
        self.nan += o.nan;
        match &o.wide {
            Some(w) => self.add_wide(w),
            None => self.add_i128(o.small),
        }
    }

    /// The exact sum, correctly rounded to f64.
    pub fn value(&self) -> f64 {
        if self.nan > 0 || (self.pos_inf > 0 && self.neg_inf > 0) {
            return f64::NAN;
        }
        if self.pos_inf > 0 {
            return f64::INFINITY;
        }
        if self.neg_inf > 0 {
            return f64::NEG_INFINITY;
        }
        match &self.wide {
            Some(w) => w.to_f64(),
            // `as` rounds to nearest, ties to even; the power-of-two scaling is exact.
            None => self.small as f64 * 2f64.powi(-64),
        }
    }

    /// The state as plain words, for a partial file: (the 2⁶⁴-scaled integer as little-endian
    /// two's-complement limbs — 2 when it fits an i128, else 18 —, +∞ count, −∞ count, NaN count).
    pub fn to_words(&self) -> (Vec<u64>, [u64; 3]) {
        let limbs = match &self.wide {
            Some(w) => w.0.to_vec(),
            None => vec![self.small as u64, (self.small >> 64) as u64],
        };
        (limbs, [self.pos_inf, self.neg_inf, self.nan])
    }

    /// The inverse of [`ExactSum::to_words`]; `None` for a limb count other than 2 or 18.
    pub fn from_words(limbs: &[u64], counts: [u64; 3]) -> Option<ExactSum> {
        let mut s = ExactSum {
            pos_inf: counts[0],
            neg_inf: counts[1],
            nan: counts[2],
            ..ExactSum::default()
        };
        match limbs.len() {
            2 => s.small = (limbs[0] as u128 | (limbs[1] as u128) << 64) as i128,
            WIDE_LIMBS => {
                let mut w = [0u64; WIDE_LIMBS];
                w.copy_from_slice(limbs);
                let w = Wide(w);
                match w.to_i128() {
                    Some(v) => s.small = v,
                    None => s.wide = Some(Box::new(w)),
                }
            }
            _ => return None,
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{RngExt, SeedableRng};

    fn exact(vs: &[f64]) -> f64 {
        let mut s = ExactSum::new();
        vs.iter().for_each(|&v| s.add(v));
        s.value()
    }

    #[test]
    fn sum_is_bitwise_independent_of_order_and_grouping() {
        let mut rng = StdRng::seed_from_u64(1);
        let vs: Vec<f64> = (0..5000)
            .map(|_| {
                let e: i32 = rng.random_range(-30..40);
                let m: f64 = rng.random_range(-1.0..1.0);
                m * 2f64.powi(e)
            })
            .collect();
        let a = exact(&vs);
        let mut shuffled = vs.clone();
        shuffled.shuffle(&mut rng);
        assert_eq!(a.to_bits(), exact(&shuffled).to_bits());
        // Grouped into shards, merged in reverse order.
        let mut total = ExactSum::new();
        for shard in vs.chunks(333).rev() {
            let mut s = ExactSum::new();
            shard.iter().for_each(|&v| s.add(v));
            total.merge(&s);
        }
        assert_eq!(a.to_bits(), total.value().to_bits());
    }

    #[test]
    fn sum_is_correctly_rounded_where_f64_addition_is_not() {
        // 1 + 2⁻⁵³ + 2⁻⁵³: plain left-to-right f64 addition gives 1; the exact sum is 1 + 2⁻⁵².
        let t = 2f64.powi(-53);
        assert_eq!(exact(&[1.0, t, t]), 1.0 + 2f64.powi(-52));
        // Cancellation: 1e17 + 1 − 1e17 = 1 exactly.
        assert_eq!(exact(&[1e17, 1.0, -1e17]), 1.0);
        // Small integers and halves are exact.
        assert_eq!(exact(&[0.5, 0.25, -0.125]), 0.625);
        assert_eq!(exact(&[]), 0.0);
    }

    #[test]
    fn huge_values_use_the_wide_form_and_come_back_exactly() {
        let vs = [1e300, -7e302, 3.5, 1e300, -1e300];
        let mut s = ExactSum::new();
        vs.iter().for_each(|&v| s.add(v));
        let v = s.value();
        assert_eq!(v, -7e302 + 1e300);
        // Back to the small form once the sum is small again.
        s.add(7e302);
        s.add(-1e300);
        assert_eq!(s.value(), 3.5);
        assert!(s.wide.is_none());
        // Near the top of the range.
        assert_eq!(exact(&[f64::MAX, -f64::MAX, f64::MAX]), f64::MAX);
        assert_eq!(exact(&[f64::MAX, f64::MAX]), f64::INFINITY);
        // i128 overflow moves to the wide form without loss.
        let big = 2f64.powi(62);
        let many = vec![big; 8];
        assert_eq!(exact(&many), 2f64.powi(65));
    }

    #[test]
    fn resolution_is_two_to_the_minus_sixty_four() {
        let r = 2f64.powi(-64);
        assert_eq!(exact(&[r]), r);
        assert_eq!(exact(&[r * 0.25]), 0.0);
        // Half to even at the resolution.
        assert_eq!(exact(&[r * 0.5]), 0.0);
        assert_eq!(exact(&[r * 1.5]), 2.0 * r);
        assert_eq!(exact(&[-r * 1.5]), -2.0 * r);
    }

    #[test]
    fn non_finite_values_are_counted_not_lost() {
        assert_eq!(exact(&[1.0, f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert_eq!(exact(&[f64::INFINITY, 2.0]), f64::INFINITY);
        assert!(exact(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(exact(&[f64::NAN, 1.0]).is_nan());
    }

    #[test]
    fn words_round_trip() {
        for vs in [vec![1.5, -2.25], vec![1e300, 2.0], vec![f64::INFINITY]] {
            let mut s = ExactSum::new();
            vs.iter().for_each(|&v| s.add(v));
            let (limbs, counts) = s.to_words();
            let back = ExactSum::from_words(&limbs, counts).unwrap();
            assert_eq!(back, s);
        }
        assert!(ExactSum::from_words(&[1, 2, 3], [0; 3]).is_none());
    }
}

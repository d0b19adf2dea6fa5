//! Fast number formatting for the JSON and CSV writers, byte for byte what they wrote before:
//! JSON numbers as serde_json writes them (zmij's shortest round-trip form for f64, itoa for
//! integers, `null` for ±∞ and NaN), CSV numbers as Rust's `{}` (`Display`) writes them.
//!
//! `Display` prints the shortest digit string that reads back as the same f64, in plain
//! positional notation (never an exponent), `-0` for negative zero and `NaN`, `inf`, `-inf` for
//! the non-finite values. zmij finds the same shortest digits, with one difference: when the
//! value lies exactly halfway between two shortest candidates, zmij takes the even one and
//! `Display` the larger one in magnitude. [`push_display`] detects that exact tie (an integer
//! test, see [`is_midpoint`]) and rounds up, then lays the digits out positionally.

/// Appends `v` as serde_json writes an f64 value: the shortest round-trip form (`1.5`, `3.0`,
/// `1e-7`, `1e+16`), or `null` when it is not finite.
#[inline]
pub fn push_json(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends the integer `v` in decimal (as serde_json and `Display` write it).
#[inline]
pub fn push_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

const ZEROS: [u8; 400] = [b'0'; 400];

/// |v| = m·2^e with m odd (v finite, non-zero).
#[inline]
fn odd_mantissa(v: f64) -> (u64, i32) {
    let bits = v.to_bits() & !(1u64 << 63);
    let biased = (bits >> 52) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (m, e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased - 1075)
    };
    let tz = m.trailing_zeros();
    (m >> tz, e + tz as i32)
}

/// Whether m·2^e (m odd) equals M·10^q exactly, where M = D·10 + 5 and D are the decimal digits
/// `d`: that is, whether the value lies exactly halfway between D·10^(q+1) and (D + 1)·10^(q+1).
///
/// M is odd, so M·10^q = (M·5^q)·2^q has 2-adic exponent q: equality needs e = q, and then
/// m = M·5^q (q ≥ 0) or m·5^(−q) = M (q < 0), compared in u128 (m < 2^53, M < 10^19, so any
/// product that overflows cannot be equal).
fn is_midpoint(m: u64, e: i32, d: &[u8], q: i32) -> bool {
    if e != q || d.len() > 18 {
        return false;
    }
    let mut big: u128 = 0;
    for &c in d {
        big = big * 10 + u128::from(c - b'0');
    }
    let mm = big * 10 + 5;
    let mut x = if q >= 0 { mm } else { u128::from(m) };
    for _ in 0..q.unsigned_abs() {
        match x.checked_mul(5) {
            Some(y) => x = y,
            None => return false,
        }
    }
    if q >= 0 {
        x == u128::from(m)
    } else {
        x == mm
    }
}

/// Appends `v` exactly as `format!("{v}")` writes it (see the module documentation).
pub fn push_display(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(if v.is_nan() {
            b"NaN"
        } else if v > 0.0 {
            b"inf"
        } else {
            b"-inf"
        });
        return;
    }
    let mut buf = zmij::Buffer::new();
    let s = buf.format_finite(v).as_bytes();
    let s = match s.first() {
        Some(b'-') => {
            out.push(b'-');
            &s[1..]
        }
        _ => s,
    };
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    let (m, e) = odd_mantissa(v);
    match s.iter().position(|&c| c == b'e') {
        None => push_plain(out, s, m, e),
        Some(at) => push_scientific(out, &s[..at], &s[at + 1..], m, e),
    }
}

/// zmij's positional form ("123.45", "0.001", "1000.0"), as `Display` writes it.
fn push_plain(out: &mut Vec<u8>, s: &[u8], m: u64, e: i32) {
    let dot = s.iter().position(|&c| c == b'.').unwrap_or(s.len());
    let frac = s.get(dot + 1..).unwrap_or(&[]);
    if frac == b"0" || frac.is_empty() {
        // An integer: the digits are the integer part without its trailing zeros.
        let int = &s[..dot];
        let nz = int.iter().rev().take_while(|&&c| c == b'0').count();
        let d = &int[..int.len() - nz];
        let Some((&last, head)) = d.split_last() else {
            out.push(b'0');
            return;
        };
        if (last - b'0').is_multiple_of(2) && is_midpoint(m, e, d, nz as i32 - 1) {
            out.extend_from_slice(head);
            out.push(last + 1);
            out.extend_from_slice(&int[d.len()..]);
        } else {
            out.extend_from_slice(int);
        }
        return;
    }
    let last = s[s.len() - 1];
    let q = -(frac.len() as i32) - 1;
    if (last - b'0').is_multiple_of(2) && e == q {
        let mut digits = [0u8; 48];
        let mut nd = 0;
        for &c in s {
            if c != b'.' && !(nd == 0 && c == b'0') && nd < digits.len() {
                digits[nd] = c;
                nd += 1;
            }
        }
        if is_midpoint(m, e, &digits[..nd], q) {
            out.extend_from_slice(&s[..s.len() - 1]);
            out.push(last + 1);
            return;
        }
    }
    out.extend_from_slice(s);
}

/// zmij's exponent form (mantissa "1.2345", exponent "+17" or "-7"), laid out positionally.
fn push_scientific(out: &mut Vec<u8>, mantissa: &[u8], exponent: &[u8], m: u64, e: i32) {
    let mut digits = [0u8; 24];
    let mut nd = 0;
    let mut point = None;
    for &c in mantissa {
        if c == b'.' {
            point = Some(nd);
        } else if nd < digits.len() {
            digits[nd] = c;
            nd += 1;
        }
    }
    let (neg, exp_digits) = match exponent.first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    let mut exp = 0i32;
    for &c in exp_digits {
        exp = exp * 10 + i32::from(c - b'0');
    }
    if neg {
        exp = -exp;
    }
    // |v| = 0.D × 10^point.
    let point = point.unwrap_or(nd) as i32 + exp;
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    if (digits[nd - 1] - b'0').is_multiple_of(2)
        && is_midpoint(m, e, &digits[..nd], point - nd as i32 - 1)
    {
        digits[nd - 1] += 1;
    }
    let d = &digits[..nd];
    if point <= 0 {
        out.extend_from_slice(b"0.");
        push_zeros(out, (-point) as usize);
        out.extend_from_slice(d);
    } else if point as usize >= d.len() {
        out.extend_from_slice(d);
        push_zeros(out, point as usize - d.len());
    } else {
        out.extend_from_slice(&d[..point as usize]);
        out.push(b'.');
        out.extend_from_slice(&d[point as usize..]);
    }
}

fn push_zeros(out: &mut Vec<u8>, mut n: usize) {
    while n > 0 {
        let k = n.min(ZEROS.len());
        out.extend_from_slice(&ZEROS[..k]);
        n -= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A xorshift stream of f64 test values from several classes: arbitrary bit patterns
    /// (subnormals and extremes included), short decimals, values around 10^±20, dyadic values
    /// with few mantissa bits (where exact ties live), and large integers.
    fn values(n: usize) -> impl Iterator<Item = f64> {
        let mut x: u64 = 0x243F_6A88_85A3_08D3;
        (0..n).map(move |k| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match k % 7 {
                0 => f64::from_bits(x),
                1 => (x % 100_000) as f64 / 1000.0,
                2 => (x >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((x % 40) as i32 - 20),
                3 => ((x >> 20) as f64) * 2f64.powi((x % 12) as i32 - 4),
                4 => f64::from_bits((x & 0x800f_ffff_ffff_ffff) | ((x % 7) << 52)),
                5 => -((x % 1000) as f64) * 0.1,
                _ => ((x >> 8) as f64) * 2f64.powi((x % 200) as i32 - 100),
            }
        })
    }

    #[test]
    fn display_form_is_byte_identical_to_std_display() {
        let special = [
            0.0,
            -0.0,
            1.0,
            -3.0,
            0.1,
            1e-7,
            1e15,
            1e16,
            1e22,
            1e23,
            1e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            772_797_550_347_884.2,
            9_007_199_254_740_993.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut out = Vec::new();
        for v in special.into_iter().chain(values(2_000_000)) {
            out.clear();
            push_display(&mut out, v);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                format!("{v}"),
                "{v:?} (bits {:#x})",
                v.to_bits()
            );
        }
    }

    #[test]
    fn json_form_is_byte_identical_to_serde_json() {
        let mut out = Vec::new();
        for v in [0.0, -0.0, 1e16, 1e-7, f64::NAN, f64::NEG_INFINITY]
            .into_iter()
            .chain(values(200_000))
        {
            out.clear();
            push_json(&mut out, v);
            let want = match serde_json::Number::from_f64(v) {
                Some(n) => serde_json::to_string(&serde_json::Value::Number(n)).unwrap(),
                None => "null".to_string(),
            };
            assert_eq!(std::str::from_utf8(&out).unwrap(), want, "{v:?}");
        }
        out.clear();
        push_int(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn exact_ties_are_detected_and_near_ties_are_not() {
        // 772797550347884.25 is exactly halfway between …884.2 and …884.3.
        let v = 3_091_190_201_391_537.0_f64 / 4.0;
        let (m, e) = odd_mantissa(v);
        assert!(is_midpoint(m, e, b"7727975503478842", -2));
        let w = f64::from_bits(v.to_bits() + 1);
        let (m, e) = odd_mantissa(w);
        assert!(!is_midpoint(m, e, b"7727975503478842", -2));
        // 2.5 = (2·10 + 5)·10^-1: halfway between 2 and 3.
        let (m, e) = odd_mantissa(2.5);
        assert!(is_midpoint(m, e, b"2", -1));
    }
}

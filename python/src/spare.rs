//! The float64 buffer that float32 and strided arrays are widened or gathered into, kept
//! between calls (design principle 6: build once, reuse).
//!
//! The engine and the analysis take `&[f64]`, so a float32 array of n samples is widened into
//! 8·n bytes. A fresh buffer of that size costs more in page faults (the kernel zeroes and maps
//! every 4 KiB page on first touch) than the widening itself: for 4·10⁶ samples about 25 ms,
//! half the suffstats evaluation. A notebook calls `klgrid.sweep` again and again on arrays of
//! the same size, so one buffer is kept after a call and handed to the next: its pages are
//! already mapped. At most one buffer of at most [`SPARE_MAX`] samples (256 MiB) is kept; a
//! bigger one is freed when the call ends, and `klgrid.release_buffers()` frees the one kept.

use rayon::prelude::*;
use std::sync::Mutex;

/// The largest buffer kept between calls, in samples (2²⁵ · 8 B = 256 MiB).
pub const SPARE_MAX: usize = 1 << 25;

/// The buffer kept (empty, with its capacity) between calls.
static SPARE: Mutex<Vec<f64>> = Mutex::new(Vec::new());

/// Samples below which widening runs on the calling thread (splitting costs more).
const PARALLEL_FROM: usize = 1 << 16;

/// An empty buffer with room for `len` samples: the one kept when it is big enough, else a
/// fresh one (the one kept, too small, is freed: a sequence of growing arrays keeps only the
/// last).
fn take(len: usize) -> Vec<f64> {
    let mut kept = std::mem::take(&mut *SPARE.lock().unwrap_or_else(|e| e.into_inner()));
    kept.clear();
    if kept.capacity() >= len {
        kept
    } else {
        drop(kept);
        Vec::with_capacity(len)
    }
}

/// Keeps `v` for the next call if it is at most [`SPARE_MAX`] samples and bigger than the one
/// kept; frees it otherwise.
pub fn give(mut v: Vec<f64>) {
    if v.capacity() > SPARE_MAX {
        return;
    }
    v.clear();
    let mut kept = SPARE.lock().unwrap_or_else(|e| e.into_inner());
    if v.capacity() > kept.capacity() {
        *kept = v;
    }
}

/// Frees the buffer kept; returns its size in bytes.
pub fn release() -> usize {
    let v = std::mem::take(&mut *SPARE.lock().unwrap_or_else(|e| e.into_inner()));
    v.capacity() * std::mem::size_of::<f64>()
}

/// The bytes kept.
pub fn kept_bytes() -> usize {
    SPARE.lock().unwrap_or_else(|e| e.into_inner()).capacity() * std::mem::size_of::<f64>()
}

/// `xs` as float64 (exact: every f32 is an f64), in the kept buffer, on the pool's threads
/// when it is long.
pub fn widen(xs: &[f32]) -> Vec<f64> {
    let mut v = take(xs.len());
    if xs.len() >= PARALLEL_FROM {
        v.par_extend(xs.par_iter().map(|&x| f64::from(x)));
    } else {
        v.extend(xs.iter().map(|&x| f64::from(x)));
    }
    v
}

/// The values of an iterator (a strided or float32 view), in the kept buffer.
pub fn gather(len: usize, values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v = take(len);
    v.extend(values);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the buffer is process-wide, and tests run in parallel. Run with `cargo test
    // --lib` in python/ (it links libpython); python/tests/test_api.py checks the same through
    // klgrid.sweep.
    #[test]
    fn kept_buffer_is_reused_bounded_and_widening_is_exact() {
        let xs: Vec<f32> = (0..100_000).map(|i| i as f32 * 0.37 - 1e4).collect();
        let v = widen(&xs);
        assert!(v.iter().zip(&xs).all(|(&a, &b)| a == f64::from(b)));
        let address = v.as_ptr();
        give(v);
        assert!(kept_bytes() >= 100_000 * 8);
        // The next call of the same size gets the same memory back, emptied and refilled.
        let w = gather(50_000, (0..50_000).map(f64::from));
        assert_eq!(w.as_ptr(), address);
        assert_eq!(w.len(), 50_000);
        assert_eq!(w[49_999], 49_999.0);
        give(w);
        let kept = kept_bytes();
        assert!(kept >= 100_000 * 8);
        assert_eq!(release(), kept);
        assert_eq!(kept_bytes(), 0);
        // A buffer over the bound is freed, not kept (capacity only: no page is touched).
        give(Vec::with_capacity(SPARE_MAX + 1));
        assert_eq!(kept_bytes(), 0);
    }
}

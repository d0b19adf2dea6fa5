//! The fast CPU path (`--backend cpu`): the same a(θ) + b(x) + k(x, θ) split and f32 features
//! as the GPU, with each family's [`Kernel`](crate::model::Kernel) run register-blocked over 64
//! grid points (vectorised by the compiler), on all cores.
//!
//! Work is cut into (grid block, super-chunk of 2¹⁸ samples) pieces. Within a piece, tiles of 256
//! samples are summed in f32 and added to f64 sums; pieces are added per grid point in
//! super-chunk order. The arithmetic is the same however the pieces are scheduled, so results are
//! deterministic and do not depend on the number of threads.

use crate::engine::partials::KernelSums;
use crate::engine::prepare::Prepared;
use crate::model::kernel::BLOCK_POINTS;
use crate::model::Family;
use rayon::prelude::*;

/// Samples per piece of work.
const SUPERCHUNK: usize = 1 << 18;

const G: usize = BLOCK_POINTS;

type BlockSums = ([f64; G], [u64; G]);

/// Σᵢ k(xᵢ, θ) for every grid point; `consts` is point-major (`grid_len × n_kernel_consts`).
pub fn kernel_sums(family: &dyn Family, prep: &Prepared, consts: &[f32]) -> KernelSums {
    let nc = family.n_kernel_consts();
    let nf = family.n_features();
    let grid_len = consts.len() / nc;
    let blocks = grid_len.div_ceil(G);

    // Constants per block, structure of arrays; padding points repeat the last real point.
    let mut soa = vec![0f32; blocks * nc * G];
    for (b, dst) in soa.chunks_mut(nc * G).enumerate() {
        for g in 0..G {
            let p = (b * G + g).min(grid_len - 1);
            for j in 0..nc {
                dst[j * G + g] = consts[p * nc + j];
            }
        }
    }

    let n = prep.n_inside;
    let supers = n.div_ceil(SUPERCHUNK).max(1);
    let piece = |b: usize, s: usize| -> BlockSums {
        let lo = (s * SUPERCHUNK).min(n);
        let hi = (lo + SUPERCHUNK).min(n);
        let feats = &prep.features[lo * nf..hi * nf];
        let c = &soa[b * nc * G..(b + 1) * nc * G];
        let mut sums = [0f64; G];
        let mut out = [0u64; G];
        family.coupled().sum_block(feats, c, &mut sums, &mut out);
        (sums, out)
    };
    let add = |total: &mut BlockSums, part: &BlockSums| {
        for g in 0..G {
            total.0[g] += part.0[g];
            total.1[g] += part.1[g];
        }
    };

    let per_block: Vec<BlockSums> = if blocks >= 2 * rayon::current_num_threads() {
        (0..blocks)
            .into_par_iter()
            .map(|b| {
                let mut total = ([0f64; G], [0u64; G]);
                for s in 0..supers {
                    add(&mut total, &piece(b, s));
                }
                total
            })
            .collect()
    } else {
        let parts: Vec<BlockSums> = (0..blocks * supers)
            .into_par_iter()
            .map(|t| piece(t / supers, t % supers))
            .collect();
        parts
            .chunks(supers)
            .map(|ps| {
                let mut total = ([0f64; G], [0u64; G]);
                for p in ps {
                    add(&mut total, p);
                }
                total
            })
            .collect()
    };

    let mut sums = KernelSums {
        k: Vec::with_capacity(grid_len),
        outside: Vec::with_capacity(grid_len),
        device_seconds: None,
    };
    for (s, o) in &per_block {
        sums.k.extend_from_slice(s);
        sums.outside.extend_from_slice(o);
    }
    sums.k.truncate(grid_len);
    sums.outside.truncate(grid_len);
    sums
}

//! The shape of the device work of the sweep kernel, chosen per adapter and grid in one place
//! ([`KernelShape::choose_for`]).

/// The shape of the device work, chosen per adapter and grid in [`KernelShape::choose`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelShape {
    /// vec4 accumulators per invocation: each invocation handles 4·A grid points.
    pub accumulators: u32,
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// Samples per chunk (one invocation's loop; a multiple of 4).
    pub chunk_len: u32,
}

impl KernelShape {
    /// Grid points per invocation.
    pub fn points_per_invocation(&self) -> usize {
        4 * self.accumulators as usize
    }

    /// Parses `POINTS,WORKGROUP,CHUNK` (e.g. `128,32,4096`): grid points per invocation (a
    /// multiple of 4, at most 512), invocations per workgroup (1–1024) and samples per chunk (a
    /// multiple of 4, at most 16,384, keeping every shader loop far below llvmpipe's cap).
    pub fn parse(s: &str) -> crate::Result<KernelShape> {
        let bad = |why: &str| {
            crate::Error::input(format!(
                "--kernel-shape '{s}': {why} (expected POINTS,WORKGROUP,CHUNK, e.g. 128,32,4096)"
            ))
        };
        let v: Vec<u32> = s
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<u32>()
                    .map_err(|_| bad(&format!("'{}' is not a positive integer", t.trim())))
            })
            .collect::<crate::Result<_>>()?;
        let [points, wg, chunk] = v[..] else {
            return Err(bad("expected three numbers"));
        };
        if points == 0 || points % 4 != 0 || points > 512 {
            return Err(bad("POINTS must be a multiple of 4 between 4 and 512"));
        }
        if wg == 0 || wg > 1024 {
            return Err(bad("WORKGROUP must be between 1 and 1024"));
        }
        if chunk == 0 || chunk % 4 != 0 || chunk > 16_384 {
            return Err(bad("CHUNK must be a multiple of 4 between 4 and 16384"));
        }
        Ok(KernelShape {
            accumulators: points / 4,
            workgroup_size: wg,
            chunk_len: chunk,
        })
    }

    /// Chooses the shape for an adapter and a grid size. This is the one place where the kernel
    /// shape is decided.
    ///
    /// * Software adapters (lavapipe): 32 invocations per workgroup, up to 32 accumulators (128
    ///   grid points) per invocation, 4,096-sample chunks — measured fastest on llvmpipe, where
    ///   sample loads and loop overhead, not arithmetic, set the cost.
    /// * Hardware adapters: 64 invocations, up to 8 accumulators (32 points), 2,048-sample
    ///   chunks — fewer registers per invocation, more invocations in flight.
    ///
    /// Fewer accumulators are used when the grid is small, so that padding the grid to whole
    /// blocks wastes at most 1/8 of the work.
    pub fn choose(software: bool, grid_len: usize) -> KernelShape {
        Self::choose_for(software, grid_len, 2)
    }

    /// [`KernelShape::choose`] for a kernel with `n_consts` constants per grid point: kernels
    /// with many constants (user models) get fewer accumulators, so that the registers an
    /// invocation holds — A·(constants + 2) vec4s — stay within 256 vec4s (the built-in families,
    /// with at most 6 constants, keep 32 on software adapters).
    pub fn choose_for(software: bool, grid_len: usize, n_consts: usize) -> KernelShape {
        let (max_acc, workgroup_size, chunk_len) = if software {
            (32, 32, 4096)
        } else {
            (8, 64, 2048)
        };
        let mut acc: u32 = max_acc;
        while acc > 1 && acc as usize * (n_consts + 2) > 256 {
            acc /= 2;
        }
        while acc > 1 {
            let pts = 4 * acc as usize;
            let padded = grid_len.div_ceil(pts) * pts;
            if padded * 8 <= grid_len * 9 {
                break;
            }
            acc /= 2;
        }
        KernelShape {
            accumulators: acc,
            workgroup_size,
            chunk_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_uses_fewer_accumulators_for_small_grids() {
        assert_eq!(KernelShape::choose(true, 4096).accumulators, 32);
        assert_eq!(KernelShape::choose(true, 35).accumulators, 1);
        assert_eq!(KernelShape::choose(true, 1).accumulators, 1);
        assert_eq!(KernelShape::choose(true, 90_000).accumulators, 32);
        assert_eq!(KernelShape::choose(false, 4096).accumulators, 8);
    }

    #[test]
    fn kernels_with_many_constants_get_fewer_accumulators() {
        assert_eq!(KernelShape::choose_for(true, 4096, 6).accumulators, 32);
        assert_eq!(KernelShape::choose_for(true, 4096, 9).accumulators, 16);
        assert_eq!(KernelShape::choose_for(true, 4096, 40).accumulators, 4);
        assert_eq!(KernelShape::choose_for(true, 4096, 1000).accumulators, 1);
    }
}

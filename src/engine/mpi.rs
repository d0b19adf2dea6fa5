//! MPI ranks (cargo feature `mpi`, through rsmpi against the system MPI): `mpirun -n R klgrid
//! sweep ... --mpi` gives rank r shard r+1 of R ([`crate::engine::shard`]); [`Mpi::reduce`]
//! brings the ranks' exact partials to rank 0, which merges them ([`crate::engine::merge`]) —
//! the result is the same bits for any R — and alone writes the report.
//!
//! No rank is left waiting: every rank computes its shard with no communication, then takes
//! part in the same fixed sequence of messages whatever happened —
//!
//! 1. every rank sends rank 0 its status: its partials' header, or its error;
//! 2. rank 0 checks them (the first error by rank, or a mismatch between the shards) and
//!    broadcasts the verdict; on an error every rank stops there with that message;
//! 3. every rank sends rank 0 its partials (the bytes of a partial file), which rank 0 adds into
//!    one exact accumulation as they come;
//! 4. rank 0 writes the report and broadcasts the exit code and message, which every rank
//!    returns.
//!
//! Messages longer than 1 GiB are sent in pieces (MPI counts are 32-bit).

use crate::engine::merge::{self, Merged};
use crate::engine::partial_file::{encode, PartialHeader, PartialReader};
use crate::engine::shard::ShardOutput;
use crate::error::{Error, Result};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{CommunicatorCollectives, Destination, Root, Source};

/// Bytes per MPI message.
const PIECE: usize = 1 << 30;

/// How a rank ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Rank 0, with its exit code.
    Root(i32),
    /// Another rank, with rank 0's exit code.
    Other(i32),
}

/// This process's place in the MPI job.
pub struct Mpi {
    _universe: mpi::environment::Universe,
    world: SimpleCommunicator,
}

/// An error as plain data: its kind and message, so that every rank reports the same.
fn error_to_bytes(e: &Error) -> Vec<u8> {
    let (kind, msg) = match e {
        Error::Input(m) => (0u8, m.clone()),
        Error::Io { .. } => (0, e.to_string()),
        Error::NoAdapter(m) => (1, m.clone()),
        Error::Gpu(m) => (2, m.clone()),
        Error::Numeric(m) => (3, m.clone()),
        Error::Output(m) => (4, m.clone()),
        Error::Cancelled => (5, String::new()),
    };
    let mut b = vec![kind];
    b.extend_from_slice(msg.as_bytes());
    b
}

fn error_from_bytes(b: &[u8]) -> Error {
    let msg = String::from_utf8_lossy(b.get(1..).unwrap_or_default()).into_owned();
    match b.first() {
        Some(1) => Error::NoAdapter(msg),
        Some(2) => Error::Gpu(msg),
        Some(3) => Error::Numeric(msg),
        Some(4) => Error::Output(msg),
        Some(5) => Error::Cancelled,
        _ => Error::Input(msg),
    }
}

/// The exit code `main` gives an error (2 for bad input, else 1).
fn code_of(e: &Error) -> i32 {
    if e.is_input() {
        2
    } else {
        1
    }
}

/// Prefixes an error's message with the rank it happened on.
fn on_rank(rank: usize, e: Error) -> Error {
    let b = error_to_bytes(&e);
    let mut out = vec![b[0]];
    out.extend_from_slice(format!("rank {rank}: ").as_bytes());
    out.extend_from_slice(&b[1..]);
    error_from_bytes(&out)
}

impl Mpi {
    /// Initialises MPI (once per process).
    pub fn init() -> Result<Mpi> {
        let universe = mpi::initialize().ok_or_else(|| {
            Error::input("--mpi: MPI could not be initialised (or was initialised twice)")
        })?;
        let world = universe.world();
        Ok(Mpi {
            _universe: universe,
            world,
        })
    }

    /// This rank (0-based).
    pub fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// Sends `bytes` to rank 0: the length, then pieces of at most [`PIECE`] bytes.
    fn send_root(&self, bytes: &[u8]) {
        let root = self.world.process_at_rank(0);
        root.send(&(bytes.len() as u64));
        for p in bytes.chunks(PIECE) {
            root.send(p);
        }
    }

    /// Receives what rank `r` sent with [`Mpi::send_root`].
    fn receive_from(&self, r: usize) -> Vec<u8> {
        let p = self.world.process_at_rank(r as i32);
        let (len, _) = p.receive::<u64>();
        let mut out = Vec::with_capacity(len as usize);
        while (out.len() as u64) < len {
            let (piece, _) = p.receive_vec::<u8>();
            out.extend_from_slice(&piece);
        }
        out
    }

    /// Waits until every rank is here: called after rank 0 has written its report or its error,
    /// so that no rank exits first (mpirun then aborts the job, and rank 0's message can be lost).
    pub fn barrier(&self) {
        self.world.barrier();
    }

    /// Broadcasts rank 0's `bytes` (ignored elsewhere) to every rank.
    fn broadcast(&self, bytes: Vec<u8>) -> Vec<u8> {
        let root = self.world.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        let mut buf = if self.rank() == 0 {
            bytes
        } else {
            vec![0u8; len as usize]
        };
        for p in buf.chunks_mut(PIECE) {
            root.broadcast_into(p);
        }
        buf
    }

    /// Brings every rank's shard (`mine`) to rank 0, which merges them and passes the merged
    /// sweep to `report` (its exit code); see the module documentation for the sequence. Rank 0
    /// returns its error, if any; every other rank returns rank 0's exit code (its message is
    /// printed once, by rank 0).
    pub fn reduce(
        &self,
        mine: Result<ShardOutput>,
        report: impl FnOnce(Merged) -> Result<i32>,
    ) -> Result<Verdict> {
        let (rank, size) = (self.rank(), self.size());
        // 1. Status: the header, or the error.
        let status = match &mine {
            Ok(o) => match serde_json::to_vec(&o.header) {
                Ok(h) => {
                    let mut b = vec![0u8];
                    b.extend(h);
                    b
                }
                Err(e) => {
                    let mut b = vec![1u8];
                    b.extend(error_to_bytes(&Error::Output(format!("rank {rank}: {e}"))));
                    b
                }
            },
            Err(e) => {
                let mut b = vec![1u8];
                b.extend(error_to_bytes(&on_rank(rank, clone_error(e))));
                b
            }
        };
        // 2. The verdict of rank 0.
        let mut headers: Vec<(String, PartialHeader)> = Vec::new();
        let mut notes = Vec::new();
        let verdict = if rank == 0 {
            let mut first_error: Option<Vec<u8>> = None;
            for r in 0..size {
                let b = if r == 0 {
                    status.clone()
                } else {
                    self.receive_from(r)
                };
                match b.first() {
                    Some(0) => match serde_json::from_slice::<PartialHeader>(&b[1..]) {
                        Ok(h) => headers.push((format!("rank {r}"), h)),
                        Err(e) => {
                            first_error.get_or_insert_with(|| {
                                error_to_bytes(&Error::Output(format!(
                                    "rank {r}: unreadable partials header: {e}"
                                )))
                            });
                        }
                    },
                    _ => {
                        first_error.get_or_insert_with(|| b.get(1..).unwrap_or_default().to_vec());
                    }
                }
            }
            let v = match first_error {
                Some(e) => e,
                None => match merge::check(&headers) {
                    Ok(n) => {
                        notes = n;
                        Vec::new()
                    }
                    Err(e) => error_to_bytes(&e),
                },
            };
            self.broadcast(v)
        } else {
            self.send_root(&status);
            self.broadcast(Vec::new())
        };
        if !verdict.is_empty() {
            let e = error_from_bytes(&verdict);
            return if rank == 0 {
                Err(e)
            } else {
                Ok(Verdict::Other(code_of(&e)))
            };
        }
        // 3. The partials.
        let mine = mine.expect("a verdict without errors means every rank has its partials");
        let outcome: Result<i32> = if rank == 0 {
            let mut acc = merge::accumulator(&headers[0].1);
            acc.merge_range(mine.header.grid_shard.range[0] as usize, &mine.sums);
            let mut failed: Option<Error> = None;
            for r in 1..size {
                let b = self.receive_from(r);
                if failed.is_some() {
                    continue;
                }
                if b.is_empty() {
                    failed = Some(Error::Output(format!(
                        "rank {r} could not send its partials"
                    )));
                    continue;
                }
                let res = PartialReader::new(&b[..], format!("rank {r}"))
                    .and_then(|p| p.merge_into(&mut acc, 0));
                if let Err(e) = res {
                    failed = Some(e);
                }
            }
            match failed {
                Some(e) => Err(e),
                None => merge::finish(&headers, acc, notes).and_then(report),
            }
        } else {
            // Always send, an empty message on failure, so that rank 0 never waits in vain.
            let mut bytes = Vec::new();
            let res = encode(&mine.header, &mine.sums, &mut bytes);
            if res.is_err() {
                bytes.clear();
            }
            self.send_root(&bytes);
            Ok(0)
        };
        // 4. Rank 0's exit code and message, to every rank.
        let last = if rank == 0 {
            let b = match &outcome {
                Ok(code) => {
                    let mut b = vec![0u8];
                    b.extend_from_slice(&code.to_le_bytes());
                    b
                }
                Err(e) => {
                    let mut b = vec![1u8];
                    b.extend(error_to_bytes(e));
                    b
                }
            };
            self.broadcast(b)
        } else {
            self.broadcast(Vec::new())
        };
        if rank == 0 {
            return outcome.map(Verdict::Root);
        }
        Ok(Verdict::Other(match last.first() {
            Some(0) => i32::from_le_bytes(last[1..5].try_into().unwrap_or([0, 0, 0, 1])),
            _ => code_of(&error_from_bytes(&last[1..])),
        }))
    }
}

/// A copy of an error (the library's error type holds an `io::Error`, which does not clone).
fn clone_error(e: &Error) -> Error {
    error_from_bytes(&error_to_bytes(e))
}

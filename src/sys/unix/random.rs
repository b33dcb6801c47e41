//! Unpredictable bits: the seed of the temp names and the numbers drawn from it.

use std::fs::File;
use std::io;

/// 64 unpredictable bits without a syscall per call: a hash of a secret
/// 128-bit seed and a process-wide counter, so names differ from call to call
/// and cannot be guessed by other users. The seed is read from the OS's random
/// source once per process ([`fill_random`](crate::sys::fill_random)); failing to read it
/// is an error, not a panic (std's `RandomState` panics when the OS random
/// source fails). A forked child may
/// repeat its parent's names; the exclusive create or link then fails with
/// `EEXIST` and the caller draws again.
pub(super) fn random_u64() -> io::Result<u64> {
    use std::hash::Hasher;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static SEED: OnceLock<[u8; 16]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = match SEED.get() {
        Some(seed) => seed,
        None => {
            let mut seed = [0u8; 16];
            crate::sys::fill_random(&mut seed)?;
            SEED.get_or_init(|| seed)
        }
    };
    let mut h = std::hash::DefaultHasher::new();
    h.write(seed);
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    Ok(h.finish())
}

/// Fills `buf` from `/dev/urandom`.
#[allow(dead_code)] // Linux has its own.
pub(crate) fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    use std::io::Read;
    File::open("/dev/urandom")?.read_exact(buf)
}

//! Unpredictable bits: the seed of the temp names (`BCryptGenRandom`) and
//! the numbers drawn from it.
#![allow(unsafe_code)]

use std::io;

/// 64 unpredictable bits: a hash of a secret seed read once from the OS's
/// random source and a process-wide counter (as on Unix).
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
            fill_random(&mut seed)?;
            SEED.get_or_init(|| seed)
        }
    };
    let mut h = std::hash::DefaultHasher::new();
    h.write(seed);
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    Ok(h.finish())
}

/// Fills `buf` from the system's preferred random generator (`BCryptGenRandom`).
fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    use windows_sys::Win32::Security::Cryptography as c;
    for chunk in buf.chunks_mut(u32::MAX as usize) {
        // SAFETY: `chunk` is a valid buffer of the length given; a null
        // algorithm handle is what BCRYPT_USE_SYSTEM_PREFERRED_RNG requires.
        let status = unsafe {
            c::BCryptGenRandom(
                std::ptr::null_mut(),
                chunk.as_mut_ptr(),
                chunk.len() as u32,
                c::BCRYPT_USE_SYSTEM_PREFERRED_RNG,
            )
        };
        if status < 0 {
            return Err(io::Error::other(format!(
                "BCryptGenRandom failed: NTSTATUS {status:#x}"
            )));
        }
    }
    Ok(())
}

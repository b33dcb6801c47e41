//! Arbitrary byte strings as paths under a scratch directory: never a panic,
//! never a temp left, never a write anywhere but the one file the path names;
//! an error where the path names no file (see `src/paths.rs`).
#![no_main]

use atomic_write_fuzz::{decode, paths, scratch_base};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    if let Ok(case) = decode::path_case(&mut u) {
        paths::check(&case, scratch_base());
    }
});

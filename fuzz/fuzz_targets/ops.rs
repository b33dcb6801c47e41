//! Sequences of `AtomicFile` operations over several targets, checked step by
//! step against the model in `tests/model/ops.rs` (see there).
#![no_main]

use atomic_write_fuzz::{decode, ops, scratch_base};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    if let Ok(case) = decode::case(&mut u) {
        ops::run(&case, scratch_base());
    }
});

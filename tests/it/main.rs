//! The integration tests: one test binary, one module per concern (see
//! TESTING.md for what each covers). The harnesses that need a process of
//! their own (the model under proptest, the kill and fault-injection matrices,
//! the two power-loss suites) are separate test targets.
//!
//! Tests that need root, a tool beyond a plain Linux user's or the full
//! suite's time are `#[ignore = "why"]`: `cargo test` reports them as ignored,
//! `ATOMIC_WRITE_FULL_SUITE=1 cargo test --all-features -- --include-ignored`
//! runs them (and there a missing prerequisite fails the test).
// Linux only: the suites share tests/common, which drives the Linux CLI
// and reads attributes with Linux calls (`lsetxattr`, …); elsewhere (macOS,
// FreeBSD type-checks, Windows) this binary is empty and the library's own
// tests (src/tests/) are what runs.
#![cfg(target_os = "linux")]

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod allocations;
mod append;
mod backup_kinds;
mod backups;
mod batch;
mod cli;
mod cli_docs;
mod cli_hints;
mod cli_modes;
mod cli_no_empty;
mod concurrency;
mod copies;
mod dist;
mod errors;
mod force;
mod if_changed;
mod metadata;
mod named_temp;
mod names;
mod no_clobber;
mod oneshot;
mod parents;
mod protections;
mod real_faults;
mod reflink;
mod regressions;
mod sandbox;
mod stream_memory;
mod streaming;
mod stress;
mod sweep;
mod symlinks;
mod syscalls;
mod validate;
mod xattrs;

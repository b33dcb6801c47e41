//! Model-based test: random sequences of `AtomicFile` operations over several
//! targets (pre-existing files, symlinks, directories, FIFOs), each step
//! checked against a `Vec<u8>` model of every file — content, mode, that a
//! target is untouched until commit, and that the directory holds nothing
//! else. The model is in `tests/model/ops.rs`, shared with the `ops` fuzz
//! target; this file only generates cases, with proptest.
//!
//! 64 cases by default (well under a second); 2048 with `ATOMIC_WRITE_FULL_SUITE=1`;
//! `PROPTEST_CASES` overrides both.
// Linux only: the suites share tests/common, which drives the Linux CLI
// and reads attributes with Linux calls (`lsetxattr`, …); elsewhere (macOS,
// FreeBSD type-checks, Windows) this binary is empty and the library's own
// tests (src/tests/) are what runs.
#![cfg(target_os = "linux")]

mod common;
#[path = "model/ops.rs"]
mod ops;

use std::io::SeekFrom;

use ops::{Case, Create, Init, Link, Op, SLOTS};
use proptest::prelude::*;

fn mode() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => prop::sample::select(vec![0o644, 0o600, 0o755, 0o640, 0o444, 0o4755, 0o2750, 0o1777, 0]),
        1 => 0..=0o7777u32,
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn init() -> impl Strategy<Value = Init> {
    let link = prop_oneof![
        (0..SLOTS).prop_map(Link::Slot),
        (0..SLOTS).prop_map(Link::Abs),
        (0..SLOTS).prop_map(Link::Missing),
    ];
    prop_oneof![
        3 => Just(Init::Absent),
        3 => (bytes(64), mode()).prop_map(|(content, mode)| Init::File { content, mode }),
        2 => link.prop_map(Init::Link),
        1 => Just(Init::Dir),
        1 => Just(Init::Fifo),
    ]
}

fn create() -> impl Strategy<Value = Create> {
    (
        0..SLOTS,
        prop::option::weighted(0.3, mode()),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.25),
    )
        .prop_map(
            |(slot, mode, no_clobber, append, follow, full_sync, named)| Create {
                slot,
                mode,
                no_clobber,
                append,
                follow,
                full_sync,
                named,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    let h = 0..4usize;
    prop_oneof![
        3 => create().prop_map(Op::Create),
        3 => (h.clone(), bytes(48)).prop_map(|(h, data)| Op::Write { h, data }),
        2 => (h.clone(), bytes(48)).prop_map(|(h, data)| Op::WriteAll { h, data }),
        2 => (h.clone(), prop_oneof![
            (0..200u64).prop_map(SeekFrom::Start),
            (-150..150i64).prop_map(SeekFrom::End),
            (-150..150i64).prop_map(SeekFrom::Current),
        ]).prop_map(|(h, pos)| Op::Seek { h, pos }),
        1 => h.clone().prop_map(|h| Op::Flush { h }),
        1 => (h.clone(), 0..200u64).prop_map(|(h, len)| Op::SetLen { h, len }),
        1 => (h.clone(), 0..SLOTS).prop_map(|(h, slot)| Op::CopyFrom { h, slot }),
        2 => h.clone().prop_map(|h| Op::Commit { h }),
        1 => prop::collection::vec(0..4usize, 0..4).prop_map(|hs| Op::CommitAll { hs }),
        1 => (create(), bytes(48)).prop_map(|(create, data)| Op::WriteBytes { create, data }),
        1 => h.clone().prop_map(|h| Op::Discard { h }),
        1 => h.prop_map(|h| Op::Drop { h }),
        1 => (0..SLOTS, bytes(32)).prop_map(|(slot, data)| Op::External { slot, data }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(init(), SLOTS),
        prop::collection::vec(op(), 0..32),
    )
        .prop_map(|(init, ops)| Case { init, ops })
}

fn config() -> ProptestConfig {
    let cases = if common::full_suite() { 2048 } else { 64 };
    // PROPTEST_CASES in the environment still wins, as proptest documents.
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn operation_sequences_match_the_model(case in case()) {
        let base = common::scratch();
        ops::run(&case, base.path());
    }
}

/// The model is not vacuous: a few fixed cases with known outcomes.
#[test]
fn model_examples() {
    let base = common::scratch();
    let file = |content: &[u8], mode| Init::File {
        content: content.to_vec(),
        mode,
    };
    let create = |slot, append, named| {
        Op::Create(Create {
            slot,
            mode: None,
            no_clobber: false,
            append,
            follow: true,
            full_sync: false,
            named,
        })
    };
    // Append through a symlink, seek back, overwrite, commit: the link stays.
    let case = Case {
        init: vec![
            file(b"hello", 0o640),
            Init::Link(Link::Slot(0)),
            Init::Absent,
            Init::Dir,
            Init::Fifo,
            Init::Link(Link::Slot(5)),
        ],
        ops: vec![
            create(1, true, true),
            Op::Seek {
                h: 0,
                pos: SeekFrom::Start(1),
            },
            Op::WriteAll {
                h: 0,
                data: b"ELLO world".to_vec(),
            },
            Op::Commit { h: 0 },
            create(2, false, false),
            Op::WriteAll {
                h: 0,
                data: b"new".to_vec(),
            },
            Op::Drop { h: 0 },
            create(3, false, false), // a directory: refused
            create(4, false, false), // a FIFO: refused
            create(5, false, false), // a self-loop: refused
        ],
    };
    ops::run(&case, base.path());
}

/// The checks are live: a change the model did not predict fails the run — a
/// target changed (or created) and a stray temp-like file.
#[test]
fn model_catches_changes_it_did_not_predict() {
    let base = common::scratch();
    let file = Init::File {
        content: b"x".to_vec(),
        mode: 0o644,
    };
    for (init, slot) in [
        (Init::Absent, Some(0)),
        (file.clone(), Some(0)),
        (file, None),
    ] {
        let case = Case {
            init: vec![init; SLOTS],
            ops: vec![Op::Sabotage { slot }],
        };
        let caught = std::panic::catch_unwind(|| ops::run(&case, base.path()));
        assert!(caught.is_err(), "sabotage not detected: {case:?}");
    }
}

//! Turning fuzzer bytes into structured cases with [`arbitrary::Unstructured`].
//! Every decoder succeeds on any input (running out of bytes gives zeros).

use std::ffi::OsString;
use std::io::SeekFrom;
use std::os::unix::ffi::OsStringExt;

use arbitrary::{Result, Unstructured};

use crate::ops::{Case, Create, Init, Link, Op, SLOTS};
use crate::paths::PathCase;

const MODES: [u32; 9] = [0o644, 0o600, 0o755, 0o640, 0o444, 0o4755, 0o2750, 0o1777, 0];

fn mode(u: &mut Unstructured) -> Result<u32> {
    if u.ratio(3, 4)? {
        u.choose(&MODES).copied()
    } else {
        u.int_in_range(0..=0o7777)
    }
}

/// Up to `max` bytes, as many as remain.
fn bytes(u: &mut Unstructured, max: usize) -> Result<Vec<u8>> {
    let n = u.int_in_range(0..=max)?.min(u.len());
    Ok(u.bytes(n)?.to_vec())
}

fn slot(u: &mut Unstructured) -> Result<usize> {
    u.choose_index(SLOTS)
}

fn init(u: &mut Unstructured) -> Result<Init> {
    Ok(match u.int_in_range(0..=9u8)? {
        0..=2 => Init::Absent,
        3..=5 => Init::File {
            content: bytes(u, 128)?,
            mode: mode(u)?,
        },
        6 | 7 => Init::Link(match u.int_in_range(0..=2u8)? {
            0 => Link::Slot(slot(u)?),
            1 => Link::Abs(slot(u)?),
            _ => Link::Missing(slot(u)?),
        }),
        8 => Init::Dir,
        _ => Init::Fifo,
    })
}

fn create(u: &mut Unstructured) -> Result<Create> {
    Ok(Create {
        slot: slot(u)?,
        mode: if u.ratio(1, 3)? { Some(mode(u)?) } else { None },
        no_clobber: u.ratio(1, 5)?,
        append: u.ratio(1, 3)?,
        follow: !u.ratio(1, 5)?,
        full_sync: u.ratio(1, 8)?,
        named: u.ratio(1, 4)?,
    })
}

fn op(u: &mut Unstructured) -> Result<Op> {
    let h = u.int_in_range(0..=3usize)?;
    Ok(match u.int_in_range(0..=17u8)? {
        0..=2 => Op::Create(create(u)?),
        16 => Op::CommitAll {
            hs: (0..u.int_in_range(0..=4u8)?)
                .map(|_| u.int_in_range(0..=3usize))
                .collect::<Result<_>>()?,
        },
        17 => Op::WriteBytes {
            create: create(u)?,
            data: bytes(u, 128)?,
        },
        3 | 4 => Op::Write {
            h,
            data: bytes(u, 256)?,
        },
        5 => Op::WriteAll {
            h,
            data: bytes(u, 256)?,
        },
        6 | 7 => Op::Seek {
            h,
            pos: match u.int_in_range(0..=2u8)? {
                0 => SeekFrom::Start(u.int_in_range(0..=4096)?),
                1 => SeekFrom::End(u.int_in_range(-4096..=4096)?),
                _ => SeekFrom::Current(u.int_in_range(-4096..=4096)?),
            },
        },
        8 => Op::Flush { h },
        9 => Op::SetLen {
            h,
            len: u.int_in_range(0..=8192)?,
        },
        10 => Op::CopyFrom { h, slot: slot(u)? },
        11 | 12 => Op::Commit { h },
        13 => Op::Discard { h },
        14 => Op::Drop { h },
        _ => Op::External {
            slot: slot(u)?,
            data: bytes(u, 64)?,
        },
    })
}

/// The initial slots, then operations until the input runs out (64 at most).
pub fn case(u: &mut Unstructured) -> Result<Case> {
    let init = (0..SLOTS).map(|_| init(u)).collect::<Result<_>>()?;
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < 64 {
        ops.push(op(u)?);
    }
    Ok(Case { init, ops })
}

/// Names the scratch tree holds, `.`, `..`, and the longest legal name.
const KNOWN: [&str; 16] = [
    "a", "d", "b", "e", "la", "ld", "dang", "loop", "up", "abs", "fifo", "dslash", "nothere",
    "box", "sentinel", "keep",
];

/// A path relative to the scratch box: either raw bytes or `/`-joined pieces
/// (known names, `.`, `..`, empty, a byte repeated up to 300 times, a
/// directory walk repeated to near or past PATH_MAX, raw bytes).
pub fn path_case(u: &mut Unstructured) -> Result<PathCase> {
    let follow = !u.ratio(1, 5)?;
    let no_clobber = u.ratio(1, 5)?;
    let named = u.ratio(1, 4)?;
    let commit = u.ratio(3, 4)?;
    let relative = u.ratio(1, 3)?;
    let rel = if u.ratio(1, 4)? {
        u.bytes(u.len())?.to_vec()
    } else {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for _ in 0..u.int_in_range(1..=6u8)? {
            parts.push(match u.int_in_range(0..=10u8)? {
                0..=3 => u.choose(&KNOWN)?.as_bytes().to_vec(),
                4 => b".".to_vec(),
                5 => b"..".to_vec(),
                6 => Vec::new(),
                7 => {
                    let b: u8 = u.arbitrary()?;
                    let n = *u.choose(&[1usize, 254, 255, 256, 300])?;
                    vec![b; n]
                }
                8 => {
                    let walk = *u.choose(&[".", "d/..", "ld/..", "d/e/../.."])?;
                    let n = *u.choose(&[10usize, 500, 1000, 1100, 1400])?;
                    vec![walk; n].join("/").into_bytes()
                }
                _ => bytes(u, 16)?,
            });
        }
        let mut rel = parts.join(&b'/');
        if u.ratio(1, 6)? {
            rel.push(b'/');
        }
        rel
    };
    Ok(PathCase {
        rel,
        follow,
        no_clobber,
        named,
        commit,
        relative,
    })
}

/// An argument list: known flags, values and raw bytes in any order.
pub fn argv(u: &mut Unstructured) -> Result<Vec<OsString>> {
    const FLAGS: [&str; 24] = [
        "-m",
        "--mode",
        "--mode=644",
        "-m0o755",
        "-n",
        "--no-clobber",
        "-a",
        "--append",
        "--no-sync",
        "--no-follow",
        "--sweep",
        "--older-than",
        "--older-than=0",
        "--",
        "-",
        "-h",
        "--help",
        "-V",
        "--version",
        "-nam",
        "7777",
        "10000",
        "out.txt",
        "true",
    ];
    let mut args = vec![OsString::from("atomic-write")];
    while !u.is_empty() && args.len() < 12 {
        args.push(if u.ratio(2, 3)? {
            OsString::from(*u.choose(&FLAGS)?)
        } else {
            OsString::from_vec(bytes(u, 24)?)
        });
    }
    Ok(args)
}

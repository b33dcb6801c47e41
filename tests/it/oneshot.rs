//! One-shot writes: `write_bytes`, `write_text` and their `Options` forms,
//! binary data, empty data.

use crate::common::*;
use atomic_write::{Durability, Options};

fn all_bytes() -> Vec<u8> {
    // Every byte value, NULs included, several times over.
    (0..4096u32).map(|i| (i % 256) as u8).collect()
}

#[test]
fn write_bytes_new_and_existing() {
    let d = scratch();
    let p = d.path().join("f");
    atomic_write::write_bytes(&p, b"first").unwrap();
    assert_eq!(read(&p), b"first");
    atomic_write::write_bytes(&p, b"second, longer").unwrap();
    assert_eq!(read(&p), b"second, longer");
    assert_only(d.path(), &["f"]);
}

#[test]
fn write_text_is_utf8() {
    let d = scratch();
    let p = d.path().join("t.txt");
    let text = "naïve café — 日本語 🦀\n";
    atomic_write::write_text(&p, text).unwrap();
    assert_eq!(read(&p), text.as_bytes());
    assert_only(d.path(), &["t.txt"]);
}

#[test]
fn nul_bytes_kept() {
    let d = scratch();
    let p = d.path().join("bin");
    let data = all_bytes();
    atomic_write::write_bytes(&p, &data).unwrap();
    assert_eq!(read(&p), data);
    let text = "a\0b\0\0c";
    atomic_write::write_text(&p, text).unwrap();
    assert_eq!(read(&p), text.as_bytes());
}

#[test]
fn empty_data() {
    let d = scratch();
    let p = d.path().join("e");
    atomic_write::write_bytes(&p, b"").unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
    std::fs::write(&p, b"not empty").unwrap();
    atomic_write::write_bytes(&p, b"").unwrap();
    assert_eq!(read(&p), b"");
    std::fs::write(&p, b"not empty").unwrap();
    atomic_write::write_text(&p, "").unwrap();
    assert_eq!(read(&p), b"");
    assert_only(d.path(), &["e"]);
}

both_paths! {
    /// `Options::write_bytes` / `write_text` on both temp paths, binary and empty.
    fn options_forms(named: bool) {
        let d = scratch();
        let p = d.path().join("o");
        let data = all_bytes();
        opts(named).write_bytes(&p, &data).unwrap();
        assert_eq!(read(&p), data);
        opts(named).write_text(&p, "text ✓").unwrap();
        assert_eq!(read(&p), "text ✓".as_bytes());
        opts(named).write_bytes(&p, b"").unwrap();
        assert_eq!(read(&p), b"");
        opts(named).mode(0o600).write_text(&p, "secret").unwrap();
        assert_eq!(read(&p), b"secret");
        assert_eq!(mode(&p), 0o600);
        assert_only(d.path(), &["o"]);
    }

    /// `Durability::None` writes the same bytes (only the syncs are skipped).
    fn durability_none(named: bool) {
        let d = scratch();
        let p = d.path().join("n");
        opts(named)
            .durability(Durability::None)
            .write_bytes(&p, b"fast")
            .unwrap();
        assert_eq!(read(&p), b"fast");
        assert_only(d.path(), &["n"]);
    }

    /// A failing one-shot (missing parent) writes nothing anywhere.
    fn failure_writes_nothing(named: bool) {
        let d = scratch();
        let err = opts(named)
            .write_bytes(d.path().join("missing/f"), b"x")
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert_only(d.path(), &[]);
    }
}

/// The options builder is non-consuming and reusable, `Clone` and `Debug`.
#[test]
fn options_reusable() {
    let d = scratch();
    let mut o = Options::new();
    o.mode(0o640);
    let o2 = o.clone();
    for name in ["a", "b"] {
        o.write_bytes(d.path().join(name), name.as_bytes()).unwrap();
    }
    o2.write_text(d.path().join("c"), "c").unwrap();
    for name in ["a", "b", "c"] {
        assert_eq!(mode(&d.path().join(name)), 0o640);
        assert_eq!(read(&d.path().join(name)), name.as_bytes());
    }
    assert!(format!("{o:?}").contains("mode"));
    let _ = Options::default();
}

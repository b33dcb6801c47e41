//! Writing a file in one call or through [`Options`]: new and existing
//! targets, any content, any name, the mode and append options.

use std::fs;
#[cfg(unix)] // The one test that writes through the handle is Unix-only.
use std::io::Write;

use super::{names, no_temp, tmp};
use crate::{AtomicFile, Durability, Options};

#[test]
fn write_bytes_creates_a_new_file() {
    let d = tmp();
    let p = d.path().join("new.bin");
    crate::write_bytes(&p, b"\x00\x01\xff").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"\x00\x01\xff");
    assert_eq!(names(d.path()), ["new.bin"]);
}

#[test]
fn write_bytes_replaces_an_existing_file() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "old old old old").unwrap();
    crate::write_bytes(&p, b"new").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn write_text_writes_utf8() {
    let d = tmp();
    let p = d.path().join("t.txt");
    crate::write_text(&p, "héllo wörld ✓\n").unwrap();
    assert_eq!(fs::read_to_string(&p).unwrap(), "héllo wörld ✓\n");
}

#[test]
fn empty_content_makes_an_empty_file() {
    let d = tmp();
    let p = d.path().join("e");
    fs::write(&p, "something").unwrap();
    crate::write_bytes(&p, b"").unwrap();
    assert_eq!(fs::metadata(&p).unwrap().len(), 0);
}

#[test]
fn large_content_is_written_whole() {
    let d = tmp();
    let p = d.path().join("big");
    let data: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
    crate::write_bytes(&p, &data).unwrap();
    assert_eq!(fs::read(&p).unwrap(), data);
}

#[test]
fn target_is_absolute_and_names_the_file() {
    let d = tmp();
    let p = d.path().join("t");
    let f = AtomicFile::create(&p).unwrap();
    assert!(f.target().is_absolute());
    assert_eq!(f.target().file_name().unwrap(), "t");
    f.discard().unwrap();
}

#[test]
fn durability_none_still_replaces() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    Options::new()
        .durability(Durability::None)
        .write_bytes(&p, b"fast")
        .unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"fast");
    no_temp(d.path());
}

#[test]
fn a_read_only_mode_gives_a_read_only_file() {
    let d = tmp();
    let p = d.path().join("ro");
    Options::new().mode(0o444).write_bytes(&p, b"x").unwrap();
    assert!(fs::metadata(&p).unwrap().permissions().readonly());
    Options::new()
        .mode(0o644)
        .write_bytes(d.path().join("rw"), b"x")
        .unwrap();
    assert!(!fs::metadata(d.path().join("rw"))
        .unwrap()
        .permissions()
        .readonly());
}

/// (On Windows without POSIX renames an append cannot replace the target it
/// holds open: `sys::windows`'s tests cover that case.)
#[cfg(unix)]
#[test]
fn append_adds_to_the_existing_content() {
    let d = tmp();
    let p = d.path().join("log");
    fs::write(&p, "line 1\n").unwrap();
    let mut f = Options::new().append(true).create(&p).unwrap();
    f.write_all(b"line 2\n").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"line 1\n");
    f.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"line 1\nline 2\n");
    no_temp(d.path());
}

#[test]
fn one_options_serves_many_writes() {
    let d = tmp();
    let mut o = Options::new();
    o.durability(Durability::Full).no_clobber(false);
    for name in ["a", "b", "c"] {
        o.write_text(d.path().join(name), name).unwrap();
    }
    assert_eq!(names(d.path()), ["a", "b", "c"]);
    assert_eq!(fs::read_to_string(d.path().join("b")).unwrap(), "b");
}

#[test]
fn unicode_and_spaced_names_work() {
    let d = tmp();
    for name in ["données 日本.txt", "with space", "ünï ✓"] {
        let p = d.path().join(name);
        crate::write_text(&p, name).unwrap();
        crate::write_text(&p, name).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), name);
    }
    assert_eq!(names(d.path()).len(), 3);
    no_temp(d.path());
}

#[test]
fn a_long_name_works_and_leaves_no_temp() {
    let d = tmp();
    let name = "n".repeat(200);
    let p = d.path().join(&name);
    Options::new()
        .unnamed_temp(false)
        .write_bytes(&p, b"1")
        .unwrap();
    Options::new()
        .unnamed_temp(false)
        .write_bytes(&p, b"2")
        .unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"2");
    assert_eq!(names(d.path()), [name]);
}

//! Before and after the commit: nothing visible before it, the target kept
//! when the write is dropped or discarded, no temp left after it.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};

use super::{names, no_temp, tmp};
use crate::{AtomicFile, Options};

#[test]
fn nothing_is_visible_before_commit() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"new content").unwrap();
    f.flush().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"old");
    f.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"new content");
}

#[test]
fn a_new_target_does_not_exist_before_commit() {
    let d = tmp();
    let p = d.path().join("f");
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"x").unwrap();
    assert!(!p.exists());
    f.commit().unwrap();
    assert!(p.exists());
}

#[test]
fn drop_without_commit_keeps_the_target_and_removes_the_temp() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    {
        let mut f = Options::new().unnamed_temp(false).create(&p).unwrap();
        f.write_all(b"abandoned").unwrap();
    }
    assert_eq!(fs::read(&p).unwrap(), b"old");
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn discard_keeps_the_target_and_removes_the_temp() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    let mut f = Options::new().unnamed_temp(false).create(&p).unwrap();
    f.write_all(b"abandoned").unwrap();
    f.discard().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"old");
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn commit_leaves_no_temp() {
    let d = tmp();
    for i in 0..5 {
        Options::new()
            .unnamed_temp(false)
            .write_bytes(d.path().join("f"), format!("v{i}").as_bytes())
            .unwrap();
    }
    assert_eq!(names(d.path()), ["f"]);
    assert_eq!(fs::read(d.path().join("f")).unwrap(), b"v4");
}

#[test]
fn commit_into_file_hands_back_the_target() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"new data").unwrap();
    let mut file = f.commit_into_file().unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut s = String::new();
    file.read_to_string(&mut s).unwrap();
    assert_eq!(s, "new data");
    file.write_all(b"+more").unwrap();
    drop(file);
    assert_eq!(fs::read(&p).unwrap(), b"new data+more");
    no_temp(d.path());
}

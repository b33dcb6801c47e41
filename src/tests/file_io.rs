//! The write in progress as a file: read back, written through a shared
//! reference, vectored writes, truncation.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::tmp;
use crate::AtomicFile;

#[test]
fn what_was_written_can_be_read_back() {
    let d = tmp();
    let mut f = AtomicFile::create(d.path().join("f")).unwrap();
    f.write_all(b"hello world").unwrap();
    f.seek(SeekFrom::Start(6)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "world");
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"HELLO").unwrap();
    f.commit().unwrap();
    assert_eq!(fs::read(d.path().join("f")).unwrap(), b"HELLO world");
}

#[test]
fn writes_through_a_shared_reference() {
    let d = tmp();
    let f = AtomicFile::create(d.path().join("f")).unwrap();
    (&f).write_all(b"shared ").unwrap();
    write!(&f, "{}", 42).unwrap();
    f.commit().unwrap();
    assert_eq!(fs::read(d.path().join("f")).unwrap(), b"shared 42");
}

#[test]
fn write_vectored_writes_every_slice() {
    let d = tmp();
    let mut f = AtomicFile::create(d.path().join("f")).unwrap();
    let bufs = [io::IoSlice::new(b"ab"), io::IoSlice::new(b"cd")];
    let mut n = f.write_vectored(&bufs).unwrap();
    if n < 4 {
        f.write_all(&b"abcd"[n..]).unwrap();
        n = 4;
    }
    assert_eq!(n, 4);
    f.commit().unwrap();
    assert_eq!(fs::read(d.path().join("f")).unwrap(), b"abcd");
}

#[test]
fn the_file_can_be_truncated_before_commit() {
    let d = tmp();
    let mut f = AtomicFile::create(d.path().join("f")).unwrap();
    f.write_all(b"0123456789").unwrap();
    f.as_file_mut().set_len(4).unwrap();
    f.commit().unwrap();
    assert_eq!(fs::read(d.path().join("f")).unwrap(), b"0123");
}

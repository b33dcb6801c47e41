//! `no_clobber`: a new file only, and one winner among racers.

use std::fs;
use std::io::{self, Write};
use std::sync::{Arc, Barrier};

use super::{names, no_temp, tmp};
use crate::Options;

#[test]
fn no_clobber_creates_a_new_file() {
    let d = tmp();
    let p = d.path().join("f");
    Options::new()
        .no_clobber(true)
        .write_bytes(&p, b"first")
        .unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"first");
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn no_clobber_refuses_an_existing_target() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    let err = Options::new()
        .no_clobber(true)
        .write_bytes(&p, b"new")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fs::read(&p).unwrap(), b"old");
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn no_clobber_refuses_a_target_created_after_create() {
    let d = tmp();
    let p = d.path().join("f");
    let mut f = Options::new().no_clobber(true).create(&p).unwrap();
    f.write_all(b"mine").unwrap();
    fs::write(&p, "theirs").unwrap();
    let err = f.commit().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fs::read(&p).unwrap(), b"theirs");
    no_temp(d.path());
}

#[test]
fn no_clobber_racers_exactly_one_wins() {
    let d = tmp();
    let p = Arc::new(d.path().join("f"));
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4u8)
        .map(|i| {
            let (p, b) = (Arc::clone(&p), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut f = Options::new().no_clobber(true).create(&*p)?;
                f.write_all(&[b'a' + i; 64])?;
                b.wait();
                f.commit()
            })
        })
        .collect();
    let results: Vec<io::Result<()>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.kind(), io::ErrorKind::AlreadyExists, "{r}");
    }
    let content = fs::read(&*p).unwrap();
    assert_eq!(content.len(), 64);
    assert!(content.iter().all(|&c| c == content[0]));
    no_temp(d.path());
}

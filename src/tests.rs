//! The library's own tests of its public behaviour that hold on every
//! platform: run by `cargo test` on Linux and, built for
//! `x86_64-pc-windows-gnu`, under Wine (the integration tests drive the Unix
//! CLI and are not built there). Windows-only cases are in `sys::windows`.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::{commit_all, os_error, AtomicFile, Durability, Options};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn no_temp(dir: &Path) {
    let left: Vec<String> = names(dir)
        .into_iter()
        .filter(|n| crate::sys::is_temp_name(n.as_ref()))
        .collect();
    assert!(left.is_empty(), "temp files left behind: {left:?}");
}

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
fn a_named_temp_lives_beside_the_target_with_the_temp_shape() {
    let d = tmp();
    let p = d.path().join("data.json");
    let f = Options::new().unnamed_temp(false).create(&p).unwrap();
    let n = names(d.path());
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].starts_with(".data.json.atomic-write-"), "{n:?}");
    assert!(n[0].ends_with(".tmp"), "{n:?}");
    assert!(crate::sys::is_temp_name(n[0].as_ref()));
    f.commit().unwrap();
    assert_eq!(names(d.path()), ["data.json"]);
}

#[test]
fn temp_names_differ_and_have_the_shape() {
    let a = crate::sys::temp_name("x".as_ref()).unwrap();
    let b = crate::sys::temp_name("x".as_ref()).unwrap();
    assert_ne!(a, b);
    assert!(crate::sys::is_temp_name(&a) && crate::sys::is_temp_name(&b));
}

#[test]
fn temp_names_of_long_targets_stay_within_255() {
    let long = "é".repeat(300);
    let t = crate::sys::temp_name(long.as_ref()).unwrap();
    let s = t
        .to_str()
        .expect("still UTF-8: cut at a character boundary");
    assert!(crate::sys::is_temp_name(&t));
    // Bytes on Unix, UTF-16 units on Windows: both within 255.
    assert!(
        s.len() <= 255 || s.encode_utf16().count() <= 255,
        "{}",
        s.len()
    );
}

#[test]
fn is_temp_name_rejects_other_names() {
    for n in [
        "f",
        ".f.tmp",
        "f.atomic-write-0123456789abcdef.tmp",
        ".f.atomic-write-0123456789abcdeg.tmp",
        ".f.atomic-write-0123456789abcdef.tm",
        ".f.atomic-write-0123456789abcde.tmp",
    ] {
        assert!(!crate::sys::is_temp_name(n.as_ref()), "{n}");
    }
    assert!(crate::sys::is_temp_name(
        ".f.atomic-write-0123456789abcdef.tmp".as_ref()
    ));
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
fn target_is_absolute_and_names_the_file() {
    let d = tmp();
    let p = d.path().join("t");
    let f = AtomicFile::create(&p).unwrap();
    assert!(f.target().is_absolute());
    assert_eq!(f.target().file_name().unwrap(), "t");
    f.discard().unwrap();
}

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

#[test]
fn a_directory_target_is_a_directory_error() {
    let d = tmp();
    let p = d.path().join("sub");
    fs::create_dir(&p).unwrap();
    let err = crate::write_bytes(&p, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
    assert!(p.is_dir());
    assert_eq!(names(d.path()), ["sub"]);
}

#[test]
fn a_missing_parent_is_not_found() {
    let d = tmp();
    let p = d.path().join("missing").join("f");
    let err = crate::write_bytes(&p, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert!(os_error(&err).is_some(), "keeps the OS error: {err:?}");
    let msg = err.to_string();
    assert!(msg.contains("failed to open directory"), "{msg}");
    assert!(msg.contains("missing"), "{msg}");
    assert!(names(d.path()).is_empty());
}

#[test]
fn a_file_as_parent_is_not_a_directory() {
    let d = tmp();
    fs::write(d.path().join("file"), "x").unwrap();
    let err = crate::write_bytes(d.path().join("file").join("f"), b"x").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::NotADirectory | io::ErrorKind::NotFound
        ),
        "{err:?}"
    );
    assert_eq!(fs::read(d.path().join("file")).unwrap(), b"x");
}

#[test]
fn a_path_ending_in_dot_is_refused() {
    let d = tmp();
    let p = d.path().join(".");
    let err = crate::write_bytes(&p, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
}

#[test]
fn an_empty_path_is_an_error() {
    let err = crate::write_bytes("", b"x").unwrap_err();
    assert!(err.to_string().contains("\"\""), "{err}");
}

#[test]
fn create_parents_makes_the_missing_directories() {
    let d = tmp();
    let p = d.path().join("a").join("b").join("c").join("f");
    Options::new()
        .create_parents(true)
        .write_bytes(&p, b"deep")
        .unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"deep");
}

#[test]
fn create_parents_stops_at_a_file_in_the_way() {
    let d = tmp();
    fs::write(d.path().join("a"), "file").unwrap();
    let err = Options::new()
        .create_parents(true)
        .write_bytes(d.path().join("a").join("b").join("f"), b"x")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotADirectory, "{err}");
    assert_eq!(fs::read(d.path().join("a")).unwrap(), b"file");
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
fn commit_if_changed_skips_the_same_content() {
    let d = tmp();
    let p = d.path().join("f");
    crate::write_bytes(&p, b"same").unwrap();
    let before = fs::metadata(&p).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"same").unwrap();
    assert!(!f.commit_if_changed().unwrap());
    assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), before);
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn commit_if_changed_commits_other_content() {
    let d = tmp();
    let p = d.path().join("f");
    crate::write_bytes(&p, b"old!").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"new!").unwrap();
    assert!(f.commit_if_changed().unwrap());
    assert_eq!(fs::read(&p).unwrap(), b"new!");
}

#[test]
fn commit_if_changed_creates_a_missing_target() {
    let d = tmp();
    let p = d.path().join("f");
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"x").unwrap();
    assert!(f.commit_if_changed().unwrap());
    assert_eq!(fs::read(&p).unwrap(), b"x");
}

#[test]
fn commit_if_changed_sees_a_longer_target() {
    let d = tmp();
    let p = d.path().join("f");
    crate::write_bytes(&p, b"abcdef").unwrap();
    let mut f = AtomicFile::create(&p).unwrap();
    f.write_all(b"abc").unwrap();
    assert!(f.commit_if_changed().unwrap());
    assert_eq!(fs::read(&p).unwrap(), b"abc");
}

#[test]
fn backup_keeps_the_old_content() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "v1").unwrap();
    Options::new().backup("~").write_bytes(&p, b"v2").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"v2");
    assert_eq!(fs::read(d.path().join("f~")).unwrap(), b"v1");
    assert_eq!(names(d.path()), ["f", "f~"]);
}

#[test]
fn backup_replaces_the_previous_backup() {
    let d = tmp();
    let p = d.path().join("f");
    fs::write(&p, "v1").unwrap();
    let mut o = Options::new();
    o.backup(".bak");
    o.write_bytes(&p, b"v2").unwrap();
    o.write_bytes(&p, b"v3").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"v3");
    assert_eq!(fs::read(d.path().join("f.bak")).unwrap(), b"v2");
    assert_eq!(names(d.path()), ["f", "f.bak"]);
}

#[test]
fn backup_of_a_new_file_makes_none() {
    let d = tmp();
    let p = d.path().join("f");
    Options::new().backup("~").write_bytes(&p, b"v1").unwrap();
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn a_backup_suffix_with_a_separator_is_invalid() {
    let d = tmp();
    for s in ["", "/x", "a/b"] {
        let err = Options::new()
            .backup(s)
            .write_bytes(d.path().join("f"), b"x")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{s:?}: {err}");
    }
    assert!(names(d.path()).is_empty());
}

#[test]
fn sweep_removes_an_abandoned_temp() {
    let d = tmp();
    fs::write(d.path().join(".f.atomic-write-0123456789abcdef.tmp"), "x").unwrap();
    fs::write(d.path().join("f"), "keep").unwrap();
    assert_eq!(crate::sweep(d.path(), Duration::ZERO).unwrap(), 1);
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn sweep_leaves_a_live_writers_temp() {
    let d = tmp();
    let p = d.path().join("f");
    let mut f = Options::new().unnamed_temp(false).create(&p).unwrap();
    f.write_all(b"live").unwrap();
    assert_eq!(crate::sweep(d.path(), Duration::ZERO).unwrap(), 0);
    assert_eq!(names(d.path()).len(), 1);
    f.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"live");
}

#[test]
fn sweep_leaves_young_temps_and_other_files() {
    let d = tmp();
    fs::write(d.path().join(".f.atomic-write-0123456789abcdef.tmp"), "x").unwrap();
    fs::write(d.path().join(".f.tmp"), "x").unwrap();
    fs::write(d.path().join("f.atomic-write-0123456789abcdef.tmp"), "x").unwrap();
    assert_eq!(
        crate::sweep(d.path(), Duration::from_secs(3600)).unwrap(),
        0
    );
    assert_eq!(names(d.path()).len(), 3);
}

#[test]
fn sweep_of_a_missing_directory_is_not_found() {
    let d = tmp();
    let err = crate::sweep(d.path().join("nope"), Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

#[test]
fn commit_all_commits_every_file() {
    let d = tmp();
    let files: Vec<AtomicFile> = (0..5)
        .map(|i| {
            let mut f = AtomicFile::create(d.path().join(format!("f{i}"))).unwrap();
            write!(f, "content {i}").unwrap();
            f
        })
        .collect();
    commit_all(files).unwrap();
    for i in 0..5 {
        assert_eq!(
            fs::read_to_string(d.path().join(format!("f{i}"))).unwrap(),
            format!("content {i}")
        );
    }
    assert_eq!(names(d.path()).len(), 5);
}

#[test]
fn commit_all_of_nothing_is_ok() {
    commit_all(Vec::new()).unwrap();
}

#[test]
fn commit_all_with_a_clash_reports_it() {
    let d = tmp();
    fs::write(d.path().join("taken"), "old").unwrap();
    let mut a = AtomicFile::create(d.path().join("a")).unwrap();
    a.write_all(b"a").unwrap();
    let mut b = Options::new()
        .no_clobber(true)
        .create(d.path().join("b"))
        .unwrap();
    b.write_all(b"b").unwrap();
    fs::write(d.path().join("b"), "someone else's").unwrap();
    let err = commit_all(vec![a, b]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fs::read(d.path().join("b")).unwrap(), b"someone else's");
    assert_eq!(fs::read(d.path().join("taken")).unwrap(), b"old");
    no_temp(d.path());
}

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

#[test]
fn concurrent_writers_leave_one_whole_version() {
    let d = tmp();
    let p = Arc::new(d.path().join("f"));
    let handles: Vec<_> = (0..4u8)
        .map(|i| {
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                for _ in 0..10 {
                    crate::write_bytes(&*p, &[b'a' + i; 4096]).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let c = fs::read(&*p).unwrap();
    assert_eq!(c.len(), 4096);
    assert!(c.iter().all(|&b| b == c[0]));
    assert_eq!(names(d.path()), ["f"]);
}

#[test]
fn readers_see_the_old_or_the_new_content_whole() {
    let d = tmp();
    let p = Arc::new(d.path().join("f"));
    crate::write_bytes(&*p, &[b'0'; 8192]).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (p, stop) = (Arc::clone(&p), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // A reader may be refused for an instant on some systems
                // (the name is being swapped): never a partial file.
                if let Ok(c) = fs::read(&*p) {
                    assert_eq!(c.len(), 8192);
                    assert!(c.iter().all(|&b| b == c[0]));
                    reads += 1;
                }
            }
            reads
        })
    };
    let mut replaced = 0;
    for i in 0..20u8 {
        match crate::write_bytes(&*p, &[b'a' + i; 8192]) {
            Ok(()) => replaced += 1,
            // Without POSIX renames (Wine, older Windows) a reader that has
            // the target open blocks the rename, and one reading in a loop
            // may outlast the retries: a clean failure, never a partial file.
            Err(e) if cfg!(windows) && e.kind() == io::ErrorKind::PermissionDenied => {}
            Err(e) => panic!("{e}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert!(cfg!(windows) || replaced == 20);
    no_temp(d.path());
}

#[test]
fn errors_name_the_step_and_keep_the_kind() {
    let d = tmp();
    fs::create_dir(d.path().join("dir")).unwrap();
    let err = AtomicFile::create(d.path().join("dir")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cannot replace"), "{msg}");
    assert!(msg.contains("dir"), "{msg}");
    assert!(std::error::Error::source(&err).is_none());
    assert!(os_error(&err).is_some());
}

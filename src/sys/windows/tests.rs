//! The Windows backend under Wine: replacement over open readers, error
//! codes, locks, links, read-only files.

use std::fs;
use std::io::{self, Write};
use std::os::windows::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation as w;

use crate::{AtomicFile, Options};

fn left(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| super::is_temp_name(n.as_ref()))
        .collect()
}

/// A reader that opened the target with std's default sharing (which
/// includes `FILE_SHARE_DELETE`) and closes it 300 ms later: the
/// replacement goes through, at once (POSIX semantics) or after retrying
/// (the `MoveFileExW` fallback answers `ERROR_ACCESS_DENIED` meanwhile).
#[test]
fn replacement_over_an_open_reader_succeeds_once_it_lets_go() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    let reader = fs::File::open(&p).unwrap();
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(reader);
    });
    crate::write_bytes(&p, b"new").unwrap();
    closer.join().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"new");
    assert!(left(d.path()).is_empty());
}

/// A reader that does not share deletion and stays: the replacement is
/// retried for a bounded time, then fails; the old content stays and no
/// temp is left.
#[test]
fn replacement_over_a_reader_that_stays_fails_cleanly_in_bounded_time() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f");
    fs::write(&p, "old").unwrap();
    let reader = fs::OpenOptions::new()
        .read(true)
        .share_mode(fs_share_read())
        .open(&p)
        .unwrap();
    let start = Instant::now();
    let err = crate::write_bytes(&p, b"new").unwrap_err();
    let took = start.elapsed();
    let total: u64 = super::rename::RETRY_DELAYS_MS.iter().sum();
    assert!(
        took >= Duration::from_millis(total),
        "gave up after {took:?}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(super::rename::transient(&io::Error::from_raw_os_error(
        crate::os_error(&err).unwrap()
    )));
    assert!(err.to_string().contains("failed to rename"), "{err}");
    drop(reader);
    assert_eq!(fs::read(&p).unwrap(), b"old");
    assert!(left(d.path()).is_empty(), "{:?}", left(d.path()));
}

fn fs_share_read() -> u32 {
    windows_sys::Win32::Storage::FileSystem::FILE_SHARE_READ
}

#[test]
fn no_clobber_fails_with_already_exists_and_leaves_no_temp() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f");
    let mut f = Options::new().no_clobber(true).create(&p).unwrap();
    f.write_all(b"mine").unwrap();
    fs::write(&p, "theirs").unwrap();
    let err = f.commit().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert_eq!(fs::read(&p).unwrap(), b"theirs");
    assert!(left(d.path()).is_empty());
}

#[test]
fn a_directory_target_is_is_a_directory_with_the_win32_code() {
    let d = tempfile::tempdir().unwrap();
    let err = AtomicFile::create(d.path()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
    let sub = d.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let err = crate::write_bytes(&sub, b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory, "{err}");
    assert_eq!(crate::os_error(&err), Some(super::errno::EISDIR));
}

#[test]
fn a_missing_parent_is_not_found_with_the_win32_code() {
    let d = tempfile::tempdir().unwrap();
    let err = crate::write_bytes(d.path().join("no").join("f"), b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    let code = crate::os_error(&err).unwrap() as u32;
    assert!(
        code == w::ERROR_FILE_NOT_FOUND || code == w::ERROR_PATH_NOT_FOUND,
        "{err}"
    );
}

/// A read-only target is replaced as on Unix where POSIX renames exist
/// (the attribute kept), or refused at once with the old content kept.
#[test]
fn a_read_only_target_is_replaced_keeping_the_attribute_or_refused_at_once() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ro");
    fs::write(&p, "old").unwrap();
    let mut perms = fs::metadata(&p).unwrap().permissions();
    perms.set_readonly(true);
    fs::set_permissions(&p, perms).unwrap();
    let start = Instant::now();
    match crate::write_bytes(&p, b"new") {
        Ok(()) => {
            assert_eq!(fs::read(&p).unwrap(), b"new");
            assert!(fs::metadata(&p).unwrap().permissions().readonly());
        }
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
            assert!(
                start.elapsed() < Duration::from_millis(500),
                "retried a read-only target"
            );
            assert_eq!(fs::read(&p).unwrap(), b"old");
        }
    }
    assert!(left(d.path()).is_empty());
}

#[test]
fn the_temp_of_a_live_writer_cannot_be_locked_by_another_handle() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("f");
    let f = AtomicFile::create(&p).unwrap();
    let tmp = left(d.path()).pop().expect("a named temp");
    let dir = super::open_dir(d.path()).unwrap();
    let other = super::open_nofollow_at(&dir, tmp.as_ref()).unwrap();
    assert!(!super::try_lock(&other).unwrap());
    drop(f);
    // Our second handle kept the removed temp's name until it closes.
    drop(other);
    assert!(left(d.path()).is_empty());
}

#[test]
fn fstat_tells_files_apart_and_counts_links() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("a"), "a").unwrap();
    fs::write(d.path().join("b"), "bb").unwrap();
    let dir = super::open_dir(d.path()).unwrap();
    let a = super::stat_at(&dir, "a".as_ref()).unwrap().unwrap();
    let b = super::stat_at(&dir, "b".as_ref()).unwrap().unwrap();
    assert_eq!(
        (a.kind, a.size, a.nlink),
        (crate::sys::FileKind::Regular, 1, 1)
    );
    assert_ne!((a.dev, a.ino), (b.dev, b.ino));
    super::link(&dir, "a".as_ref(), "a2".as_ref()).unwrap();
    let a2 = super::stat_at(&dir, "a2".as_ref()).unwrap().unwrap();
    assert_eq!((a2.dev, a2.ino, a2.nlink), (a.dev, a.ino, 2));
    assert!(super::stat_at(&dir, "none".as_ref()).unwrap().is_none());
    let err = super::link(&dir, "a".as_ref(), "b".as_ref()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
}

#[test]
fn open_dir_of_a_file_is_not_a_directory() {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("f"), "x").unwrap();
    let err = super::open_dir(&d.path().join("f")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotADirectory);
}

#[test]
fn unlink_removes_a_read_only_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ro");
    fs::write(&p, "x").unwrap();
    let mut perms = fs::metadata(&p).unwrap().permissions();
    perms.set_readonly(true);
    fs::set_permissions(&p, perms).unwrap();
    let dir = super::open_dir(d.path()).unwrap();
    super::unlink(&dir, "ro".as_ref()).unwrap();
    assert!(!p.exists());
}

#[test]
fn append_creates_a_missing_target_and_appends_to_an_existing_one() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("log");
    let mut f = Options::new().append(true).create(&p).unwrap();
    f.write_all(b"1\n").unwrap();
    f.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"1\n");
    let mut f = Options::new().append(true).create(&p).unwrap();
    f.write_all(b"2\n").unwrap();
    // The append holds the target open (locked) until the rename: with
    // POSIX renames it goes through; the MoveFileExW fallback (Wine,
    // before Windows 10 1809, FAT) cannot replace an open file, so the
    // append fails after the retries, the old content in place.
    match f.commit() {
        Ok(()) => assert_eq!(fs::read(&p).unwrap(), b"1\n2\n"),
        Err(e) => {
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
            assert_eq!(fs::read(&p).unwrap(), b"1\n");
        }
    }
    assert!(left(d.path()).is_empty());
}

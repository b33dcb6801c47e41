//! `--validate CMD` and `AtomicFile::validate_with` (issue 19, item 1): the
//! new content is checked at a path before it replaces the target; only what
//! the checker accepted is committed, and what it read is what is committed.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;

use crate::common::*;

both_paths! {
    /// The library: the path is the temp's, in the target's real directory
    /// (a symlinked directory resolved), owner-only while checked and with
    /// what was written; the inode checked is the one committed, with the
    /// target's mode back; a "no" leaves the target and no temp behind.
    fn library_path_and_verdict(named: bool) {
        let d = scratch();
        let real = d.path().join("real dir");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink("real dir", d.path().join("link")).unwrap();
        let p = d.path().join("link/app.conf");
        fs::write(&p, b"old").unwrap();
        chmod(&p, 0o664);

        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"new").unwrap();
        let mut seen = None;
        let ok = f
            .validate_with(|path| {
                let m = fs::metadata(path)?;
                seen = Some((path.to_path_buf(), m.mode() & 0o7777, m.ino(), fs::read(path)?));
                Ok(true)
            })
            .unwrap();
        assert!(ok);
        let (path, mode_seen, ino, content) = seen.unwrap();
        assert_eq!(path.parent().unwrap(), fs::canonicalize(&real).unwrap());
        assert!(is_temp_name(path.file_name().unwrap().as_encoded_bytes()), "{path:?}");
        assert_eq!(mode_seen, 0o600, "the temp must be owner-only while checked");
        assert_eq!(content, b"new");
        f.commit().unwrap();
        assert_eq!(read(&p), b"new");
        assert_eq!(fs::metadata(&p).unwrap().ino(), ino, "not the inode checked");
        assert_eq!(mode(&p), 0o664);
        assert!(!path.exists());
        assert_only(&real, &["app.conf"]);

        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"bad").unwrap();
        assert!(!f.validate_with(|_| Ok(false)).unwrap());
        drop(f);
        assert_eq!(read(&p), b"new");
        assert_only(&real, &["app.conf"]);
        // An error from the checker is the caller's; the temp goes on drop.
        let mut f = opts(named).create(&p).unwrap();
        let err = f
            .validate_with(|_| Err(std::io::Error::other("checker broke")))
            .unwrap_err();
        assert_eq!(err.to_string(), "checker broke");
        f.discard().unwrap();
        assert_only(&real, &["app.conf"]);
    }

    /// A new file gets the mode `>` gives it (not the 0600 of the check).
    fn library_new_file_mode(named: bool) {
        let d = scratch();
        let p = d.path().join("new");
        let mut f = opts(named).create(&p).unwrap();
        f.write_all(b"x").unwrap();
        assert!(f.validate_with(|path| Ok(fs::read(path)? == b"x")).unwrap());
        f.commit().unwrap();
        assert_eq!(mode(&p), 0o666 & !current_umask());
        assert_only(d.path(), &["new"]);
    }
}

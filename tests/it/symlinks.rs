//! Symlinks: followed to the final target (the link stays a link and the temp
//! lives in the final target's directory), dangling links create their target,
//! loops fail with `FilesystemLoop`, `follow_symlinks(false)` replaces the link.

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::symlink;
use std::path::Path;

use crate::common::*;

#[track_caller]
fn assert_link(link: &Path, to: &str) {
    let m = fs::symlink_metadata(link).unwrap();
    assert!(
        m.file_type().is_symlink(),
        "{} is no longer a symlink",
        link.display()
    );
    assert_eq!(fs::read_link(link).unwrap(), Path::new(to));
}

both_paths! {
    /// An absolute link in another directory: the target behind it is replaced,
    /// the temp lives beside the target, the link stays.
    fn absolute_link(named: bool) {
        let d = scratch();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        let real = b.join("real");
        fs::write(&real, b"old").unwrap();
        chmod(&real, 0o640);
        let link = a.join("link");
        symlink(&real, &link).unwrap();

        let mut f = opts(named).create(&link).unwrap();
        assert_eq!(f.target(), real);
        f.write_all(b"new").unwrap();
        assert_mid_write(&a, &[b"link"], b"link", false);
        assert_mid_write(&b, &[b"real"], b"real", named);
        f.commit().unwrap();

        assert_link(&link, real.to_str().unwrap());
        assert_eq!(read(&real), b"new");
        assert_eq!(read(&link), b"new");
        assert_eq!(mode(&real), 0o640);
        assert_only(&a, &["link"]);
        assert_only(&b, &["real"]);
    }

    /// A relative chain of two links across three directories.
    fn relative_chain(named: bool) {
        let d = scratch();
        for sub in ["a", "b", "c"] {
            fs::create_dir(d.path().join(sub)).unwrap();
        }
        let real = d.path().join("c/real");
        fs::write(&real, b"old").unwrap();
        symlink("../b/l2", d.path().join("a/l1")).unwrap();
        symlink("../c/real", d.path().join("b/l2")).unwrap();

        let mut f = opts(named).create(d.path().join("a/l1")).unwrap();
        assert_eq!(f.target().canonicalize().unwrap(), real.canonicalize().unwrap());
        f.write_all(b"through two links").unwrap();
        // The temp is in the final target's directory, nowhere else.
        assert_mid_write(&d.path().join("a"), &[b"l1"], b"l1", false);
        assert_mid_write(&d.path().join("b"), &[b"l2"], b"l2", false);
        assert_mid_write(&d.path().join("c"), &[b"real"], b"real", named);
        f.commit().unwrap();

        assert_link(&d.path().join("a/l1"), "../b/l2");
        assert_link(&d.path().join("b/l2"), "../c/real");
        assert_eq!(read(&real), b"through two links");
        assert_only(&d.path().join("a"), &["l1"]);
        assert_only(&d.path().join("b"), &["l2"]);
        assert_only(&d.path().join("c"), &["real"]);
    }

    /// A relative link resolved against the link's directory, not the cwd,
    /// also when the link was given as a relative path with `..`.
    fn relative_link_in_subdir(named: bool) {
        let d = scratch();
        fs::create_dir(d.path().join("sub")).unwrap();
        fs::write(d.path().join("sub/real"), b"old").unwrap();
        symlink("real", d.path().join("sub/link")).unwrap();
        opts(named)
            .write_bytes(d.path().join("sub/../sub/link"), b"new")
            .unwrap();
        assert_link(&d.path().join("sub/link"), "real");
        assert_eq!(read(&d.path().join("sub/real")), b"new");
        assert_only(&d.path().join("sub"), &["link", "real"]);
    }

    /// A dangling link creates its target (like a shell's `>`); the link stays.
    fn dangling_link_creates_target(named: bool) {
        let d = scratch();
        fs::create_dir(d.path().join("t")).unwrap();
        symlink("t/made", d.path().join("link")).unwrap();
        let mut f = opts(named).create(d.path().join("link")).unwrap();
        f.write_all(b"created").unwrap();
        assert_mid_write(d.path(), &[b"link", b"t"], b"link", false);
        assert_mid_write(&d.path().join("t"), &[], b"made", named);
        f.commit().unwrap();
        assert_link(&d.path().join("link"), "t/made");
        assert_eq!(read(&d.path().join("t/made")), b"created");
        assert_only(&d.path().join("t"), &["made"]);
        assert_only(d.path(), &["link", "t"]);
    }

    /// A loop fails fast with `FilesystemLoop`, creating nothing.
    fn loop_fails(named: bool) {
        let d = scratch();
        symlink("l2", d.path().join("l1")).unwrap();
        symlink("l1", d.path().join("l2")).unwrap();
        symlink("self", d.path().join("self")).unwrap();
        for name in ["l1", "l2", "self"] {
            let err = opts(named).create(d.path().join(name)).unwrap_err();
            // `ErrorKind::FilesystemLoop` is unstable to name; its Debug form is stable.
            assert_eq!(format!("{:?}", err.kind()), "FilesystemLoop", "{name}: {err}");
            assert_eq!(atomic_write::os_error(&err), Some(libc::ELOOP));
            assert!(err.to_string().contains(name), "message does not name the path: {err}");
        }
        assert_link(&d.path().join("l1"), "l2");
        assert_link(&d.path().join("l2"), "l1");
        assert_only(d.path(), &["l1", "l2", "self"]);
    }

    /// `follow_symlinks(false)` replaces the link itself with a regular file;
    /// the file it pointed to is untouched.
    fn no_follow_replaces_link(named: bool) {
        let d = scratch();
        let real = d.path().join("real");
        fs::write(&real, b"real old").unwrap();
        let link = d.path().join("link");
        symlink("real", &link).unwrap();
        let mut f = opts(named).follow_symlinks(false).create(&link).unwrap();
        assert_eq!(f.target(), link);
        f.write_all(b"replaced link").unwrap();
        assert_mid_write(d.path(), &[b"link", b"real"], b"link", named);
        f.commit().unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
        assert_eq!(read(&link), b"replaced link");
        assert_eq!(read(&real), b"real old");
        assert_only(d.path(), &["link", "real"]);

        // A looping link is replaced too, without error.
        symlink("loop", d.path().join("loop")).unwrap();
        opts(named)
            .follow_symlinks(false)
            .write_bytes(d.path().join("loop"), b"no loop")
            .unwrap();
        assert_eq!(read(&d.path().join("loop")), b"no loop");
    }

    /// A link to a directory or a FIFO is refused like the thing it points to.
    fn link_to_unreplaceable(named: bool) {
        let d = scratch();
        fs::create_dir(d.path().join("dir")).unwrap();
        mkfifo(&d.path().join("fifo"));
        symlink("dir", d.path().join("to-dir")).unwrap();
        symlink("fifo", d.path().join("to-fifo")).unwrap();
        let err = opts(named).create(d.path().join("to-dir")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::IsADirectory, "{err}");
        let p = d.path().join("to-fifo");
        let err = within(10, "create() on a link to a FIFO", move || {
            opts(named).create(&p).map(drop).unwrap_err()
        });
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_only(d.path(), &["dir", "fifo", "to-dir", "to-fifo"]);
        assert_only(&d.path().join("dir"), &[]);
    }
}

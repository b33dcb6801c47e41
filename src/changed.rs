//! Whether a commit would change anything: the temp compared with the current
//! target, for [`AtomicFile::commit_if_changed`](crate::AtomicFile::commit_if_changed).
//!
//! Streamed, in constant memory: sizes, owner and mode first (one `fstat`
//! each), then both files read side by side a block at a time, stopping at the
//! first difference, then the extended attributes (those the write would
//! keep, drop or add; see [`crate::attrs::same_as_written`]). The target compared is the very entry the commit would
//! replace: opened relative to the directory descriptor with `O_NOFOLLOW`
//! (a symlink there, with `follow_symlinks(false)`, counts as a change), and
//! after the compare the name must still point at the inode that was read.

use std::ffi::OsStr;
use std::fs::File;
use std::io;

use crate::sys::{self, errno, FileKind};

/// Block size of the streamed compare: two buffers of this size, whatever the files' sizes.
pub(crate) const BLOCK: usize = 64 << 10;

/// What the result must look like besides its content.
pub(crate) struct Want {
    /// Permission bits the commit would give the result, if they are not the target's own.
    pub(crate) mode: Option<u32>,
    /// `(uid, gid)` the result would have, if it is not the target's own.
    pub(crate) owner: Option<(u32, u32)>,
    /// Whether the write keeps the target's extended attributes (else the
    /// result has those the kernel gave the temp: a default ACL, a label).
    pub(crate) xattrs_kept: bool,
}

/// `Ok(true)` if `name` in `dir` is a regular file with exactly the content of
/// `temp` and the wanted attributes: replacing it would change nothing.
/// Anything that cannot be shown to be the same (no target, a symlink or a
/// special file there, a target we may not read, one replaced while we read
/// it) is `Ok(false)`: the caller then commits, which is always correct.
pub(crate) fn unchanged(dir: &File, name: &OsStr, temp: &File, want: &Want) -> io::Result<bool> {
    let target = match sys::open_read_nofollow_at(dir, name) {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(errno::ENOENT)
                    | Some(errno::ELOOP)
                    | Some(errno::EACCES)
                    | Some(errno::EPERM)
                    | Some(errno::ENXIO)
                    | Some(errno::EAGAIN)
            ) =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    let (t, n) = (sys::fstat(&target)?, sys::fstat(temp)?);
    if t.kind != FileKind::Regular
        || t.size != n.size
        || want.mode.is_some_and(|m| m != t.mode)
        || want.owner.is_some_and(|o| o != (t.uid, t.gid))
    {
        return Ok(false);
    }
    if !same_bytes(&target, temp, t.size)? {
        return Ok(false);
    }
    // The attributes too: a write that would drop or add an ACL or an
    // attribute changes the file.
    if !crate::attrs::same_as_written(&target, temp, want.xattrs_kept)? {
        return Ok(false);
    }
    // The name still leads to the inode we read: what we compared with is
    // what a commit would have replaced.
    Ok(sys::stat_at(dir, name)?.is_some_and(|m| (m.dev, m.ino) == (t.dev, t.ino)))
}

/// Compares `a` and `b` over `len` bytes from offset 0 (positioned reads: the
/// files' cursors do not move). A short file is a difference.
fn same_bytes(a: &File, b: &File, len: u64) -> io::Result<bool> {
    let (mut x, mut y) = (vec![0u8; BLOCK], vec![0u8; BLOCK]);
    let mut off = 0u64;
    while off < len {
        let want = usize::try_from(len - off).map_or(BLOCK, |r| r.min(BLOCK));
        if !read_full_at(a, &mut x[..want], off)? || !read_full_at(b, &mut y[..want], off)? {
            return Ok(false);
        }
        if x[..want] != y[..want] {
            return Ok(false);
        }
        off += want as u64;
    }
    // Nothing beyond `len` in either (the target may have grown meanwhile).
    Ok(sys::read_at(a, &mut x[..1], len)? == 0 && sys::read_at(b, &mut y[..1], len)? == 0)
}

/// Fills `buf` from `off`; `Ok(false)` at end of file before it is full.
fn read_full_at(f: &File, mut buf: &mut [u8], mut off: u64) -> io::Result<bool> {
    while !buf.is_empty() {
        match sys::read_at(f, buf, off) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                buf = &mut buf[n..];
                off += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The current target, open for reading, for a compare made before any temp
/// exists ([`Current::open`]): new content that turns out identical then
/// costs no temp, no space and no write (a full or read-only filesystem
/// included); at the first difference the caller creates the temp and copies
/// the identical prefix from here. (Used by the CLI only, on Unix.)
#[cfg_attr(any(not(feature = "cli"), windows), allow(dead_code))]
pub(crate) struct Current {
    target: crate::target::Target,
    /// The target, open for reading (positioned reads only: its cursor stays at 0).
    pub(crate) file: File,
    /// Its length when opened.
    pub(crate) size: u64,
    /// Its permission bits (the CLI's symbolic `-m` is relative to them).
    pub(crate) mode: u32,
    dev: u64,
    ino: u64,
}

#[cfg_attr(any(not(feature = "cli"), windows), allow(dead_code))]
impl Current {
    /// Opens the target of a write with `opts` for such a compare, if the
    /// result of identical content is known without a temp: an existing
    /// regular file we may read, whose mode the write keeps (or sets to what
    /// it is), whose owner and extended attributes it keeps, none of them
    /// one it drops (`security.capability`); not an append or a no-clobber
    /// write. `None`: compare the usual way, after writing the temp.
    pub(crate) fn open(
        path: &std::path::Path,
        opts: &crate::Options,
    ) -> io::Result<Option<Current>> {
        if opts.append || opts.no_clobber || !opts.preserve_owner || !opts.preserve_xattrs {
            return Ok(None);
        }
        let r = match crate::resolve::resolve(path, opts.follow_symlinks) {
            Ok(r) => r,
            Err(_) => return Ok(None),
        };
        let Some(meta) = r.meta.filter(|m| m.kind == FileKind::Regular) else {
            return Ok(None);
        };
        if opts.mode.is_some_and(|m| m != meta.mode) {
            return Ok(None);
        }
        let file = match sys::open_read_nofollow_at(r.target.dir(), r.target.name()) {
            Ok(f) => f,
            Err(_) => return Ok(None),
        };
        let now = sys::fstat(&file)?;
        if now.kind != FileKind::Regular || (now.dev, now.ino) != (meta.dev, meta.ino) {
            return Ok(None);
        }
        // `access.rs`: unchanged or not, refused as `>` refuses it.
        if !opts.force {
            let me = sys::euid();
            crate::access::check_writable(&r.target, Some(&file), &now, me)?;
        }
        // The kept attributes are the target's own; only a dropped one differs.
        if !crate::attrs::same_as_written(&file, &file, true)? {
            return Ok(None);
        }
        Ok(Some(Current {
            target: r.target,
            file,
            size: now.size,
            mode: now.mode,
            dev: now.dev,
            ino: now.ino,
        }))
    }

    /// Whether the target holds exactly `buf` at `off`.
    pub(crate) fn same_at(&self, buf: &[u8], off: u64) -> io::Result<bool> {
        let mut mine = vec![0u8; buf.len()];
        Ok(read_full_at(&self.file, &mut mine, off)? && mine == buf)
    }

    /// Whether the target ends at `len` and its name still leads to the inode
    /// read: then identical content of length `len` changes nothing.
    pub(crate) fn ends_at(&self, len: u64) -> io::Result<bool> {
        if sys::read_at(&self.file, &mut [0u8], len)? != 0 {
            return Ok(false);
        }
        Ok(sys::stat_at(self.target.dir(), self.target.name())?
            .is_some_and(|m| (m.dev, m.ino) == (self.dev, self.ino)))
    }
}

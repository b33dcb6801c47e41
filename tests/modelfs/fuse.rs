//! The model filesystem served through FUSE (the `fuser` crate, pure-Rust
//! mount, no libfuse): an in-memory [`Image`] that logs every mutating
//! operation it serves, mounted in a background thread on a temp directory.
//!
//! Attribute and entry caching is off (TTL 0) and write-back caching is not
//! requested, so every `write(2)`, `fsync(2)` and directory change of the
//! writer reaches the model as one operation, in order. Mounted with
//! [`Mounted::new`], the model has no `O_TMPFILE` (fuser has no `tmpfile`
//! operation: the kernel answers `EOPNOTSUPP` and the crate takes its
//! named-temp fallback); [`Mounted::with_tmpfile`] adds it through the proxy in
//! `tmpfile.rs`.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyWrite, Request, WriteFlags,
};

use super::{Image, Inode, Node, Op};

/// Nothing is cached in the kernel: every lookup and stat reaches the model.
const TTL: Duration = Duration::ZERO;

/// The filesystem's live state: the volatile image and the log of operations.
pub struct Live {
    pub image: Image,
    pub log: Vec<Op>,
    next_ino: u64,
    /// Fail every `fsync` of a file with this error (nothing becomes durable).
    fail_fsync: Option<Errno>,
    /// Fail every `fsync` of a directory with this error.
    fail_fsyncdir: Option<Errno>,
    /// Syncs failed so far.
    failed_syncs: usize,
    /// Answer `ENOSYS` to renames with flags (the kernel then says `EINVAL`).
    refuse_rename_flags: bool,
    /// Fail renames onto this name with this error.
    fail_rename_to: Option<(std::ffi::OsString, Errno)>,
    /// Refuse hard links (`EPERM`), as vfat and some FUSE servers do.
    refuse_links: bool,
}

impl Live {
    fn new(image: Image) -> Live {
        let next_ino = image.inodes.keys().max().copied().unwrap_or(1) + 1;
        Live {
            image,
            log: Vec::new(),
            next_ino,
            fail_fsync: None,
            fail_fsyncdir: None,
            failed_syncs: 0,
            refuse_rename_flags: false,
            fail_rename_to: None,
            refuse_links: false,
        }
    }

    /// A fresh inode number.
    pub fn alloc_ino(&mut self) -> u64 {
        self.next_ino += 1;
        self.next_ino - 1
    }

    /// Serves a mutating operation from outside `fuser` (the `O_TMPFILE` proxy).
    pub fn serve(&mut self, op: Op) {
        self.commit(op);
    }

    /// Serves a mutating operation: log it, then apply it.
    fn commit(&mut self, op: Op) {
        self.image.apply(&op);
        self.log.push(op);
    }

    fn attr(&self, ino: u64) -> Result<FileAttr, Errno> {
        let i = self.image.inodes.get(&ino).ok_or(Errno::ENOENT)?;
        let (kind, size) = match &i.node {
            Node::File(d) => (FileType::RegularFile, d.len() as u64),
            Node::Dir(_) => (FileType::Directory, 4096),
            Node::Symlink(t) => (FileType::Symlink, t.len() as u64),
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: UNIX_EPOCH,
            mtime: UNIX_EPOCH,
            ctime: UNIX_EPOCH,
            crtime: UNIX_EPOCH,
            kind,
            perm: (i.perm & 0o7777) as u16,
            nlink: self.image.nlink(ino),
            uid: i.uid,
            gid: i.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    fn dir(&self, ino: u64) -> Result<&std::collections::BTreeMap<std::ffi::OsString, u64>, Errno> {
        match self.image.inodes.get(&ino).map(|i| &i.node) {
            Some(Node::Dir(e)) => Ok(e),
            Some(_) => Err(Errno::ENOTDIR),
            None => Err(Errno::ENOENT),
        }
    }

    /// The inode `name` names in directory `parent`, if any.
    fn child(&self, parent: u64, name: &OsStr) -> Result<Option<u64>, Errno> {
        Ok(self.dir(parent)?.get(name).copied())
    }

    fn is_dir(&self, ino: u64) -> bool {
        matches!(
            self.image.inodes.get(&ino).map(|i| &i.node),
            Some(Node::Dir(_))
        )
    }

    /// Creates a new inode named `name` in `parent`.
    fn create(
        &mut self,
        req: &Request,
        parent: u64,
        name: &OsStr,
        inode: Inode,
    ) -> Result<u64, Errno> {
        if self.dir(parent)?.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let ino = self.alloc_ino();
        let inode = Inode {
            uid: req.uid(),
            gid: req.gid(),
            ..inode
        };
        self.commit(Op::Create {
            parent,
            name: name.to_owned(),
            ino,
            inode,
        });
        Ok(ino)
    }

    fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        newparent: u64,
        newname: &OsStr,
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        if let Some((_, e)) = self.fail_rename_to.as_ref().filter(|(n, _)| n == newname) {
            return Err(*e);
        }
        if self.refuse_rename_flags && !flags.is_empty() {
            return Err(Errno::ENOSYS);
        }
        if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_WHITEOUT) {
            return Err(Errno::EINVAL);
        }
        let src = *self.dir(parent)?.get(name).ok_or(Errno::ENOENT)?;
        if let Some(&dst) = self.dir(newparent)?.get(newname) {
            if flags.contains(RenameFlags::RENAME_NOREPLACE) {
                return Err(Errno::EEXIST);
            }
            if dst == src {
                return Ok(());
            }
            match (self.is_dir(src), self.is_dir(dst)) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !self.dir(dst)?.is_empty() => return Err(Errno::ENOTEMPTY),
                _ => {}
            }
        }
        self.commit(Op::Rename {
            parent,
            name: name.to_owned(),
            newparent,
            newname: newname.to_owned(),
        });
        Ok(())
    }
}

/// The FUSE side of the model: locks [`Live`] for each request.
pub struct ModelFs {
    live: Arc<Mutex<Live>>,
}

impl ModelFs {
    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn entry(&self, reply: ReplyEntry, r: Result<u64, Errno>) {
        match r.and_then(|ino| self.live().attr(ino)) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }
}

fn empty(reply: ReplyEmpty, r: Result<(), Errno>) {
    match r {
        Ok(()) => reply.ok(),
        Err(e) => reply.error(e),
    }
}

/// Largest write the kernel sends: 1 MiB arrives as 16 writes, so a crash
/// can fall between them.
const MAX_WRITE: u32 = 64 * 1024;

impl Filesystem for ModelFs {
    fn init(&mut self, _req: &Request, config: &mut fuser::KernelConfig) -> io::Result<()> {
        let _ = config.set_max_write(MAX_WRITE);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let r = self
            .live()
            .dir(parent.0)
            .and_then(|d| d.get(name).copied().ok_or(Errno::ENOENT));
        self.entry(reply, r);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.live().attr(ino.0) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<fuser::TimeOrNow>,
        _mtime: Option<fuser::TimeOrNow>,
        _ctime: Option<std::time::SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<std::time::SystemTime>,
        _chgtime: Option<std::time::SystemTime>,
        _bkuptime: Option<std::time::SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut live = self.live();
        let r = live.attr(ino.0).and_then(|a| {
            if size.is_some() && a.kind != FileType::RegularFile {
                return Err(Errno::EISDIR);
            }
            // Only what the model keeps is logged; times are not modelled.
            if mode.is_some() || uid.is_some() || gid.is_some() || size.is_some() {
                live.commit(Op::SetAttr {
                    ino: ino.0,
                    perm: mode.map(|m| m & 0o7777),
                    uid,
                    gid,
                    size,
                });
            }
            live.attr(ino.0)
        });
        match r {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.live().image.inodes.get(&ino.0).map(|i| &i.node) {
            Some(Node::Symlink(t)) => {
                reply.data(std::os::unix::ffi::OsStrExt::as_bytes(t.as_os_str()))
            }
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        if mode & libc::S_IFMT != libc::S_IFREG {
            return reply.error(Errno::EPERM);
        }
        let r = self.live().create(
            req,
            parent.0,
            name,
            Inode::file(b"", mode & !umask & 0o7777),
        );
        self.entry(reply, r);
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let r = self
            .live()
            .create(req, parent.0, name, Inode::dir(mode & !umask & 0o7777));
        self.entry(reply, r);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut live = self.live();
        let r = live.child(parent.0, name).and_then(|c| {
            let ino = c.ok_or(Errno::ENOENT)?;
            if live.is_dir(ino) {
                return Err(Errno::EISDIR);
            }
            live.commit(Op::Unlink {
                parent: parent.0,
                name: name.to_owned(),
            });
            Ok(())
        });
        empty(reply, r);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut live = self.live();
        let r = live.child(parent.0, name).and_then(|c| {
            let ino = c.ok_or(Errno::ENOENT)?;
            if !live.dir(ino)?.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            live.commit(Op::Unlink {
                parent: parent.0,
                name: name.to_owned(),
            });
            Ok(())
        });
        empty(reply, r);
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let inode = Inode {
            node: Node::Symlink(target.as_os_str().to_owned()),
            ..Inode::symlink("")
        };
        let r = self.live().create(req, parent.0, link_name, inode);
        self.entry(reply, r);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let r = self
            .live()
            .rename(parent.0, name, newparent.0, newname, flags);
        empty(reply, r);
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let r = {
            let mut live = self.live();
            live.child(newparent.0, newname).and_then(|c| {
                if live.refuse_links {
                    return Err(Errno::EPERM);
                }
                if c.is_some() {
                    return Err(Errno::EEXIST);
                }
                if live.is_dir(ino.0) {
                    return Err(Errno::EPERM);
                }
                live.attr(ino.0)?;
                live.commit(Op::Link {
                    ino: ino.0,
                    parent: newparent.0,
                    name: newname.to_owned(),
                });
                Ok(ino.0)
            })
        };
        self.entry(reply, r);
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.live().attr(ino.0) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.live().image.inodes.get(&ino.0).map(|i| &i.node) {
            Some(Node::File(d)) => {
                let start = (offset as usize).min(d.len());
                let end = (start + size as usize).min(d.len());
                reply.data(&d[start..end]);
            }
            Some(_) => reply.error(Errno::EISDIR),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut live = self.live();
        match live.image.inodes.get(&ino.0).map(|i| &i.node) {
            Some(Node::File(_)) => {
                live.commit(Op::Write {
                    ino: ino.0,
                    offset,
                    data: data.to_vec(),
                });
                reply.written(data.len() as u32);
            }
            Some(_) => reply.error(Errno::EISDIR),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut live = self.live();
        if let Some(e) = live.fail_fsync {
            live.failed_syncs += 1;
            return reply.error(e);
        }
        let r = live.attr(ino.0).map(|_| {
            live.commit(Op::Fsync {
                ino: ino.0,
                datasync,
            })
        });
        empty(reply, r);
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let live = self.live();
        let entries = match live.dir(ino.0) {
            Ok(e) => e,
            Err(e) => return reply.error(e),
        };
        let mut all = vec![
            (ino.0, FileType::Directory, OsStr::new(".")),
            (ino.0, FileType::Directory, OsStr::new("..")),
        ];
        for (name, &child) in entries {
            let kind = live.attr(child).map_or(FileType::RegularFile, |a| a.kind);
            all.push((child, kind, name.as_os_str()));
        }
        for (i, (child, kind, name)) in all.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(child), i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let mut live = self.live();
        if let Some(e) = live.fail_fsyncdir {
            live.failed_syncs += 1;
            return reply.error(e);
        }
        let r = live
            .dir(ino.0)
            .map(|_| ())
            .map(|()| live.commit(Op::FsyncDir { ino: ino.0 }));
        empty(reply, r);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let r = {
            let mut live = self.live();
            match live.dir(parent.0).map(|d| d.get(name).copied()) {
                Err(e) => Err(e),
                Ok(Some(_)) if flags & libc::O_EXCL != 0 => Err(Errno::EEXIST),
                Ok(Some(ino)) => Ok(ino),
                Ok(None) => live.create(
                    req,
                    parent.0,
                    name,
                    Inode::file(b"", mode & !umask & 0o7777),
                ),
            }
            .and_then(|ino| live.attr(ino))
        };
        match r {
            Ok(a) => reply.created(&TTL, &a, Generation(0), FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }
}

/// The model filesystem mounted on a fresh temp directory; unmounted on drop
/// (also when a test panics), lazily if something still holds it.
pub struct Mounted {
    pub path: PathBuf,
    live: Arc<Mutex<Live>>,
    session: Option<BackgroundSession>,
    /// Set when mounted by hand with the `O_TMPFILE` proxy.
    proxy: Option<super::tmpfile::Proxy>,
    _dir: tempfile::TempDir,
}

impl Mounted {
    /// Mounts `image` (it is the state at mount time; the log starts empty),
    /// without `O_TMPFILE`.
    pub fn new(image: Image) -> io::Result<Mounted> {
        Mounted::mount(image, false)
    }

    /// Mounts `image` with `O_TMPFILE` support.
    pub fn with_tmpfile(image: Image) -> io::Result<Mounted> {
        Mounted::mount(image, true)
    }

    /// Mounts `image` with or without `O_TMPFILE`.
    pub fn mount(image: Image, tmpfile: bool) -> io::Result<Mounted> {
        let dir = tempfile::Builder::new().prefix("aw-modelfs-").tempdir()?;
        let live = Arc::new(Mutex::new(Live::new(image)));
        let fs = ModelFs { live: live.clone() };
        let mut config = Config::default();
        config.mount_options = vec![MountOption::FSName("aw-modelfs".into()), MountOption::RW];
        let (session, proxy) = if tmpfile {
            let (fd, proxy) = super::tmpfile::mount(dir.path(), live.clone())?;
            let session = fuser::Session::from_fd(fs, fd, config.acl, config.clone())
                .and_then(fuser::Session::spawn);
            match session {
                Ok(s) => (s, Some(proxy)),
                Err(e) => {
                    super::tmpfile::umount(dir.path());
                    return Err(e);
                }
            }
        } else {
            (fuser::spawn_mount(fs, dir.path(), &config)?, None)
        };
        Ok(Mounted {
            path: dir.path().to_path_buf(),
            live,
            session: Some(session),
            proxy,
            _dir: dir,
        })
    }

    /// From now on, fail `fsync` of files (`file`) and of directories (`dir`)
    /// with these errnos; a failed sync makes nothing durable and is not logged.
    pub fn fail_syncs(&self, file: Option<i32>, dir: Option<i32>) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.fail_fsync = file.map(Errno::from_i32);
        live.fail_fsyncdir = dir.map(Errno::from_i32);
    }

    /// Whether to refuse `renameat2` flags, as FUSE servers without `RENAME2` do.
    pub fn refuse_rename_flags(&self, yes: bool) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .refuse_rename_flags = yes;
    }

    /// Whether to refuse hard links (`EPERM`), as filesystems without them do.
    pub fn refuse_links(&self, yes: bool) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .refuse_links = yes;
    }

    /// From now on, fail every rename onto `name` with `errno`.
    pub fn fail_rename_to(&self, name: &str, errno: i32) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fail_rename_to = Some((name.into(), Errno::from_i32(errno)));
    }

    /// Number of syncs failed on purpose so far.
    pub fn failed_syncs(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed_syncs
    }

    /// Number of operations logged so far.
    pub fn ops(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .log
            .len()
    }

    /// The live (volatile) image now.
    pub fn image(&self) -> Image {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .image
            .clone()
    }

    /// Unmounts and returns the operation log.
    pub fn unmount(mut self) -> Vec<Op> {
        self.umount();
        std::mem::take(&mut self.live.lock().unwrap_or_else(|e| e.into_inner()).log)
    }

    fn umount(&mut self) {
        if let Some(proxy) = self.proxy.take() {
            let session = self.session.take();
            if super::tmpfile::umount(&self.path) {
                // The connection is gone: the proxy and fuser's thread end.
                proxy.join();
                if let Some(s) = session {
                    let _ = s.join();
                }
            } else {
                eprintln!("modelfs: {} was busy; detached", self.path.display());
            }
            return;
        }
        if let Some(s) = self.session.take() {
            if let Err(e) = s.umount_and_join() {
                eprintln!(
                    "modelfs: unmounting {} failed ({e}); detaching",
                    self.path.display()
                );
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(&self.path)
                    .status();
            }
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.umount();
    }
}

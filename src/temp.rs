//! The temp file a write goes to: unnamed (`O_TMPFILE`) or named, its lock
//! (the sign for [`sweep`](crate::sweep) that its writer lives), the hidden
//! name it gets before the rename, and which process may remove it.
//!
//! A named temp is locked from its creation; an unnamed one from just before
//! `linkat` names it. Only the process that created the temp removes it: a
//! forked child's copy of a write leaves the parent's temp alone.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{self, DisplayQuoted, ResultExt};
use crate::sys::{self, Meta};
use crate::target::Target;

/// Tries of a fresh hidden name taken meanwhile by someone else.
const NAME_TRIES: usize = 16;

/// The temp file of one write.
#[derive(Debug)]
pub(crate) struct Temp {
    /// The file and, once it has one, its name in the target's directory.
    inner: sys::Temp,
    /// [`sys::fork_generation`] of the process that created the temp: only
    /// it removes the temp.
    generation: u64,
    /// [`sys::fork_count`] at creation: a fork since then shares the temp's
    /// lock, which the commit must then release explicitly.
    forks: u64,
    /// The file's metadata, read once (`create()` reads it for an existing
    /// target), reused at commit unless the descriptor was lent out since.
    meta: Option<Meta>,
    /// Set once the descriptor was lent out (`as_file`, `as_fd`, …): its
    /// metadata may have changed since `meta`.
    lent: AtomicBool,
}

/// What [`Temp::link_hidden`] did.
pub(crate) enum Linked {
    /// The temp has a name (or had one already).
    Named,
    /// This process may not link its unnamed temp (`why`): copy it into a
    /// named one ([`Temp::copy_to_named`]).
    Refused(io::Error),
}

impl Temp {
    /// Creates the temp in `target`'s directory with the permission bits
    /// `mode` (`mode_set`: a mode will be set at commit, see
    /// [`sys::create_temp`]); `named` asks for a named temp on Linux too.
    pub(crate) fn create(
        target: &Target,
        mode: u32,
        mode_set: bool,
        named: bool,
    ) -> io::Result<Temp> {
        let inner =
            sys::create_temp(target.dir(), target.name(), mode, mode_set, named).context(|| {
                format!(
                    "failed to create temporary file in {}",
                    target.dir_path().display_quoted()
                )
            })?;
        Ok(Temp::from_sys(inner))
    }

    fn from_sys(inner: sys::Temp) -> Temp {
        Temp {
            inner,
            generation: sys::fork_generation(),
            forks: sys::fork_count(),
            meta: None,
            lent: AtomicBool::new(false),
        }
    }

    /// The file, for the crate's own use (not lent out).
    pub(crate) fn file(&self) -> &File {
        &self.inner.file
    }

    /// The file, mutably, for the crate's own use (not lent out).
    pub(crate) fn file_mut(&mut self) -> &mut File {
        &mut self.inner.file
    }

    /// The file, lent to the caller: its metadata may change.
    pub(crate) fn lend(&self) -> &File {
        self.lent.store(true, Ordering::Relaxed);
        &self.inner.file
    }

    /// The file, lent to the caller mutably.
    pub(crate) fn lend_mut(&mut self) -> &mut File {
        self.lent.store(true, Ordering::Relaxed);
        &mut self.inner.file
    }

    /// The temp's name in the directory, if it has one.
    pub(crate) fn name(&self) -> Option<&OsStr> {
        self.inner.name.as_deref()
    }

    /// The file's metadata: the one read before, unless the descriptor was
    /// lent out since.
    pub(crate) fn meta(&mut self, target: &Target) -> io::Result<Meta> {
        if let Some(meta) = self.meta.filter(|_| !self.lent.load(Ordering::Relaxed)) {
            return Ok(meta);
        }
        let meta = sys::fstat(&self.inner.file)
            .context(target.what("failed to read metadata of the temporary file for"))?;
        self.meta = Some(meta);
        self.lent.store(false, Ordering::Relaxed);
        Ok(meta)
    }

    /// `fsync` of the file (data and metadata).
    pub(crate) fn sync(&self, target: &Target) -> io::Result<()> {
        sys::sync_file(&self.inner.file)
            .context(target.what("failed to sync the temporary file for"))
    }

    /// Links an unnamed temp as the target itself, which fails with
    /// `AlreadyExists` if the target exists (a named temp: nothing to do).
    pub(crate) fn link_as_target(&mut self, target: &Target) -> io::Result<Linked> {
        if self.inner.name.is_some() {
            return Ok(Linked::Named);
        }
        match target.link_unnamed(&self.inner.file, target.name()) {
            // The target is the temp's name now: nothing to rename.
            Ok(()) => Ok(Linked::Named),
            Err(e) if sys::unlinkable(&e) => Ok(Linked::Refused(e)),
            Err(e) => Err(error::context(e, target.what("failed to create"))),
        }
    }

    /// Gives an unnamed temp a fresh hidden name, locked first (a named temp
    /// is locked from its creation): a temp with a name is always locked
    /// while its writer lives, which is how [`sweep`](crate::sweep) tells it
    /// from one a killed writer left.
    pub(crate) fn link_hidden(&mut self, target: &Target) -> io::Result<Linked> {
        if self.inner.name.is_some() {
            return Ok(Linked::Named);
        }
        sys::lock(&self.inner.file)
            .context(target.what("failed to lock the temporary file for"))?;
        let mut tries = 0;
        loop {
            let tmp = sys::temp_name(target.name())?;
            match target.link_unnamed(&self.inner.file, &tmp) {
                Ok(()) => {
                    self.inner.name = Some(tmp);
                    return Ok(Linked::Named);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < NAME_TRIES => {
                    tries += 1
                }
                Err(e) if sys::unlinkable(&e) => return Ok(Linked::Refused(e)),
                Err(e) => {
                    return Err(error::context(e, || {
                        format!(
                            "failed to link the temporary file into {}",
                            target.dir_path().display_quoted()
                        )
                    }))
                }
            }
        }
    }

    /// Where this process may not link its unnamed temp (`why`: Linux 6.10+
    /// refuses `linkat(AT_EMPTY_PATH)` once the credentials changed since
    /// the temp was opened, `/proc/self/fd` is closed to such a process or
    /// absent, or a sandbox forbids the call): copies the data into a new
    /// named temp (`0600`), which takes the unnamed one's place. Returns the
    /// unnamed temp's metadata: the named one is to be given its owner and
    /// mode where the target had none to keep, and prepared as it was.
    pub(crate) fn copy_to_named(&mut self, target: &Target, why: io::Error) -> io::Result<Meta> {
        let failed = |e: io::Error| {
            let why = &why;
            error::note(
                error::context(e, || {
                    format!(
                        "failed to copy the temporary file for {} into a named one",
                        target.path().display_quoted()
                    )
                }),
                || format!("it could not be linked: {why}"),
            )
        };
        let old = sys::fstat(&self.inner.file).map_err(failed)?;
        let mut named =
            sys::create_named_temp(target.dir(), target.name(), 0o600).map_err(failed)?;
        let tmp = named.name.clone().expect("a named temp");
        let copied = self.inner.file.try_clone().and_then(|mut src| {
            src.seek(SeekFrom::Start(0))?;
            sys::clone_or_copy(&mut src, &mut named.file)
        });
        if let Err(e) = copied {
            let _ = sys::unlink(target.dir(), &tmp);
            return Err(failed(e));
        }
        *self = Temp::from_sys(named);
        Ok(old)
    }

    /// The temp was renamed into the target's place: it has no name of its
    /// own any more.
    pub(crate) fn published(&mut self) {
        self.inner.name = None;
    }

    /// Releases the temp's own lock (the sign for `sweep` that it is live).
    pub(crate) fn unlock(&self) {
        let _ = sys::unlock(&self.inner.file);
    }

    /// After the rename the temp's lock is on the target: a fork since the
    /// temp's creation shares it, and would keep it past our close, so it is
    /// released explicitly.
    pub(crate) fn unlock_if_forked(&self) {
        if sys::fork_count() != self.forks {
            self.unlock();
        }
    }

    /// Removes a named temp, reporting a failure; in any process but the
    /// creator (a forked child), removes nothing.
    pub(crate) fn remove(&mut self, target: &Target) -> io::Result<()> {
        match self.take_name() {
            Some(tmp) => target.remove(&tmp),
            None => Ok(()),
        }
    }

    /// Removes a named temp after `err`, noting on it a failure to.
    pub(crate) fn remove_after(&mut self, target: &Target, err: io::Error) -> io::Error {
        match self.inner.name.take() {
            Some(tmp) => target.remove_after(&tmp, err),
            None => err,
        }
    }

    /// Removes a named temp quietly (dropped, never committed); in any
    /// process but the creator, removes nothing.
    pub(crate) fn remove_quietly(&mut self, target: &Target) {
        if let Some(tmp) = self.take_name() {
            let _ = sys::unlink(target.dir(), &tmp);
        }
    }

    /// The name, taken, if this is the process that created the temp.
    fn take_name(&mut self) -> Option<std::ffi::OsString> {
        let creator = self.generation == sys::fork_generation();
        self.inner.name.take().filter(|_| creator)
    }
}

//! [`AtomicFile::validate_with`]: let a checker read the new content at a
//! path before it replaces the target (what the CLI's `--validate CMD` runs).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::ResultExt;
use crate::sys;
use crate::temp::Linked;
use crate::AtomicFile;

impl AtomicFile {
    /// Lets `check` read what was written so far at a path, before anything
    /// is committed, and returns its verdict: commit on `Ok(true)`, drop or
    /// [`discard`](Self::discard) on `Ok(false)`; the target is untouched
    /// either way until [`commit`](Self::commit). This is the hook for
    /// checkers that take a file name: `visudo -cf PATH`, `nginx -t -c PATH`,
    /// `sshd -t -f PATH`, `jq empty PATH`.
    ///
    /// The path is the temp's own, in the target's directory (so a
    /// configuration that includes files relative to its own directory is
    /// checked as it will be read): the directory as the kernel knows the
    /// one held open (symlinks resolved, on Linux through `/proc/self/fd`;
    /// elsewhere the target's directory made absolute) and a hidden name,
    /// `.NAME.atomic-write-XXXXXXXXXXXXXXXX.tmp`. An unnamed temp (Linux
    /// `O_TMPFILE`) gets that name now rather than at the commit. Until the
    /// commit gives it its mode and owner, the temp is owner-only (`0600`)
    /// and owned by the writer, so no other user can open it, let alone
    /// change it between the check and the rename: `check` must run as the
    /// writing user (or root). What the commit renames is the very file
    /// `check` read; the check is as good as `check` itself — anything
    /// running as the same user (`check` included) could still change it,
    /// as it could change the target after the commit. Writes made after
    /// this call are not checked.
    ///
    /// ```
    /// use std::io::Write;
    /// use atomic_write::AtomicFile;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("app.json");
    /// std::fs::write(&path, "{\"v\": 1}")?;
    /// let mut file = AtomicFile::create(&path)?;
    /// file.write_all(b"{\"v\": 2")?; // a brace short
    /// let valid = file.validate_with(|p| {
    ///     let text = std::fs::read_to_string(p)?;
    ///     Ok(text.trim_end().ends_with('}'))
    /// })?;
    /// assert!(!valid);
    /// drop(file); // nothing committed, the temp removed
    /// assert_eq!(std::fs::read_to_string(&path)?, "{\"v\": 1}");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// Running a program on it:
    ///
    /// ```no_run
    /// use std::io::Write;
    /// use std::process::Command;
    /// use atomic_write::AtomicFile;
    /// # let new_rules = b"";
    /// let mut file = AtomicFile::create("/etc/sudoers.d/deploy")?;
    /// file.write_all(new_rules)?;
    /// if file.validate_with(|p| Ok(Command::new("visudo").arg("-cf").arg(p).status()?.success()))? {
    ///     file.commit()?;
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Failing to flush, `fchmod` or name the temp (`linkat`, for an
    /// unnamed one), and any error `check` returns; the temp is removed
    /// when the file is dropped. With [`append`](crate::Options::append) to
    /// a target missing at `create()`, a commit after this creates the file
    /// only if it is still missing (else
    /// [`AlreadyExists`](io::ErrorKind::AlreadyExists)), rather than appending
    /// the checked content to a file another appender created meanwhile.
    ///
    /// # Platform-specific behavior
    ///
    /// On Windows the temp is named from the start; "owner-only" is what its
    /// directory's ACL gives a new file there.
    pub fn validate_with<F>(&mut self, check: F) -> io::Result<bool>
    where
        F: FnOnce(&Path) -> io::Result<bool>,
    {
        let path = self.private_path()?;
        check(&path)
    }

    /// The temp, flushed, owner-only (`0600` until the commit gives it its
    /// mode) and named in the directory; its path there, through the
    /// directory's real path where the system tells it.
    fn private_path(&mut self) -> io::Result<PathBuf> {
        let what = self
            .target
            .what("failed to make a path for a validator to the temporary file for");
        self.temp.file_mut().flush().context(what)?;
        let before = self.temp.meta(&self.target)?;
        if before.mode & 0o077 != 0 {
            let what = self
                .target
                .what("failed to make owner-only the temporary file for");
            sys::chmod(self.temp.file(), 0o600).context(what)?;
            // The commit gives it back the bits it had (a new file's).
            self.inherit.keep_temp_mode(before.mode);
        }
        // The checker may change the metadata (as the caller may, through
        // `as_file`): read again at the commit.
        self.temp.lend();
        // What was checked is committed or nothing: not appended to a file
        // another appender created meanwhile.
        if self.append_new.take().is_some() {
            self.no_clobber = true;
        }
        if let Linked::Refused(why) = self.temp.link_hidden(&self.target)? {
            let old = self.temp.copy_to_named(&self.target, why)?;
            self.inherit.keep_temp_meta(&old);
        }
        let name = self.temp.name().expect("named above");
        let dir = sys::dir_real_path(self.target.dir())
            .unwrap_or_else(|| self.target.dir_path().to_path_buf());
        Ok(dir.join(name))
    }
}

//! [`AtomicFile::validate_with`]: let a checker read the new content at a
//! path before it replaces the target (what the CLI's `--validate CMD` runs).

use std::io;
use std::path::Path;

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
}

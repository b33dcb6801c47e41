//! A target the caller may not write is refused, as a shell's `>` refuses
//! it, unless [`Options::force`](crate::Options::force).
//!
//! The kernel decides, as for `open(O_WRONLY)`: owner, mode bits, ACL,
//! capabilities, an immutable flag. Without asking it: root (uid 0, as the
//! temp's owner shows) may write any file, as with `>`; and in the common
//! case, the caller owns the target and its mode has `u+w` (an owner's
//! permissions are its mode's user bits, ACL or not): the metadata already
//! read decides and no syscall is made. Otherwise `faccessat(W_OK,
//! AT_EACCESS)` asks the kernel with the effective ids, as `open` checks
//! them (see `sys::may_write`). Only a refusal (`EACCES`, `EPERM`) refuses:
//! a read-only filesystem is reported by the write's own steps as before
//! (`EROFS`), and a running program (`ETXTBSY`, which `>` gets) may be
//! replaced, which is what a rename is for.

use std::fs::File;
use std::io;

use crate::error::{self, DisplayQuoted};
use crate::sys::{self, errno, Meta};
use crate::target::Target;

/// Refuses to replace `target`, an existing file of metadata `existing`, if
/// the caller, whose files get the owner `caller` (the temp's), may not open
/// it for writing. `file`: a descriptor already open on that file, asked
/// rather than the name where the system can.
pub(crate) fn check_writable(
    target: &Target,
    file: Option<&File>,
    existing: &Meta,
    caller: u32,
) -> io::Result<()> {
    // Root may write any file, as with `>`; an owner's permission is its
    // mode's user bits (an ACL's owner entry is those bits).
    if caller == 0 || (existing.uid == caller && existing.mode & 0o200 != 0) {
        return Ok(());
    }
    match sys::may_write(target.dir(), target.name(), file) {
        Err(e) if matches!(e.raw_os_error(), Some(errno::EACCES | errno::EPERM)) => {
            Err(error::context(e, || {
                format!(
                    "refusing to replace {}: this user may not write to it (force replaces it anyway)",
                    target.path().display_quoted()
                )
            }))
        }
        _ => Ok(()),
    }
}

//! Starting a write ([`Options::create`](crate::Options::create)): from a
//! path and options to an [`AtomicFile`] whose temp exists, with every error
//! that can be known now reported now.
//!
//! In order: the backup suffix is checked; missing parents are created
//! ([`crate::parents`]); the target is resolved ([`crate::resolve`]; for an
//! append, its existing file locked, [`crate::append`]); a target that can't
//! be replaced, or that exists under `no_clobber`, is refused, and so is a
//! durable write into a directory that can't be synced ([`Target`]); what the
//! result inherits is read from the old file ([`Inherit`]); the temp is
//! created beside the target ([`Temp`]); `fs.protected_regular` is applied;
//! an append copies the old content into the temp.

use std::io;
use std::path::Path;

use crate::append;
use crate::error;
use crate::file::AtomicFile;
use crate::inherit::Inherit;
use crate::options::{Durability, Options};
use crate::resolve::{self, Resolved};
use crate::sys::errno;
use crate::temp::Temp;
use crate::{backup_name, parents};

/// Starts a write of `path` with `opts`.
pub(crate) fn create(path: &Path, opts: &Options) -> io::Result<AtomicFile> {
    let backup = backup_name::Plan::of(opts)?;
    if opts.create_parents {
        parents::create(path, opts.durability == Durability::Full)?;
    }
    // With `no_clobber`, a symlink at the path, dangling or not, is an
    // existing target (as `O_CREAT|O_EXCL` sees it): never followed.
    let follow = opts.follow_symlinks && !opts.no_clobber;
    // With no_clobber there is nothing to copy: the target must not exist.
    let (resolved, lock) = if opts.append && !opts.no_clobber {
        append::resolve_locked(path, follow, opts.lock_timeout)?
    } else {
        (resolve::resolve(path, follow)?, None)
    };
    let Resolved {
        target,
        meta: existing,
    } = resolved;
    // With `follow_symlinks(false)` a link counts as an existing target.
    let occupied = existing.is_some();
    let existing = target.replaceable(existing)?;
    if opts.no_clobber && occupied {
        return Err(error::os(errno::EEXIST, target.what("refusing to replace")));
    }
    target.check_durable(opts.durability)?;
    let (inherit, existing) =
        Inherit::read(target.dir(), target.name(), target.path(), existing, opts)?;
    // A named temp, which others could open by its name, is owner-only
    // (`0600`) until commit gives it its group and bits — unless it gets
    // exactly what a new file would (no mode to set at commit).
    let temp = Temp::create(
        &target,
        inherit.create_mode(),
        inherit.has_mode(),
        !opts.unnamed_temp,
    )?;
    // From here an error drops `file`, which removes a named temp.
    let mut file = AtomicFile {
        backup,
        append_new: (opts.append && !opts.no_clobber && existing.is_none())
            .then(|| Box::new(opts.clone())),
        lock,
        temp,
        target,
        inherit,
        no_clobber: opts.no_clobber,
        durability: opts.durability,
    };
    if let Some(existing) = &existing {
        // Read now, as the commit needs it anyway: where the existing target
        // is not the caller's (the temp's owner), the kernel's
        // `fs.protected_regular` rule applies to it.
        let caller = file.temp.meta(&file.target)?.uid;
        if existing.uid != caller {
            file.target.check_regular(existing)?;
        }
        if !opts.force {
            // `access.rs`: refused as `>` refuses it.
            let held = file.lock.as_ref().map(append::Held::file);
            crate::access::check_writable(&file.target, held, existing, caller)?;
        }
        if let Some(lock) = &mut file.lock {
            lock.copy_into(file.temp.file_mut(), file.target.path())?;
        }
    }
    Ok(file)
}

//! Durability: `FlushFileBuffers` of files; no directory flush (the rename
//! is written through instead) and no `syncfs`.

use std::fs::File;
use std::io;

use super::unsupported;

/// `FlushFileBuffers`: data and metadata to the drive.
pub(crate) fn sync_file(file: &File) -> io::Result<()> {
    file.sync_all()
}

/// Windows cannot flush a directory (`FlushFileBuffers` needs a handle open
/// for writing, which a directory does not give): the rename itself is
/// written through instead (see [`rename`](fn@super::rename)).
pub(crate) fn sync_dir(_dir: &File) -> io::Result<()> {
    Ok(())
}

/// No `syncfs` here.
pub(crate) fn syncfs_trusted(_dir: &File, _any_kernel: bool) -> io::Result<bool> {
    Ok(false)
}

/// Never called where [`syncfs_trusted`] is always false.
pub(crate) fn sync_fs(_file: &File) -> io::Result<()> {
    Err(unsupported("syncing a whole volume"))
}

/// The flushes alone do the work here.
pub(crate) fn start_writeback(_file: &File) -> io::Result<()> {
    Ok(())
}

/// A full [`sync_file`] (there is no [`sync_fs`] to rely on).
pub(crate) fn check_written(file: &File) -> io::Result<()> {
    sync_file(file)
}

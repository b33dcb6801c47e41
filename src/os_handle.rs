//! The temp's descriptor (Unix) or handle (Windows), lent out through the
//! standard traits: the one platform difference in [`AtomicFile`]'s API.
//! Lending goes through [`AtomicFile::as_file`], which notes that the temp's
//! metadata may change from then on.

#[allow(unused_imports)] // Used by each platform's `imp`.
use crate::AtomicFile;

#[cfg(unix)]
mod imp {
    use super::AtomicFile;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

    impl AsFd for AtomicFile {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.as_file().as_fd()
        }
    }

    impl AsRawFd for AtomicFile {
        fn as_raw_fd(&self) -> RawFd {
            self.as_file().as_raw_fd()
        }
    }
}

#[cfg(windows)]
mod imp {
    use super::AtomicFile;
    use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, RawHandle};

    impl AsHandle for AtomicFile {
        fn as_handle(&self) -> BorrowedHandle<'_> {
            self.as_file().as_handle()
        }
    }

    impl AsRawHandle for AtomicFile {
        fn as_raw_handle(&self) -> RawHandle {
            self.as_file().as_raw_handle()
        }
    }
}

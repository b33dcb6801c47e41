//! Shared code of the fuzz targets: input decoding, the operation model (the
//! same file `tests/model.rs` runs under proptest) and the path oracle.

#[path = "../../tests/model/ops.rs"]
pub mod ops;

pub mod decode;
pub mod paths;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where scratch directories go: `/dev/shm` (tmpfs, fast) when writable, else
/// the system temp directory; `ATOMIC_WRITE_TEST_DIR` overrides.
pub fn scratch_base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        if let Some(dir) = std::env::var_os("ATOMIC_WRITE_TEST_DIR") {
            return dir.into();
        }
        let shm = Path::new("/dev/shm");
        if tempfile::tempdir_in(shm).is_ok() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        }
    })
}

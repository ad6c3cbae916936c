//! The std-only implementations: what Windows runs, and what Linux runs
//! under `PHOTOPRO_PORTABLE=1` so the tests cover it.

use std::fs::Metadata;
use std::io;
use std::path::Path;

/// No file identity survives a rename in std alone: platforms without a
/// native one (none that PhotoPro ships on) get a number made from the path,
/// so every rename looks like a deletion and a creation (synced correctly,
/// content-addressed, but not as a rename).
#[allow(dead_code)]
pub fn file_id(path: &Path, _meta: &Metadata) -> io::Result<u64> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Ok(u64::from_le_bytes(first))
}

/// A no-replace rename from std alone. A file: hard link to the new name
/// (which fails if the name is taken, atomically), then unlink the old one.
/// A folder — or a file on a volume without hard links (FAT, exFAT, some
/// network shares) —: check that the target is free, then rename; the gap
/// between the two is the one window in which a file appearing at `to` could
/// be replaced (Windows' `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING`
/// would close it, but std's `rename` always replaces).
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.is_file() {
        match std::fs::hard_link(from, to) {
            Ok(()) => {
                return std::fs::remove_file(from).inspect_err(|_| {
                    // Leave things as they were: one name, the old one.
                    let _ = std::fs::remove_file(to);
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
            // No hard links here: the checked rename below.
            Err(_) => {}
        }
    }
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", to.display()),
        ));
    }
    std::fs::rename(from, to)
}

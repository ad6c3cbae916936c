//! Linux and macOS.

use std::fs::Metadata;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The inode (unique within the volume the sync folder is on).
pub fn file_id(_path: &Path, meta: &Metadata) -> io::Result<u64> {
    Ok(meta.ino())
}

#[allow(dead_code)]
fn c_path(path: &Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// Whether the native call is not offered here (old kernel, a file system
/// without the flag): the portable way is used instead.
#[allow(dead_code)]
fn unsupported(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::ENOTSUP)
    )
}

/// Linux: `renameat2(RENAME_NOREPLACE)`, atomic in the kernel.
#[cfg(target_os = "linux")]
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let (from_c, to_c) = (c_path(from)?, c_path(to)?);
    // SAFETY: both paths are valid NUL-terminated strings for the call's duration.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from_c.as_ptr(),
            libc::AT_FDCWD,
            to_c.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if result == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if unsupported(&error) {
        return super::portable::rename_no_replace(from, to);
    }
    Err(error)
}

/// macOS: `renamex_np(RENAME_EXCL)`, atomic in the kernel (APFS and HFS+).
#[cfg(target_vendor = "apple")]
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let (from_c, to_c) = (c_path(from)?, c_path(to)?);
    // SAFETY: both paths are valid NUL-terminated strings for the call's duration.
    let result = unsafe { libc::renamex_np(from_c.as_ptr(), to_c.as_ptr(), libc::RENAME_EXCL) };
    if result == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    if unsupported(&error) {
        return super::portable::rename_no_replace(from, to);
    }
    Err(error)
}

/// Other Unixes: the portable way.
#[cfg(not(any(target_os = "linux", target_vendor = "apple")))]
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    super::portable::rename_no_replace(from, to)
}

//! Windows. Not built on the CI machine (Linux only): kept small, and the
//! rename is the portable one, which the Linux tests run under
//! `PHOTOPRO_PORTABLE=1`.

use std::fs::Metadata;
use std::io;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

/// Open a folder too, and a link itself rather than its target.
const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
/// FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE: never in anyone's way.
const SHARE_ALL: u32 = 0x1 | 0x2 | 0x4;

#[repr(C)]
#[allow(dead_code)]
struct FileTime {
    low: u32,
    high: u32,
}

/// `BY_HANDLE_FILE_INFORMATION` (fileapi.h).
#[repr(C)]
#[allow(dead_code)]
struct ByHandleFileInformation {
    file_attributes: u32,
    creation_time: FileTime,
    last_access_time: FileTime,
    last_write_time: FileTime,
    volume_serial_number: u32,
    file_size_high: u32,
    file_size_low: u32,
    number_of_links: u32,
    file_index_high: u32,
    file_index_low: u32,
}

#[link(name = "kernel32")]
unsafe extern "system" {
    fn GetFileInformationByHandle(
        file: std::os::windows::raw::HANDLE,
        information: *mut ByHandleFileInformation,
    ) -> i32;
}

/// The NTFS file index (stable across renames and moves within the volume;
/// std's `MetadataExt::file_index` is not stable Rust yet). The file is
/// opened for attributes only, sharing everything, so a photo another program
/// holds open is still identified.
pub fn file_id(path: &Path, _meta: &Metadata) -> io::Result<u64> {
    let file = std::fs::OpenOptions::new()
        .access_mode(0)
        .share_mode(SHARE_ALL)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)?;
    // SAFETY: all-zero is a valid value of this plain C struct.
    let mut information: ByHandleFileInformation = unsafe { std::mem::zeroed() };
    // SAFETY: the handle is open for the call's duration; the struct is ours to fill.
    let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle(), &mut information) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(((information.file_index_high as u64) << 32) | information.file_index_low as u64)
}

/// std's `rename` replaces on Windows: the portable hard-link way instead.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    super::portable::rename_no_replace(from, to)
}

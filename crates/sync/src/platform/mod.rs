//! Everything the sync engine does differently on Linux, macOS and Windows,
//! behind one interface: a file's identity, an atomic rename that never
//! replaces, and a case-only rename on a case-insensitive folder. The other
//! platform pieces are portable code used everywhere: the library lock
//! (`lock.rs`, std's `File::try_lock`), the app trash (`disk.rs`, a folder
//! in the data directory), the control channel (`control.rs`: a Unix socket,
//! or loopback TCP with a secret) and the data directories (the
//! `directories` crate, in `photopro_library::DataDirs`).
//!
//! `unix.rs` serves Linux and macOS, `windows.rs` Windows, and `portable.rs`
//! holds the std-only implementations Windows uses (and any Unix whose file
//! system lacks the native call). The portable ones run on Linux too when
//! `PHOTOPRO_PORTABLE=1` is set — a test switch, so the code Windows runs is
//! exercised by the Linux test suite (`scripts/test.sh` runs the disk, lock,
//! control and single-engine tests a second time with it). ARCHITECTURE.md
//! has the table of what is verified where.

use std::fs::Metadata;
use std::io;
use std::path::Path;
use std::time::SystemTime;

pub mod portable;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as native;
#[cfg(windows)]
mod windows;
#[cfg(not(any(unix, windows)))]
use portable as native;
#[cfg(windows)]
use windows as native;

// Every platform module offers the same functions with the same signatures
// (checked on whichever platform builds this).
const _: fn(&Path, &Metadata) -> io::Result<u64> = native::file_id;
const _: fn(&Path, &Path) -> io::Result<()> = native::rename_no_replace;
const _: fn(&Path, &Path) -> io::Result<()> = portable::rename_no_replace;

/// The environment variable that makes a Unix build use the portable
/// implementations (tests only; Windows always does).
pub const PORTABLE_SWITCH: &str = "PHOTOPRO_PORTABLE";

/// Whether the portable (std-only) implementations are in use: always on
/// Windows, on Unix when `PHOTOPRO_PORTABLE=1` (read once per process).
pub fn portable() -> bool {
    if cfg!(not(unix)) {
        return true;
    }
    static SWITCH: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SWITCH.get_or_init(|| std::env::var_os(PORTABLE_SWITCH).is_some_and(|v| v == "1"))
}

/// A number that stays with a file or folder while it is renamed or moved
/// within one volume: the inode on Linux and macOS, the NTFS file index on
/// Windows. `meta` is the entry's `symlink_metadata`; Windows opens `path`
/// to ask (its std metadata does not carry the index on stable Rust).
///
/// Weaker on FAT and exFAT volumes (memory cards, some external drives): their
/// "file index" is the directory entry's position, so a rename there may look
/// like a deletion and a new file — synced correctly (content-addressed, no
/// bytes sent again), but as a delete and a create rather than a rename.
pub fn file_id(path: &Path, meta: &Metadata) -> io::Result<u64> {
    native::file_id(path, meta)
}

/// A file's modification time in nanoseconds since 1970 (negative before),
/// from std on every platform.
pub fn mtime_ns(meta: &Metadata) -> i64 {
    match meta.modified() {
        Ok(time) => match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
        },
        Err(_) => 0,
    }
}

/// Rename `from` to `to` atomically, failing with `AlreadyExists` instead of
/// replacing anything at `to`. Linux: `renameat2(RENAME_NOREPLACE)`; macOS:
/// `renamex_np(RENAME_EXCL)`; Windows (and those file systems that refuse
/// the native call): [`portable::rename_no_replace`].
///
/// A rename that changes only the case of a name (`img.jpg` → `IMG.jpg`), or
/// its Unicode form, on a case-insensitive folder (macOS and Windows by
/// default) finds its
/// target "taken" by the file itself: the folder is probed — the target name
/// leads to the same file — and the rename goes through.
pub fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let renamed = if portable() {
        portable::rename_no_replace(from, to)
    } else {
        native::rename_no_replace(from, to)
    };
    match renamed {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && same_entry_other_case(from, to) => {
            rename_case(from, to)
        }
        other => other,
    }
}

/// Does `to` name the same directory entry as `from`, spelled in another
/// case (or Unicode form)? Only a folder that ignores the difference answers yes.
fn same_entry_other_case(from: &Path, to: &Path) -> bool {
    let (Some(from_name), Some(to_name)) = (from.file_name(), to.file_name()) else {
        return false;
    };
    if from.parent() != to.parent() || from_name == to_name {
        return false;
    }
    let (Some(a), Some(b)) = (from_name.to_str(), to_name.to_str()) else {
        return false;
    };
    // Case, and Unicode spelling (macOS folders ignore NFC versus NFD too).
    if crate::names::name_key(a) != crate::names::name_key(b) {
        return false;
    }
    let id = |p: &Path| std::fs::symlink_metadata(p).and_then(|m| file_id(p, &m));
    matches!((id(from), id(to)), (Ok(x), Ok(y)) if x == y)
}

/// Tell the C allocator that this process is a long-running daemon whose
/// passes allocate and free a lot (three trees of a whole library) and whose
/// memory between passes should shrink back. glibc's defaults suit short
/// programs: large blocks move into the heap once a large block was freed
/// (the mmap threshold rises with each, up to 32 MiB) and the heap's free
/// tail of a thread's arena is never returned by `malloc_trim`, so a
/// daemon's idle RSS stayed at its pass's size. Fixed thresholds (blocks of
/// 128 KiB and more are mapped and unmapped on their own; a free tail over
/// 128 KiB is returned) and at most two arenas brought the idle daemon after
/// a 10,000-file first sync from 13.5 to ~9 MB of anonymous memory
/// (BENCHMARKS.md). Other allocators (macOS, Windows, musl) have no such
/// knobs and are left alone; not measured there. Call once, early.
pub fn tune_allocator_for_a_daemon() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// A case-only rename, checked afterwards: the folder must list the new
/// spelling and no longer the old one (two hard links whose names differ in
/// case, on a case-sensitive folder, would otherwise "rename" to nothing).
fn rename_case(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)?;
    let dir = to.parent().unwrap_or(Path::new("."));
    let (old, new) = (from.file_name(), to.file_name());
    let mut listed_old = false;
    let mut listed_new = false;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        listed_old |= Some(name.as_os_str()) == old;
        listed_new |= Some(name.as_os_str()) == new;
    }
    if listed_old || !listed_new {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} is another name of the same file", to.display()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(test: impl Fn(&dyn Fn(&Path, &Path) -> io::Result<()>)) {
        test(&native::rename_no_replace);
        test(&portable::rename_no_replace);
        test(&rename_no_replace);
    }

    #[test]
    fn a_rename_never_replaces_a_file() {
        both(|rename| {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
            std::fs::write(&a, b"a").unwrap();
            std::fs::write(&b, b"b").unwrap();
            let error = rename(&a, &b).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "{error}");
            assert_eq!(std::fs::read(&a).unwrap(), b"a");
            assert_eq!(std::fs::read(&b).unwrap(), b"b");
            let c = dir.path().join("c.jpg");
            rename(&a, &c).unwrap();
            assert!(!a.exists());
            assert_eq!(std::fs::read(&c).unwrap(), b"a");
        });
    }

    #[test]
    fn a_folder_moves_but_never_onto_another() {
        both(|rename| {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("A"), dir.path().join("B"));
            std::fs::create_dir_all(a.join("inside")).unwrap();
            std::fs::create_dir(&b).unwrap();
            assert_eq!(
                rename(&a, &b).unwrap_err().kind(),
                io::ErrorKind::AlreadyExists
            );
            let empty = dir.path().join("Empty");
            std::fs::create_dir(&empty).unwrap();
            assert_eq!(
                rename(&empty, &b).unwrap_err().kind(),
                io::ErrorKind::AlreadyExists,
                "not even an empty folder onto an empty folder"
            );
            let c = dir.path().join("C");
            rename(&a, &c).unwrap();
            assert!(c.join("inside").is_dir() && !a.exists());
        });
    }

    #[test]
    fn identity_survives_a_rename() {
        both(|rename| {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
            std::fs::write(&a, b"a").unwrap();
            let before = file_id(&a, &std::fs::symlink_metadata(&a).unwrap()).unwrap();
            rename(&a, &b).unwrap();
            let after = file_id(&b, &std::fs::symlink_metadata(&b).unwrap()).unwrap();
            assert_eq!(before, after);
        });
    }

    #[test]
    fn a_case_only_rename_works_where_the_folder_ignores_case_and_only_there() {
        let dir = tempfile::tempdir().unwrap();
        let (lower, upper) = (dir.path().join("a.jpg"), dir.path().join("A.jpg"));
        std::fs::write(&lower, b"a").unwrap();
        let names = || {
            let mut names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        match std::fs::hard_link(&lower, &upper) {
            // A case-sensitive folder (Linux): `a.jpg` and `A.jpg` may be two
            // hard links to one file; the target is taken, and stays so.
            Ok(()) => {
                let error = rename_no_replace(&lower, &upper).unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "{error}");
                assert_eq!(names(), ["A.jpg", "a.jpg"]);
            }
            // A case-insensitive folder (macOS, Windows): `A.jpg` is `a.jpg`
            // itself, and the rename changes the spelling.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                rename_no_replace(&lower, &upper).unwrap();
                assert_eq!(names(), ["A.jpg"]);
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn the_last_resort_identity_tells_paths_apart() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.jpg"), dir.path().join("b.jpg"));
        std::fs::write(&a, b"same").unwrap();
        std::fs::write(&b, b"same").unwrap();
        let id = |p: &Path| portable::file_id(p, &std::fs::metadata(p).unwrap()).unwrap();
        assert_ne!(id(&a), id(&b));
        assert_eq!(id(&a), id(&a));
    }

    #[test]
    fn modification_times_before_1970_are_negative() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jpg");
        std::fs::write(&path, b"x").unwrap();
        let when = SystemTime::UNIX_EPOCH - std::time::Duration::from_millis(1_500);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        assert_eq!(mtime_ns(&std::fs::metadata(&path).unwrap()), -1_500_000_000);
    }
}

//! One sync engine per library: an OS advisory lock on `sync.lock` in the
//! library's data directory, held by whichever process runs the engine (the
//! `photopro sync` daemon, a `photopro sync --once` run, or the app).
//!
//! The lock is the operating system's (`flock` on Linux and macOS,
//! `LockFileEx` on Windows, through std's [`File::try_lock`]): it belongs to
//! the open file, so it is released when the process exits however it exits —
//! a `kill -9` leaves no stale lock behind. Who holds it (process id and
//! role, for messages only; the lock itself is the truth) is written to a
//! second file, `sync.holder`: Windows' locks are mandatory, so nobody else
//! could read the locked file itself. One implementation on every platform.

use crate::SyncError;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "sync.lock";
/// Who holds the lock (`<pid> <role>`), beside it.
pub const HOLDER_FILE: &str = "sync.holder";

/// The held lock; dropping it releases the library.
#[derive(Debug)]
pub struct LibraryLock {
    file: File,
    path: PathBuf,
    /// The holder file this lock wrote (none for a probe).
    holder: Option<PathBuf>,
}

/// Who holds a lock someone else holds (as far as its file says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    /// `daemon`, `once` or `app`.
    pub role: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.role.as_str() {
            "daemon" => "a `photopro sync` daemon",
            "once" => "a `photopro sync --once` run",
            "app" => "the PhotoPro app",
            _ => "another PhotoPro process",
        };
        match self.pid {
            Some(pid) => write!(f, "{what} (process {pid})"),
            None => write!(f, "{what}"),
        }
    }
}

fn open(dir: &Path) -> Result<(File, PathBuf), SyncError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| SyncError::Io(format!("creating {}: {e}", dir.display())))?;
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| SyncError::Io(format!("opening the lock file {}: {e}", path.display())))?;
    Ok((file, path))
}

impl LibraryLock {
    /// Take the library's lock without waiting. `Ok(Err(holder))` when another
    /// process (or another handle in this one) holds it.
    pub fn try_acquire(dir: &Path, role: &str) -> Result<Result<LibraryLock, Holder>, SyncError> {
        LibraryLock::acquire(dir, Some(role))
    }

    fn acquire(dir: &Path, role: Option<&str>) -> Result<Result<LibraryLock, Holder>, SyncError> {
        let (file, path) = open(dir)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(Err(read_holder(dir))),
            Err(TryLockError::Error(e)) => {
                return Err(SyncError::Io(format!(
                    "locking {}: {e} (is the data directory on a file system without locks?)",
                    path.display()
                )))
            }
        }
        let Some(role) = role else {
            return Ok(Ok(LibraryLock {
                file,
                path,
                holder: None,
            }));
        };
        // Only the holder writes, and whole (temp file, then rename), so
        // readers never see half of someone else's line.
        let holder = dir.join(HOLDER_FILE);
        let temp = dir.join(format!("{HOLDER_FILE}.{}.tmp", std::process::id()));
        let line = format!("{} {role}\n", std::process::id());
        if let Err(e) = std::fs::write(&temp, line).and_then(|_| std::fs::rename(&temp, &holder)) {
            let _ = std::fs::remove_file(&temp);
            return Err(SyncError::Io(format!(
                "writing {}: {e} (is the data directory writable?)",
                holder.display()
            )));
        }
        Ok(Ok(LibraryLock {
            file,
            path,
            holder: Some(holder),
        }))
    }

    /// Who holds the lock now, if anyone (without taking it).
    pub fn holder(dir: &Path) -> Result<Option<Holder>, SyncError> {
        // Taken (and released at once) when free: nobody holds it.
        Ok(LibraryLock::acquire(dir, None)?.err())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LibraryLock {
    fn drop(&mut self) {
        // Forget the holder while still holding the lock, so the next
        // holder's line is never removed; closing the file releases the lock
        // too, but unlock at once.
        if let Some(holder) = &self.holder {
            let _ = std::fs::remove_file(holder);
        }
        let _ = self.file.unlock();
    }
}

fn read_holder(dir: &Path) -> Holder {
    let text = std::fs::read_to_string(dir.join(HOLDER_FILE)).unwrap_or_default();
    let mut words = text.split_whitespace();
    let pid = words.next().and_then(|p| p.parse().ok());
    let role = words.next().unwrap_or("unknown").to_string();
    Holder { pid, role }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = LibraryLock::try_acquire(dir.path(), "daemon")
            .unwrap()
            .expect("free at first");
        let holder = LibraryLock::try_acquire(dir.path(), "once")
            .unwrap()
            .expect_err("held");
        assert_eq!(holder.pid, Some(std::process::id()));
        assert_eq!(holder.role, "daemon");
        assert_eq!(
            LibraryLock::holder(dir.path()).unwrap(),
            Some(holder.clone())
        );
        assert!(holder.to_string().contains("daemon"), "{holder}");
        drop(first);
        assert!(
            !dir.path().join(HOLDER_FILE).exists(),
            "the holder's line goes with the lock"
        );
        assert_eq!(LibraryLock::holder(dir.path()).unwrap(), None);
        assert!(
            !dir.path().join(HOLDER_FILE).exists(),
            "a probe of a free lock names no holder"
        );
        let again = LibraryLock::try_acquire(dir.path(), "once")
            .unwrap()
            .expect("free again");
        assert_eq!(
            LibraryLock::try_acquire(dir.path(), "daemon")
                .unwrap()
                .unwrap_err()
                .role,
            "once"
        );
        drop(again);
    }

    #[test]
    fn the_probe_does_not_take_the_lock_away() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LibraryLock::holder(dir.path()).unwrap(), None);
        let _held = LibraryLock::try_acquire(dir.path(), "app")
            .unwrap()
            .unwrap();
        assert_eq!(
            LibraryLock::holder(dir.path()).unwrap().map(|h| h.role),
            Some("app".to_string())
        );
    }
}

//! Conflicted copies in the sync folder, and the user's choice about each.
//!
//! When both sides changed a photo, sync keeps both: one version stays under
//! the name, the other becomes `name (conflicted copy YYYY-MM-DD from DEVICE).ext`
//! beside it. This module finds those pairs and resolves them on disk — keep
//! both (the copy gets a plain name), keep the copy's version, or keep the
//! original's — always moving the losing version to the app trash, never
//! deleting it. The next sync pass carries the choice to the other devices.

use crate::device::DeviceIdentity;
use crate::disk::DiskFs;
use crate::names::unique_name;
use crate::SyncError;
use serde::Serialize;
use std::path::{Path, PathBuf};

const MARKER: &str = " (conflicted copy ";

/// One conflicted copy and the file it is a copy of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    /// Paths below the sync folder, '/'-separated.
    pub copy: String,
    pub original: String,
    /// Whether the original still exists (it may have been renamed or deleted since).
    pub original_exists: bool,
    pub date: String,
    /// The device whose version the copy holds.
    pub device: String,
    /// The copy holds this computer's version ("mine"), else another device's
    /// ("theirs"): decided by this device's identity, which knows every name it signed with.
    pub copy_is_mine: bool,
}

/// What the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Keep both versions; the copy gets a plain name (`name (from DEVICE).ext`).
    KeepBoth,
    /// Keep this computer's version under the original name; the other goes to the trash.
    KeepMine,
    /// Keep the other device's version under the original name; this one goes to the trash.
    KeepTheirs,
}

/// `(original name, date, device)` of a conflicted-copy name.
pub fn parse_copy_name(name: &str) -> Option<(String, String, String)> {
    let start = name.find(MARKER)?;
    let rest = &name[start + MARKER.len()..];
    let close = rest.rfind(')')?;
    let inner = &rest[..close];
    let extension = &rest[close + 1..];
    let (date, device) = inner.split_once(" from ")?;
    if date.len() != 10 || !date.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    Some((
        format!("{}{extension}", &name[..start]),
        date.to_string(),
        device.to_string(),
    ))
}

/// Every conflicted copy below `root`, sorted by path.
pub fn list(root: &Path, this_device: &DeviceIdentity) -> Vec<Conflict> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Some((original, date, device)) = parse_copy_name(&name) else {
                continue;
            };
            let relative = |p: &Path| {
                p.strip_prefix(root)
                    .unwrap_or(p)
                    .to_string_lossy()
                    .replace('\\', "/")
            };
            let original_path = path.with_file_name(&original);
            found.push(Conflict {
                copy: relative(&path),
                original: relative(&original_path),
                original_exists: original_path.is_file(),
                date,
                copy_is_mine: this_device.made(&device),
                device,
            });
        }
    }
    found.sort_by(|a, b| a.copy.cmp(&b.copy));
    found
}

/// Carry out `resolution` for the conflicted copy at `copy` (below `root`).
/// Returns the path of the file kept under the original name (or, for
/// keep-both, the copy's new path).
pub fn resolve(
    root: &Path,
    trash_dir: &Path,
    copy: &str,
    this_device: &DeviceIdentity,
    resolution: Resolution,
) -> Result<PathBuf, SyncError> {
    if copy.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(SyncError::Precondition(format!(
            "{copy} is not a path inside the sync folder"
        )));
    }
    let copy_path = root.join(copy);
    let name = copy_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let (original, _date, device) = parse_copy_name(&name)
        .ok_or_else(|| SyncError::Precondition(format!("{copy} is not a conflicted copy")))?;
    if !copy_path.is_file() {
        return Err(SyncError::NotFound(copy.to_string()));
    }
    let original_path = copy_path.with_file_name(&original);
    let fs = DiskFs::new(root, trash_dir);
    let copy_is_mine = this_device.made(&device);
    let keep_copy = match resolution {
        Resolution::KeepBoth => {
            let (stem, extension) = match original.rfind('.') {
                Some(dot) if dot > 0 => original.split_at(dot),
                _ => (original.as_str(), ""),
            };
            let plain = unique_name(&format!("{stem} (from {device}){extension}"), |n| {
                copy_path.with_file_name(n).exists()
            });
            let target = copy_path.with_file_name(plain);
            rename_no_clobber(&copy_path, &target)?;
            return Ok(target);
        }
        Resolution::KeepMine => copy_is_mine,
        Resolution::KeepTheirs => !copy_is_mine,
    };
    if keep_copy {
        if original_path.exists() {
            fs.trash_path(&original_path)?;
        }
        rename_no_clobber(&copy_path, &original_path)?;
        Ok(original_path)
    } else {
        fs.trash_path(&copy_path)?;
        Ok(original_path)
    }
}

fn rename_no_clobber(from: &Path, to: &Path) -> Result<(), SyncError> {
    // Fails instead of replacing a file that appeared meanwhile (every platform).
    crate::platform::rename_no_replace(from, to).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            SyncError::Precondition(format!("{} already exists", to.display()))
        }
        _ => SyncError::Io(format!("{}: {e}", to.display())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Sync");
        let trash = dir.path().join("trash");
        std::fs::create_dir_all(root.join("Smith Wedding")).unwrap();
        std::fs::write(root.join("Smith Wedding/IMG_1.jpg"), b"theirs").unwrap();
        std::fs::write(
            root.join("Smith Wedding/IMG_1 (conflicted copy 2026-11-26 from Studio Mac).jpg"),
            b"mine",
        )
        .unwrap();
        (dir, root, trash)
    }

    #[test]
    fn names_parse_back_into_original_date_and_device() {
        assert_eq!(
            parse_copy_name("IMG_1 (conflicted copy 2026-11-26 from Studio Mac).jpg"),
            Some(("IMG_1.jpg".into(), "2026-11-26".into(), "Studio Mac".into()))
        );
        assert_eq!(
            parse_copy_name("notes (conflicted copy 2026-01-02 from Laptop (2))"),
            Some(("notes".into(), "2026-01-02".into(), "Laptop (2)".into()))
        );
        assert_eq!(parse_copy_name("IMG_1.jpg"), None);
        assert_eq!(
            parse_copy_name("IMG (conflicted copy yesterday from X).jpg"),
            None
        );
    }

    #[test]
    fn lists_copies_with_whose_version_they_hold() {
        let (_dir, root, _trash) = setup();
        let found = list(&root, &DeviceIdentity::named("Studio Mac"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].original, "Smith Wedding/IMG_1.jpg");
        assert!(found[0].copy_is_mine && found[0].original_exists);
        assert!(!list(&root, &DeviceIdentity::named("Laptop"))[0].copy_is_mine);
    }

    #[test]
    fn keep_mine_puts_my_version_under_the_name_and_trashes_theirs() {
        let (_dir, root, trash) = setup();
        let copy = "Smith Wedding/IMG_1 (conflicted copy 2026-11-26 from Studio Mac).jpg";
        resolve(
            &root,
            &trash,
            copy,
            &DeviceIdentity::named("Studio Mac"),
            Resolution::KeepMine,
        )
        .unwrap();
        assert_eq!(
            std::fs::read(root.join("Smith Wedding/IMG_1.jpg")).unwrap(),
            b"mine"
        );
        assert!(list(&root, &DeviceIdentity::named("Studio Mac")).is_empty());
        let fs = DiskFs::new(&root, &trash);
        let entries = fs.trash_entries();
        assert_eq!(
            entries.len(),
            1,
            "their version is in the trash, restorable"
        );
        assert_eq!(entries[0].original, "Smith Wedding/IMG_1.jpg");
    }

    #[test]
    fn keep_theirs_trashes_my_copy() {
        let (_dir, root, trash) = setup();
        let copy = "Smith Wedding/IMG_1 (conflicted copy 2026-11-26 from Studio Mac).jpg";
        resolve(
            &root,
            &trash,
            copy,
            &DeviceIdentity::named("Studio Mac"),
            Resolution::KeepTheirs,
        )
        .unwrap();
        assert_eq!(
            std::fs::read(root.join("Smith Wedding/IMG_1.jpg")).unwrap(),
            b"theirs"
        );
        assert!(!root.join(copy).exists());
        assert_eq!(DiskFs::new(&root, &trash).trash_entries().len(), 1);
    }

    #[test]
    fn keep_both_gives_the_copy_a_plain_name() {
        let (_dir, root, trash) = setup();
        let copy = "Smith Wedding/IMG_1 (conflicted copy 2026-11-26 from Studio Mac).jpg";
        let kept = resolve(
            &root,
            &trash,
            copy,
            &DeviceIdentity::named("Laptop"),
            Resolution::KeepBoth,
        )
        .unwrap();
        assert_eq!(kept, root.join("Smith Wedding/IMG_1 (from Studio Mac).jpg"));
        assert_eq!(std::fs::read(&kept).unwrap(), b"mine");
        assert_eq!(
            std::fs::read(root.join("Smith Wedding/IMG_1.jpg")).unwrap(),
            b"theirs"
        );
        assert!(list(&root, &DeviceIdentity::named("Laptop")).is_empty());
    }

    #[test]
    fn refuses_paths_outside_the_folder_and_plain_files() {
        let (_dir, root, trash) = setup();
        assert!(resolve(
            &root,
            &trash,
            "../etc/passwd (conflicted copy 2026-11-26 from X)",
            &DeviceIdentity::named("X"),
            Resolution::KeepMine
        )
        .is_err());
        assert!(resolve(
            &root,
            &trash,
            "Smith Wedding/IMG_1.jpg",
            &DeviceIdentity::named("X"),
            Resolution::KeepMine
        )
        .is_err());
    }
}

//! Fixtures shared by the scanner's integration tests.
#![allow(dead_code)]

use photopro_index::Index;
use photopro_library::scan::{scan_library, ScanOptions, ScanReport};
use photopro_library::{Config, DataDirs};
use std::path::{Path, PathBuf};

/// `../shared/photos` next to the repository (override with PHOTOPRO_SHARED_PHOTOS).
pub fn shared_photos() -> PathBuf {
    let path = std::env::var_os("PHOTOPRO_SHARED_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/photos"));
    let path = std::fs::canonicalize(&path).unwrap_or_else(|e| {
        panic!(
            "real test photos expected at {} ({e}); set PHOTOPRO_SHARED_PHOTOS",
            path.display()
        )
    });
    assert!(
        path.join("dji-phantom3").is_dir(),
        "{} does not hold the shared photos",
        path.display()
    );
    path
}

/// An isolated data dir with an index, and the options a scan needs.
pub struct Harness {
    pub data: tempfile::TempDir,
    pub dirs: DataDirs,
    pub index: Index,
    pub options: ScanOptions,
}

impl Harness {
    pub fn new() -> Harness {
        Self::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Harness {
        let data = tempfile::tempdir().unwrap();
        let dirs = DataDirs::resolve(Some(data.path())).unwrap();
        let index = Index::open(&dirs.index_path()).unwrap();
        let options = ScanOptions::new(&config, &dirs).unwrap();
        Harness {
            data,
            dirs,
            index,
            options,
        }
    }

    pub fn scan(&mut self, root: &Path) -> ScanReport {
        let library = self.index.add_library(root).unwrap();
        scan_library(&mut self.index, library, &self.options, &mut |_| {}).unwrap()
    }

    pub fn asset(&self, path: &Path) -> photopro_index::AssetDetails {
        let (library, rel) = self.index.library_for_path(path).unwrap();
        let slash = rel.iter().rposition(|&b| b == b'/');
        let (folder_rel, name) = match slash {
            Some(s) => (&rel[..s], &rel[s + 1..]),
            None => (&b""[..], &rel[..]),
        };
        let folder = self
            .index
            .folder_id(library.id, folder_rel)
            .unwrap()
            .expect("folder indexed");
        self.index
            .asset_by_name(folder, name)
            .unwrap()
            .unwrap_or_else(|| panic!("{} not indexed", path.display()))
    }

    pub fn error_for(&self, path: &Path) -> Option<String> {
        let wanted = path.to_string_lossy();
        self.index
            .status()
            .unwrap()
            .error_files
            .into_iter()
            .find(|e| e.path == wanted)
            .map(|e| e.error)
    }
}

/// Copy a directory tree (files only) into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

use crate::{LibraryError, Result};
use std::path::{Path, PathBuf};

/// Where PhotoPro keeps its index, thumbnail cache and configuration.
///
/// By default these are the platform's directories (XDG on Linux,
/// `~/Library/...` on macOS, `%APPDATA%` on Windows). `--data-dir DIR` puts all
/// three under one directory so tests and scripts run isolated.
#[derive(Debug, Clone)]
pub struct DataDirs {
    data: PathBuf,
    cache: PathBuf,
    config: PathBuf,
}

impl DataDirs {
    pub fn resolve(data_dir: Option<&Path>) -> Result<DataDirs> {
        let dirs = match data_dir {
            Some(dir) => DataDirs {
                data: dir.to_path_buf(),
                cache: dir.join("cache"),
                config: dir.to_path_buf(),
            },
            None => {
                let project =
                    directories::ProjectDirs::from("com", "PhotoProOS", "PhotoPro Storage")
                        .ok_or(LibraryError::NoHome)?;
                DataDirs {
                    data: project.data_dir().to_path_buf(),
                    cache: project.cache_dir().to_path_buf(),
                    config: project.config_dir().to_path_buf(),
                }
            }
        };
        for dir in [&dirs.data, &dirs.cache, &dirs.config] {
            std::fs::create_dir_all(dir).map_err(|source| LibraryError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(dirs)
    }

    pub fn index_path(&self) -> PathBuf {
        self.data.join("index.db")
    }

    pub fn thumbnail_dir(&self) -> PathBuf {
        self.cache.join("thumbnails")
    }

    pub fn config_path(&self) -> PathBuf {
        self.config.join("config.json")
    }
}

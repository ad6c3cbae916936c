use crate::{Config, LibraryError, Result};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use photopro_media::FileKind;

/// Names never worth indexing: OS litter, partial downloads and copies in
/// progress, editor lock files, Lightroom's preview caches, our own temp files.
pub const DEFAULT_SKIP_PATTERNS: &[&str] = &[
    ".DS_Store",
    "._*",
    "Thumbs.db",
    "ehthumbs.db",
    "desktop.ini",
    "Icon\r",
    ".Spotlight-V100",
    ".fseventsd",
    ".Trashes",
    ".Trash",
    ".Trash-*",
    ".TemporaryItems",
    "$RECYCLE.BIN",
    "System Volume Information",
    "@eaDir",
    "*.tmp",
    "*.temp",
    "*.part",
    "*.partial",
    "*.crdownload",
    "*.download",
    "~$*",
    ".~lock.*",
    "*.swp",
    "*.lrdata",
    ".photopro-*",
];

/// Which names a scan skips, and which indexed files stay out of sync.
#[derive(Debug, Clone)]
pub struct Filters {
    skip: GlobSet,
    sync_exclude: GlobSet,
    sync_raw: bool,
}

fn build(patterns: impl IntoIterator<Item = impl AsRef<str>>) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let pattern = pattern.as_ref();
        let glob = GlobBuilder::new(pattern)
            .case_insensitive(true)
            .literal_separator(true)
            .build()
            .map_err(|e| LibraryError::BadPattern {
                pattern: pattern.to_string(),
                message: e.to_string(),
            })?;
        builder.add(glob);
    }
    builder.build().map_err(|e| LibraryError::BadPattern {
        pattern: "(set)".into(),
        message: e.to_string(),
    })
}

impl Filters {
    pub fn from_config(config: &Config) -> Result<Filters> {
        Ok(Filters {
            skip: build(
                DEFAULT_SKIP_PATTERNS
                    .iter()
                    .copied()
                    .map(String::from)
                    .chain(config.skip_patterns.iter().cloned()),
            )?,
            sync_exclude: build(&config.sync_exclude_patterns)?,
            sync_raw: config.sync_raw,
        })
    }

    /// Skip this directory entry entirely (matched against the name alone).
    pub fn skips(&self, name: &[u8]) -> bool {
        // Glob matching needs text; names that are not UTF-8 are matched lossily,
        // which can only make a pattern match less, never skip a photo wrongly.
        self.skip.is_match(String::from_utf8_lossy(name).as_ref())
    }

    /// Index this file but keep it out of sync.
    pub fn sync_excluded(&self, name: &[u8], kind: FileKind) -> bool {
        (kind == FileKind::Raw && !self.sync_raw)
            || self
                .sync_exclude
                .is_match(String::from_utf8_lossy(name).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_litter_and_partials_but_not_photos() {
        let filters = Filters::from_config(&Config::default()).unwrap();
        for name in [
            ".DS_Store",
            "Thumbs.db",
            "THUMBS.DB",
            "._IMG_1.jpg",
            "IMG_1.jpg.part",
            "x.crdownload",
            "Catalog Previews.lrdata",
            "Catalog Smart Previews.lrdata",
            ".photopro-upload-1.tmp",
        ] {
            assert!(filters.skips(name.as_bytes()), "{name}");
        }
        for name in [
            "IMG_1.jpg",
            "DSC_0001.NEF",
            "Smith Residence",
            "Catalog.lrcat",
            "notes.txt",
        ] {
            assert!(!filters.skips(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn raw_is_sync_excluded_unless_opted_in_and_patterns_are_configurable() {
        let default = Filters::from_config(&Config::default()).unwrap();
        assert!(default.sync_excluded(b"a.CR2", FileKind::Raw));
        assert!(!default.sync_excluded(b"a.jpg", FileKind::Jpeg));
        let config = Config {
            sync_raw: true,
            sync_exclude_patterns: vec!["*_draft.*".into()],
            skip_patterns: vec!["*.bak".into()],
            ..Default::default()
        };
        let custom = Filters::from_config(&config).unwrap();
        assert!(!custom.sync_excluded(b"a.CR2", FileKind::Raw));
        assert!(custom.sync_excluded(b"cover_draft.jpg", FileKind::Jpeg));
        assert!(custom.skips(b"old.BAK"));
        let bad = Config {
            skip_patterns: vec!["[".into()],
            ..Default::default()
        };
        assert!(matches!(
            Filters::from_config(&bad),
            Err(LibraryError::BadPattern { .. })
        ));
    }
}

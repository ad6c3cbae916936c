//! What kind of file a path names, decided by its extension (cheap, no IO),
//! and what the sync carries by default.

use serde::{Deserialize, Serialize};

/// The media families the library distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Jpeg,
    Png,
    Tiff,
    Webp,
    Heic,
    /// Camera raw originals (CR2, NEF, ARW, DNG, …): indexed, but not synced by default.
    Raw,
    /// Lightroom / Capture One sidecars.
    Sidecar,
    /// Anything else (contracts, videos, notes): indexed so nothing is lost from view.
    Other,
}

const RAW_EXTENSIONS: &[&str] = &[
    "3fr", "ari", "arw", "bay", "cr2", "cr3", "crw", "dcr", "dng", "erf", "fff", "iiq", "k25",
    "kdc", "mef", "mos", "mrw", "nef", "nrw", "orf", "pef", "raf", "raw", "rw2", "rwl", "sr2",
    "srf", "srw", "x3f",
];

impl FileKind {
    /// Classify by extension, case-insensitively. Names without an extension are `Other`.
    pub fn from_name(name: &[u8]) -> FileKind {
        let Some(dot) = name.iter().rposition(|&b| b == b'.') else {
            return FileKind::Other;
        };
        let ext = &name[dot + 1..];
        if ext.len() > 5 {
            return FileKind::Other;
        }
        let ext = String::from_utf8_lossy(ext).to_ascii_lowercase();
        match ext.as_str() {
            "jpg" | "jpeg" | "jpe" | "jfif" => FileKind::Jpeg,
            "png" => FileKind::Png,
            "tif" | "tiff" => FileKind::Tiff,
            "webp" => FileKind::Webp,
            "heic" | "heif" | "hif" | "avif" => FileKind::Heic,
            "xmp" | "cos" | "pp3" | "dop" => FileKind::Sidecar,
            e if RAW_EXTENSIONS.contains(&e) => FileKind::Raw,
            _ => FileKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Jpeg => "jpeg",
            FileKind::Png => "png",
            FileKind::Tiff => "tiff",
            FileKind::Webp => "webp",
            FileKind::Heic => "heic",
            FileKind::Raw => "raw",
            FileKind::Sidecar => "sidecar",
            FileKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<FileKind> {
        Some(match text {
            "jpeg" => FileKind::Jpeg,
            "png" => FileKind::Png,
            "tiff" => FileKind::Tiff,
            "webp" => FileKind::Webp,
            "heic" => FileKind::Heic,
            "raw" => FileKind::Raw,
            "sidecar" => FileKind::Sidecar,
            "other" => FileKind::Other,
            _ => return None,
        })
    }

    /// Photos are what the grid shows and what makes a folder a gallery.
    pub fn is_photo(self) -> bool {
        matches!(
            self,
            FileKind::Jpeg
                | FileKind::Png
                | FileKind::Tiff
                | FileKind::Webp
                | FileKind::Heic
                | FileKind::Raw
        )
    }

    /// Whether EXIF/XMP metadata and thumbnails are worth attempting.
    pub fn has_media(self) -> bool {
        self.is_photo()
    }

    /// The product default: JPEG/PNG/TIFF/WebP/HEIC and sidecars sync; RAW originals
    /// are too large to carry by default and stay local unless the user opts in.
    pub fn synced_by_default(self) -> bool {
        !matches!(self, FileKind::Raw)
    }
}

#[cfg(test)]
mod tests {
    use super::FileKind::{self, *};

    #[test]
    fn classifies_common_names() {
        let cases: &[(&[u8], FileKind)] = &[
            (b"DJI_0018.JPG", Jpeg),
            (b"a.jpeg", Jpeg),
            (b"scan.TIFF", Tiff),
            (b"IMG_1234.HEIC", Heic),
            (b"_MG_0001.CR2", Raw),
            (b"DSC_0001.nef", Raw),
            (b"shot.dng", Raw),
            (b"shot.xmp", Sidecar),
            (b"contract.pdf", Other),
            (b"README", Other),
            (b".hidden", Other),
            (b"weird.\xff\xfe", Other),
        ];
        for (name, kind) in cases {
            assert_eq!(
                FileKind::from_name(name),
                *kind,
                "{}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn raw_is_indexed_but_not_synced_by_default() {
        assert!(Raw.is_photo());
        assert!(!Raw.synced_by_default());
        assert!(Jpeg.synced_by_default());
        for kind in [Jpeg, Png, Tiff, Webp, Heic, Raw, Sidecar, Other] {
            assert_eq!(FileKind::parse(kind.as_str()), Some(kind));
        }
    }
}

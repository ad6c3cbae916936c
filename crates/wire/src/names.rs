//! The one name policy of PhotoProOS Storage, shared by the API (which stores
//! names) and the clients (which compare, invent and hold them on disk).
//!
//! - Names are stored in Unicode NFC; a client compares its own names in NFC,
//!   so `Cafe\u{301}.jpg` (NFD, as macOS writes it) *is* `Café.jpg`.
//! - Siblings are unique under [`name_key`] (NFKC, then lowercase): `Photo.JPG`,
//!   `photo.jpg` and a fullwidth `Ｐｈｏｔｏ.jpg` are one name.
//! - [`validate`] is what the API accepts (and its fakes must accept): at most
//!   [`MAX_NAME_BYTES`] of NFC UTF-8, no path separators or look-alikes, no
//!   control, invisible or bidi characters, no leading/trailing spaces, not
//!   only dots.
//! - [`portable`] is stricter — what every device can hold on disk, Windows
//!   included (no `<>:"|?*`, no trailing dot, no `CON`, `NUL`, `COM1`…). A sync
//!   client neither uploads nor downloads a name that fails it; it lists the
//!   file with the reason instead, the same way on every platform.
//! - [`fit_name`] builds invented names (conflicted copies, collisions) that
//!   always fit: the stem is shortened at a grapheme boundary, the label and
//!   the extension are kept.

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Longest name, in bytes of NFC UTF-8 (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Why a name cannot be stored (or, for [`portable`], held on every device).
/// Each message names the reason and what the user can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong { bytes: usize },
    Separator,
    Control,
    Invisible,
    OnlyDots,
    OuterSpace,
    WindowsCharacter(char),
    TrailingDot,
    WindowsReserved(String),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => write!(f, "the name is empty"),
            NameError::TooLong { bytes } => write!(
                f,
                "the name is {bytes} bytes long (UTF-8, NFC); the limit is {MAX_NAME_BYTES} bytes — shorten it"
            ),
            NameError::Separator => write!(
                f,
                "the name contains a slash or backslash (or a look-alike), which other computers read as a folder separator — rename it"
            ),
            NameError::Control => {
                write!(f, "the name contains control characters — rename it")
            }
            NameError::Invisible => write!(
                f,
                "the name contains invisible or text-direction characters — rename it"
            ),
            NameError::OnlyDots => write!(f, "the name is only dots — rename it"),
            NameError::OuterSpace => write!(
                f,
                "the name starts or ends with a space, which Windows and the server drop — rename it"
            ),
            NameError::WindowsCharacter(c) => write!(
                f,
                "the name contains '{c}', which Windows cannot hold in a file name — rename it"
            ),
            NameError::TrailingDot => write!(
                f,
                "the name ends with a dot, which Windows drops — rename it"
            ),
            NameError::WindowsReserved(stem) => write!(
                f,
                "'{stem}' is a device name Windows reserves — rename it"
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// Characters that look like a path separator but are not folded into one by NFKC.
const SEPARATOR_LOOKALIKES: &[char] = &[
    '\u{2215}', '\u{2044}', '\u{29F8}', '\u{29F9}', '\u{FE68}', '\u{2216}',
];

/// Characters Windows refuses in a file name (besides `/`, `\` and controls).
const WINDOWS_CHARACTERS: &[char] = &['<', '>', ':', '"', '|', '?', '*'];

const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// The name in NFC, the form stored and compared.
pub fn nfc(name: &str) -> String {
    name.nfc().collect()
}

/// The key under which sibling names must be unique: NFKC and lowercase.
pub fn name_key(name: &str) -> String {
    name.nfkc().collect::<String>().to_lowercase()
}

fn is_invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// What the API accepts as a file or folder name; returns it in NFC, the form stored.
pub fn validate(name: &str) -> Result<String, NameError> {
    if name.is_empty() || name.trim().is_empty() {
        return Err(NameError::Empty);
    }
    let stored = nfc(name);
    if stored.len() > MAX_NAME_BYTES {
        return Err(NameError::TooLong {
            bytes: stored.len(),
        });
    }
    let folded: String = name.nfkc().collect();
    if folded.contains(['/', '\\', '\0']) || name.contains(SEPARATOR_LOOKALIKES) {
        return Err(NameError::Separator);
    }
    if folded.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    if folded.chars().any(is_invisible_or_bidi) {
        return Err(NameError::Invisible);
    }
    if folded.trim_end_matches([' ', '.']).is_empty() {
        return Err(NameError::OnlyDots);
    }
    if name != name.trim() {
        return Err(NameError::OuterSpace);
    }
    Ok(stored)
}

/// What every device can hold: [`validate`] plus Windows' rules. Returns the NFC name.
pub fn portable(name: &str) -> Result<String, NameError> {
    let stored = validate(name)?;
    if let Some(c) = stored.chars().find(|c| WINDOWS_CHARACTERS.contains(c)) {
        return Err(NameError::WindowsCharacter(c));
    }
    if stored.ends_with('.') {
        return Err(NameError::TrailingDot);
    }
    let stem = stored.split('.').next().unwrap_or("").trim_end();
    if WINDOWS_RESERVED
        .iter()
        .any(|reserved| stem.eq_ignore_ascii_case(reserved))
    {
        return Err(NameError::WindowsReserved(stem.to_string()));
    }
    Ok(stored)
}

/// `name` split into stem and extension (`IMG_1`, `.jpg`). A leading dot or an
/// implausibly long "extension" (over 16 bytes) stays with the stem.
pub fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    }
}

/// `stem + label + extension`, with the stem shortened (at a grapheme
/// boundary, never inside a UTF-8 character) so that the result is at most
/// [`MAX_NAME_BYTES`] both as written and in NFC. `label` is e.g.
/// `" (conflicted copy 2026-11-26 from Studio)"`.
pub fn fit_name(stem: &str, label: &str, extension: &str) -> String {
    let fits = |candidate: &str| {
        candidate.len() <= MAX_NAME_BYTES && nfc(candidate).len() <= MAX_NAME_BYTES
    };
    let whole = format!("{stem}{label}{extension}");
    if fits(&whole) {
        return whole;
    }
    // Keep as many whole graphemes of the stem as fit.
    let mut kept = 0;
    for (at, grapheme) in stem.grapheme_indices(true) {
        let end = at + grapheme.len();
        if !fits(&format!("{}{label}{extension}", &stem[..end])) {
            break;
        }
        kept = end;
    }
    let shortened = format!("{}{label}{extension}", stem[..kept].trim_end());
    if fits(&shortened) {
        return shortened;
    }
    // An absurdly long label or extension: shorten the whole, grapheme-wise.
    let mut out = String::new();
    for grapheme in format!("{label}{extension}").trim_start().graphemes(true) {
        if !fits(&format!("{out}{grapheme}")) {
            break;
        }
        out.push_str(grapheme);
    }
    out
}

/// A file modification time (Unix milliseconds) that can be stored: from
/// 1601-01-01 (the Windows epoch; scanned film and old archives are dated
/// before 1970) up to the year 3000.
pub fn modified_at_in_range(unix_ms: i64) -> bool {
    (crate::MIN_MODIFIED_AT_MS..=crate::MAX_MODIFIED_AT_MS).contains(&unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfd_and_nfc_are_one_name_and_case_folds() {
        assert_eq!(nfc("Cafe\u{301}.jpg"), "Caf\u{e9}.jpg");
        assert_eq!(name_key("Cafe\u{301}.JPG"), name_key("caf\u{e9}.jpg"));
        assert_eq!(validate("Cafe\u{301}.jpg").unwrap(), "Caf\u{e9}.jpg");
    }

    #[test]
    fn the_byte_limit_applies_after_nfc() {
        // 120 × "e\u{301}" is 360 bytes in NFD but 240 in NFC: accepted.
        let nfd = format!("{}.jpg", "e\u{301}".repeat(120));
        assert!(nfd.len() > MAX_NAME_BYTES);
        assert_eq!(validate(&nfd).unwrap().len(), 244);
        assert_eq!(
            validate(&"x".repeat(256)),
            Err(NameError::TooLong { bytes: 256 })
        );
    }

    #[test]
    fn portable_refuses_what_windows_cannot_hold() {
        for (name, error) in [
            ("back\\slash.jpg", NameError::Separator),
            ("trailing .jpg ", NameError::OuterSpace),
            ("a:b.jpg", NameError::WindowsCharacter(':')),
            ("what?.jpg", NameError::WindowsCharacter('?')),
            ("dotted.", NameError::TrailingDot),
            ("CON", NameError::WindowsReserved("CON".into())),
            ("nul.txt", NameError::WindowsReserved("nul".into())),
            ("com1.jpg", NameError::WindowsReserved("com1".into())),
        ] {
            assert_eq!(portable(name), Err(error), "{name:?}");
        }
        for fine in [
            "CONSOLE.jpg",
            "IMG_0001.JPG",
            "Küche – 2025.jpg",
            "com10.jpg",
        ] {
            assert!(portable(fine).is_ok(), "{fine}");
        }
        // The API itself still takes what only Windows refuses.
        assert!(validate("a:b.jpg").is_ok() && validate("dotted.").is_ok());
    }

    #[test]
    fn invented_names_always_fit_and_keep_graphemes_and_extension() {
        let label = " (conflicted copy 2026-11-26 from Studio Mac)";
        let long = format!("{}.jpg", "a".repeat(247));
        let (stem, ext) = split_extension(&long);
        let fitted = fit_name(stem, label, ext);
        assert_eq!(fitted.len(), MAX_NAME_BYTES);
        assert!(fitted.ends_with(&format!("{label}.jpg")));
        // Multi-byte and combining characters are never split.
        for unit in ["é", "e\u{301}", "写", "👍🏽", "🇩🇪"] {
            let stem = unit.repeat(100);
            let fitted = fit_name(&stem, label, ".jpg");
            assert!(fitted.len() <= MAX_NAME_BYTES, "{unit}");
            let kept = fitted.strip_suffix(&format!("{label}.jpg")).unwrap();
            assert!(kept.len() % unit.len() == 0 && !kept.is_empty(), "{unit}");
            assert!(validate(&fitted).is_ok());
        }
        assert_eq!(fit_name("IMG_1", " 2", ".jpg"), "IMG_1 2.jpg");
    }

    #[test]
    fn modified_at_reaches_back_to_1601() {
        assert!(modified_at_in_range(-157_766_400_000)); // 1965
        assert!(modified_at_in_range(crate::MIN_MODIFIED_AT_MS));
        assert!(!modified_at_in_range(crate::MIN_MODIFIED_AT_MS - 1));
        assert!(!modified_at_in_range(crate::MAX_MODIFIED_AT_MS + 1));
    }
}

//! Validation of user-supplied names, hashes and file modification times.
//!
//! Names are metadata only — object keys are derived from asset IDs — but a
//! name still reaches other devices' file systems, so anything that could act
//! as a path there is refused: separators, `.`/`..`, NUL and control
//! characters, and Unicode look-alikes of those that NFKC folds into them
//! (fullwidth solidus, one-dot leaders) or that render as them (division slash,
//! fraction slash), plus invisible and bidirectional-override characters.

use photopro_wire::MAX_MODIFIED_AT_MS;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Longest accepted name, in bytes (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;

/// Characters that look like a path separator but are not folded into one by NFKC.
const SEPARATOR_LOOKALIKES: &[char] = &[
    '\u{2215}', '\u{2044}', '\u{29F8}', '\u{29F9}', '\u{FE68}', '\u{2216}',
];

/// Validates a file or folder name and returns it in NFC, the form stored.
pub fn validate_name(name: &str) -> Result<String> {
    if name.is_empty() || name.trim().is_empty() {
        return Err(Error::bad_request("a name must not be empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::bad_request("a name must be at most 255 bytes"));
    }
    let folded: String = name.nfkc().collect();
    if folded.contains(['/', '\\', '\0']) || name.contains(SEPARATOR_LOOKALIKES) {
        return Err(Error::bad_request(
            "a name must not contain path separators or NUL",
        ));
    }
    if folded
        .chars()
        .any(|c| c.is_control() || is_invisible_or_bidi(c))
    {
        return Err(Error::bad_request(
            "a name must not contain control, invisible or bidi characters",
        ));
    }
    let trimmed = folded.trim_end_matches([' ', '.']);
    if trimmed.is_empty() || folded == "." || folded == ".." {
        return Err(Error::bad_request(
            "a name must not be '.' or '..' or only dots",
        ));
    }
    if name != name.trim() {
        return Err(Error::bad_request(
            "a name must not start or end with spaces",
        ));
    }
    Ok(name.nfc().collect())
}

/// The key under which sibling names must be unique: NFKC and lowercase, so
/// "Kitchen", "KITCHEN" and a fullwidth "Ｋｉｔｃｈｅｎ" are one name.
pub fn name_key(name: &str) -> String {
    name.nfkc().collect::<String>().to_lowercase()
}

fn is_invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

/// Validates a lowercase hex SHA-256 digest.
pub fn validate_sha256(hex_digest: &str) -> Result<[u8; 32]> {
    let bytes = (hex_digest.len() == 64
        && hex_digest
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then(|| hex::decode(hex_digest).ok())
    .flatten()
    .ok_or_else(|| Error::bad_request("content_sha256 must be 64 lowercase hex characters"))?;
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&bytes);
    Ok(digest)
}

/// Validates a file modification time (Unix milliseconds): none, or from
/// 1970 up to [`MAX_MODIFIED_AT_MS`] (year 3000). A negative or later value is
/// a client bug (seconds vs. nanoseconds, an unset clock), refused rather than
/// stored and handed to every other device.
pub fn validate_modified_at(modified_at: Option<i64>) -> Result<Option<i64>> {
    match modified_at {
        Some(ms) if !(0..=MAX_MODIFIED_AT_MS).contains(&ms) => Err(Error::bad_request(format!(
            "modified_at must be Unix milliseconds from 0 to {MAX_MODIFIED_AT_MS} (year 3000)"
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_at_is_unix_milliseconds_up_to_the_year_3000() {
        for ok in [
            None,
            Some(0),
            Some(1_700_000_000_123),
            Some(MAX_MODIFIED_AT_MS),
        ] {
            assert_eq!(validate_modified_at(ok).unwrap(), ok);
        }
        for bad in [
            -1,
            i64::MIN,
            MAX_MODIFIED_AT_MS + 1,
            i64::MAX,
            1_700_000_000_123_000_000,
        ] {
            assert!(validate_modified_at(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn accepts_ordinary_photo_names() {
        for name in [
            "IMG_0001.JPG",
            "Smith, John",
            "Küche – 2025",
            "twilight.v2.jpg",
            "写真.jpg",
        ] {
            assert!(validate_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_paths_and_lookalikes() {
        for name in [
            "",
            " ",
            ".",
            "..",
            "...",
            "a/b",
            "a\\b",
            "../etc",
            "a\0b",
            "a\nb",
            "a\u{FF0F}b",
            "\u{2024}\u{2024}",
            "a\u{2215}b",
            "a\u{2044}b",
            "evil\u{202E}gpj.exe",
            "zero\u{200B}width",
            " lead",
            "trail ",
        ] {
            assert!(validate_name(name).is_err(), "{name:?} should be refused");
        }
        assert!(validate_name(&"x".repeat(256)).is_err());
    }

    proptest::proptest! {
        /// Invariant: an accepted name, however it is normalized later (NFC, NFKC),
        /// never contains a path separator or NUL and is never `.` or `..`.
        #[test]
        fn accepted_names_are_never_paths(name in "([a./ ]|\\\\|\u{FF0F}|\u{FF0E}|\u{2024}|\u{2215}|\u{0}|\\PC){0,12}") {
            if let Ok(stored) = validate_name(&name) {
                for form in [stored.nfc().collect::<String>(), stored.nfkc().collect::<String>()] {
                    proptest::prop_assert!(!form.contains(['/', '\\', '\0']));
                    proptest::prop_assert!(form != "." && form != "..");
                }
            }
        }
    }

    #[test]
    fn sibling_keys_fold_case_and_width() {
        assert_eq!(name_key("Kitchen"), name_key("ＫＩＴＣＨＥＮ"));
    }
}

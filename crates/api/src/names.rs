//! Validation of user-supplied names, hashes and file modification times.
//!
//! Names are metadata only — object keys are derived from asset IDs — but a
//! name still reaches other devices' file systems, so anything that could act
//! as a path there is refused: separators, `.`/`..`, NUL and control
//! characters, and Unicode look-alikes of those that NFKC folds into them
//! (fullwidth solidus, one-dot leaders) or that render as them (division slash,
//! fraction slash), plus invisible and bidirectional-override characters.

use photopro_wire::{MAX_MODIFIED_AT_MS, MIN_MODIFIED_AT_MS};

use crate::error::{Error, Result};

/// Longest accepted name, in bytes of NFC UTF-8 (the common file-system limit).
pub const MAX_NAME_BYTES: usize = photopro_wire::names::MAX_NAME_BYTES;

/// Validates a file or folder name and returns it in NFC, the form stored.
/// The policy itself is [`photopro_wire::names::validate`], shared with the
/// sync clients and their fakes so that both sides give the same answers.
pub fn validate_name(name: &str) -> Result<String> {
    photopro_wire::names::validate(name).map_err(|e| Error::bad_request(e.to_string()))
}

/// The key under which sibling names must be unique: NFKC and lowercase, so
/// "Kitchen", "KITCHEN" and a fullwidth "Ｋｉｔｃｈｅｎ" are one name.
pub fn name_key(name: &str) -> String {
    photopro_wire::names::name_key(name)
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
/// [`MIN_MODIFIED_AT_MS`] (1601, before which no file system dates a file;
/// scanned film is dated before 1970) up to [`MAX_MODIFIED_AT_MS`] (year
/// 3000). Anything else is a client bug (seconds vs. nanoseconds, an unset
/// clock), refused rather than stored and handed to every other device.
pub fn validate_modified_at(modified_at: Option<i64>) -> Result<Option<i64>> {
    match modified_at {
        Some(ms) if !photopro_wire::names::modified_at_in_range(ms) => Err(Error::bad_request(format!(
            "modified_at must be Unix milliseconds from {MIN_MODIFIED_AT_MS} (year 1601) to {MAX_MODIFIED_AT_MS} (year 3000)"
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn modified_at_is_unix_milliseconds_from_1601_to_the_year_3000() {
        for ok in [
            None,
            Some(0),
            Some(-157_766_400_000), // 1965: scanned film
            Some(MIN_MODIFIED_AT_MS),
            Some(1_700_000_000_123),
            Some(MAX_MODIFIED_AT_MS),
        ] {
            assert_eq!(validate_modified_at(ok).unwrap(), ok);
        }
        for bad in [
            MIN_MODIFIED_AT_MS - 1,
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

    #[test]
    fn the_255_byte_limit_applies_after_nfc() {
        // U+FB2C (3 bytes) becomes U+05E9 U+05BC U+05C1 (6 bytes) in NFC:
        // 85 of them are 255 bytes as sent and 510 as stored.
        let expanding = "\u{FB2C}".repeat(85);
        assert_eq!(expanding.len(), 255);
        assert!(validate_name(&expanding).is_err());
        // 42 of them are 252 bytes after NFC: fine.
        let stored = validate_name(&"\u{FB2C}".repeat(42)).unwrap();
        assert!(stored.len() <= MAX_NAME_BYTES);
        // Decomposed input that NFC shortens to 255 bytes is accepted.
        let decomposed = "e\u{0301}".repeat(127) + "x";
        assert!(decomposed.len() > 255);
        assert_eq!(validate_name(&decomposed).unwrap().len(), 255);
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

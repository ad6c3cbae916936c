//! Names as the remote compares them, and the names the engine invents.
//!
//! PhotoProOS Storage (like Dropbox, macOS and Windows) treats `Photo.JPG` and
//! `photo.jpg`, and the NFC and NFD spellings of `Café.jpg`, as the same name.
//! Two local files whose names collide that way cannot both live on the remote
//! under those names; the engine renames the later one, deterministically, so
//! devices never ping-pong.
//!
//! The policy itself (what the remote stores, how it compares, what every
//! device can hold) is [`photopro_wire::names`], shared with the API.

pub use photopro_wire::names::{
    fit_name, name_key, nfc, portable, split_extension, validate, NameError, MAX_NAME_BYTES,
};

/// `IMG_1.jpg` → `IMG_1 (conflicted copy 2026-11-26 from Studio Mac).jpg`,
/// the stem shortened if needed so that the name fits in 255 bytes.
pub fn conflicted_copy_name(name: &str, date: &str, device: &str) -> String {
    let (stem, extension) = split_extension(name);
    // A device name is free text; in a file name it must be portable too.
    let device: String = device
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' | '/' | '\\' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    fit_name(
        stem,
        &format!(" (conflicted copy {date} from {})", device.trim()),
        extension,
    )
}

/// Why a local name had to step aside for another one with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collision {
    /// `Photo.JPG` beside `photo.jpg`.
    Case,
    /// Two names that look identical but are stored differently: `Café` with
    /// a precomposed `é` (NFC) and with `e` + an accent (NFD, as macOS
    /// writes it).
    Encoding,
    /// The same letters in another form: a fullwidth `Ｃａｆé`, a ligature.
    Spelling,
    /// The remote already holds that name for another file.
    Taken,
}

impl Collision {
    /// How `name` collides with `other` (which has the same [`name_key`]).
    pub fn between(name: &str, other: &str) -> Collision {
        if nfc(name) == nfc(other) {
            Collision::Encoding
        } else if nfc(name).to_lowercase() == nfc(other).to_lowercase() {
            Collision::Case
        } else if name_key(name) == name_key(other) {
            Collision::Spelling
        } else {
            Collision::Taken
        }
    }

    fn label(self) -> &'static str {
        match self {
            Collision::Case => " (case conflict)",
            Collision::Encoding => " (same name, other encoding)",
            Collision::Spelling => " (same name, other spelling)",
            Collision::Taken => " (name in use)",
        }
    }
}

/// `photo.jpg` → `photo (case conflict).jpg` (or the label of `kind`), always fitting.
pub fn collision_name(name: &str, kind: Collision) -> String {
    let (stem, extension) = split_extension(name);
    fit_name(stem, kind.label(), extension)
}

/// `photo.jpg` → `photo (case conflict).jpg`.
pub fn case_conflict_name(name: &str) -> String {
    collision_name(name, Collision::Case)
}

/// `name`, or `stem 2.ext`, `stem 3.ext`, … — the first that `taken` does not
/// hold, each shortened to fit.
pub fn unique_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let name = {
        let (stem, extension) = split_extension(name);
        fit_name(stem, "", extension)
    };
    if !taken(&name) {
        return name;
    }
    let (stem, extension) = split_extension(&name);
    (2..)
        .map(|n| fit_name(stem, &format!(" {n}"), extension))
        .find(|candidate| !taken(candidate))
        .expect("an unbounded sequence has a free name")
}

/// A date as `YYYY-MM-DD` from Unix seconds (UTC).
pub fn date_of(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_case_and_unicode_normalization() {
        assert_eq!(name_key("\u{FF30}hoto.jpg"), name_key("photo.jpg"));
        assert_eq!(name_key("Photo.JPG"), name_key("photo.jpg"));
        assert_eq!(name_key("Cafe\u{301}.jpg"), name_key("Caf\u{e9}.jpg"));
        assert_ne!(name_key("a.jpg"), name_key("b.jpg"));
    }

    #[test]
    fn invented_names() {
        assert_eq!(
            conflicted_copy_name("IMG_1.jpg", "2026-11-26", "Studio"),
            "IMG_1 (conflicted copy 2026-11-26 from Studio).jpg"
        );
        assert_eq!(
            conflicted_copy_name("README", "2026-11-26", "A"),
            "README (conflicted copy 2026-11-26 from A)"
        );
        assert_eq!(case_conflict_name("photo.jpg"), "photo (case conflict).jpg");
        assert_eq!(
            unique_name("a.jpg", |n| n == "a.jpg" || n == "a 2.jpg"),
            "a 3.jpg"
        );
        assert_eq!(date_of(1_764_115_200), "2025-11-26");
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(-157_766_400), "1965-01-01");
    }

    #[test]
    fn invented_names_fit_in_255_bytes() {
        let long = format!("{}.jpg", "a".repeat(247));
        let copy = conflicted_copy_name(&long, "2026-11-26", "Studio");
        assert!(copy.len() <= MAX_NAME_BYTES, "{}", copy.len());
        assert!(copy.ends_with(" (conflicted copy 2026-11-26 from Studio).jpg"));
        let unique = unique_name(&copy, |n| n == copy);
        assert!(
            unique.len() <= MAX_NAME_BYTES && unique.ends_with(" 2.jpg"),
            "{unique}"
        );
        let second = unique_name(&long, |n| n == long);
        assert!(second.len() <= MAX_NAME_BYTES && second.ends_with(" 2.jpg"));
        assert!(case_conflict_name(&long).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn collisions_are_labelled_by_kind() {
        assert_eq!(
            Collision::between("Photo.JPG", "photo.jpg"),
            Collision::Case
        );
        // NFC/NFD twins look the same: their label says how they differ.
        assert_eq!(
            Collision::between("Cafe\u{301}.jpg", "Caf\u{e9}.jpg"),
            Collision::Encoding
        );
        assert_eq!(
            collision_name("Cafe\u{301}.jpg", Collision::Encoding),
            "Cafe\u{301} (same name, other encoding).jpg"
        );
        // A fullwidth spelling is another spelling, not a case or an encoding.
        assert_eq!(
            Collision::between("\u{FF23}af\u{e9}.jpg", "Caf\u{e9}.jpg"),
            Collision::Spelling
        );
        assert_eq!(
            collision_name("\u{FF23}af\u{e9}.jpg", Collision::Spelling),
            "\u{FF23}af\u{e9} (same name, other spelling).jpg"
        );
        assert_eq!(
            Collision::between("CAF\u{c9}.jpg", "caf\u{e9}.jpg"),
            Collision::Case
        );
        assert_eq!(Collision::between("a.jpg", "b.jpg"), Collision::Taken);
    }
}

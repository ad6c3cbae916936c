//! Names as the remote compares them, and the names the engine invents.
//!
//! PhotoProOS Storage (like Dropbox, macOS and Windows) treats `Photo.JPG` and
//! `photo.jpg`, and the NFC and NFD spellings of `Café.jpg`, as the same name.
//! Two local files whose names collide that way cannot both live on the remote
//! under those names; the engine renames the later one, deterministically, so
//! devices never ping-pong.

use unicode_normalization::UnicodeNormalization;

/// The key under which the remote considers two names equal.
pub fn name_key(name: &str) -> String {
    name.nfc().collect::<String>().to_lowercase()
}

fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    }
}

/// `IMG_1.jpg` → `IMG_1 (conflicted copy 2026-11-26 from Studio Mac).jpg`.
pub fn conflicted_copy_name(name: &str, date: &str, device: &str) -> String {
    let (stem, extension) = split_extension(name);
    format!("{stem} (conflicted copy {date} from {device}){extension}")
}

/// `photo.jpg` → `photo (case conflict).jpg`.
pub fn case_conflict_name(name: &str) -> String {
    let (stem, extension) = split_extension(name);
    format!("{stem} (case conflict){extension}")
}

/// `name`, or `stem 2.ext`, `stem 3.ext`, … — the first that `taken` does not hold.
pub fn unique_name(name: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(name) {
        return name.to_string();
    }
    let (stem, extension) = split_extension(name);
    (2..)
        .map(|n| format!("{stem} {n}{extension}"))
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
        assert_eq!(conflicted_copy_name("README", "2026-11-26", "A"), "README (conflicted copy 2026-11-26 from A)");
        assert_eq!(case_conflict_name("photo.jpg"), "photo (case conflict).jpg");
        assert_eq!(unique_name("a.jpg", |n| n == "a.jpg" || n == "a 2.jpg"), "a 3.jpg");
        assert_eq!(date_of(1_764_115_200), "2025-11-26");
        assert_eq!(date_of(0), "1970-01-01");
    }
}

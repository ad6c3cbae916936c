//! Bytes for people: the one way PhotoProOS Storage writes a size.
//!
//! Binary units with IEC symbols everywhere — `B`, `KiB`, `MiB`, `GiB`,
//! `TiB` (1 KiB = 1,024 bytes, 1 MiB = 1,048,576 bytes) — because plan caps
//! are binary (Free = 25 GiB) and a size shown by the CLI, the daemon, the
//! API's messages and the app must read the same for the same bytes. The UI's
//! `ui/src/format.ts` follows the same rules.
//!
//! ```
//! use photopro_wire::units::format_bytes;
//!
//! assert_eq!(format_bytes(200 << 20), "200 MiB");
//! assert_eq!(format_bytes(26_843_545_600), "25 GiB");
//! assert_eq!(format_bytes(1_536), "1.5 KiB");
//! assert_eq!(format_bytes(12), "12 B");
//! ```

const UNITS: [(&str, u64); 4] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
];

/// `bytes` in the largest binary unit that keeps the number at least 1, with
/// one decimal (dropped when it is 0: "25 GiB", "1.5 TiB", "9.8 KiB",
/// "12 B"). A value that would round up to 1,024 moves to the next unit.
pub fn format_bytes(bytes: u64) -> String {
    for (index, (unit, size)) in UNITS.iter().enumerate() {
        if bytes >= *size {
            let value = bytes as f64 / *size as f64;
            let tenths = (value * 10.0).round() / 10.0;
            if tenths >= 1024.0 && index > 0 {
                // 1023.96 MiB reads as "1 GiB", not "1024.0 MiB".
                let (bigger, bigger_size) = UNITS[index - 1];
                return one_decimal(bytes as f64 / bigger_size as f64, bigger);
            }
            return one_decimal(value, unit);
        }
    }
    format!("{bytes} B")
}

/// A rate: `format_bytes` per second ("5.2 MiB/s").
pub fn format_rate(bytes_per_second: f64) -> String {
    format!("{}/s", format_bytes(bytes_per_second.max(0.0) as u64))
}

fn one_decimal(value: f64, unit: &str) -> String {
    let tenths = (value * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0} {unit}")
    } else {
        format!("{tenths:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_units_with_iec_symbols() {
        for (bytes, shown) in [
            (0, "0 B"),
            (1, "1 B"),
            (1023, "1023 B"),
            (1024, "1 KiB"),
            (10_000, "9.8 KiB"),
            (1_048_576, "1 MiB"),
            // The issue's files: 200 MiB is not "209.7 MB" nor "200.0 MB".
            (200 << 20, "200 MiB"),
            (209_715_200, "200 MiB"),
            (3 * (1 << 20) / 2, "1.5 MiB"),
            (26_843_545_600, "25 GiB"),
            (3 * (1u64 << 40) / 2, "1.5 TiB"),
            ((1 << 20) - 1, "1 MiB"),
            ((1 << 30) - 1, "1 GiB"),
            (u64::MAX, "16777216 TiB"),
        ] {
            assert_eq!(format_bytes(bytes), shown, "{bytes}");
        }
        assert_eq!(format_rate(5.0 * (1 << 20) as f64), "5 MiB/s");
        assert_eq!(format_rate(-1.0), "0 B/s");
    }

    #[test]
    fn never_a_decimal_unit() {
        for shift in 0..50 {
            for bytes in [
                1u64 << shift,
                (1u64 << shift) * 3 / 2,
                (1u64 << shift) * 999 / 1000,
            ] {
                let shown = format_bytes(bytes);
                let unit = shown.rsplit(' ').next().unwrap();
                assert!(
                    ["B", "KiB", "MiB", "GiB", "TiB"].contains(&unit),
                    "{bytes}: {shown}"
                );
                let number: f64 = shown.split(' ').next().unwrap().parse().unwrap();
                assert!(
                    number < 1024.0 || unit == "TiB" || unit == "B",
                    "{bytes}: {shown}"
                );
            }
        }
    }
}

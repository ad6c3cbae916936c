//! Photo metadata from EXIF (kamadak-exif) and XMP (a small, tolerant scan of
//! the XMP packet for the handful of properties we use).

use exif::{Field, In, Tag, Value};
use serde::{Deserialize, Serialize};

/// A GPS fix in decimal degrees (WGS 84); altitude in metres above sea level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsPosition {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude: Option<f64>,
}

/// What we keep of a photo's metadata. Every field is optional: cameras and
/// editors disagree wildly about what they write.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhotoMetadata {
    /// Capture time as the camera's wall clock showed it, `YYYY-MM-DDTHH:MM:SS[.fff]`.
    pub taken_at_local: Option<String>,
    /// Offset of that wall clock from UTC, from `OffsetTimeOriginal` or, failing
    /// that, inferred from the GPS UTC time stamp.
    pub utc_offset_minutes: Option<i32>,
    /// Capture instant as Unix seconds, when the offset (or a GPS stamp) is known.
    pub taken_at_utc: Option<i64>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens: Option<String>,
    pub focal_length_mm: Option<f64>,
    pub iso: Option<u32>,
    /// Exposure time as photographers write it: `1/250`, `2.5`.
    pub exposure: Option<String>,
    pub f_number: Option<f64>,
    /// EXIF orientation 1–8 (1 = upright).
    pub orientation: u8,
    /// Pixel size recorded in EXIF (the decoder's size wins when we have it).
    pub exif_width: Option<u32>,
    pub exif_height: Option<u32>,
    pub gps: Option<GpsPosition>,
    /// DJI drones: metres above the take-off point (XMP `drone-dji:RelativeAltitude`).
    pub relative_altitude: Option<f64>,
    /// Keywords from XMP `dc:subject` (Lightroom keywords).
    pub keywords: Vec<String>,
    /// Star rating from XMP `xmp:Rating`.
    pub rating: Option<i32>,
}

/// Metadata plus what went wrong reading it. A missing EXIF block is normal and not a problem.
#[derive(Debug, Clone, Default)]
pub struct MetadataOutcome {
    pub metadata: PhotoMetadata,
    pub problem: Option<String>,
}

/// Read EXIF and XMP from a whole file's bytes. Never fails: problems are reported alongside.
pub fn read_metadata(bytes: &[u8]) -> MetadataOutcome {
    let mut outcome = MetadataOutcome {
        metadata: PhotoMetadata {
            orientation: 1,
            ..Default::default()
        },
        problem: None,
    };
    let mut cursor = std::io::Cursor::new(bytes);
    let mut partial_errors = Vec::new();
    let parsed = exif::Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut cursor)
        .or_else(|error| error.distill_partial_result(|errors| partial_errors = errors));
    if let Some(first) = partial_errors.first() {
        // What could be read is kept; the damage is still worth telling the user about.
        outcome.problem = Some(format!(
            "EXIF partly unreadable ({} problems, first: {first})",
            partial_errors.len()
        ));
    }
    match parsed {
        Ok(exif) => fill_from_exif(&exif, &mut outcome.metadata),
        Err(exif::Error::NotFound(_)) => {}
        Err(exif::Error::InvalidFormat(what)) if what.contains("Unknown image format") => {}
        Err(error) => outcome.problem = Some(format!("unreadable EXIF: {error}")),
    }
    if let Some(xmp) = find_xmp_packet(bytes) {
        fill_from_xmp(xmp, &mut outcome.metadata);
    }
    outcome
}

fn fill_from_exif(exif: &exif::Exif, meta: &mut PhotoMetadata) {
    let field = |tag: Tag| exif.get_field(tag, In::PRIMARY);
    meta.make = field(Tag::Make).and_then(ascii);
    meta.model = field(Tag::Model).and_then(ascii);
    meta.lens = field(Tag::LensModel).and_then(ascii);
    meta.focal_length_mm = field(Tag::FocalLength).and_then(rational);
    meta.f_number = field(Tag::FNumber).and_then(rational);
    meta.iso = field(Tag::PhotographicSensitivity).and_then(|f| f.value.get_uint(0));
    meta.exposure = field(Tag::ExposureTime).and_then(exposure_text);
    meta.orientation = field(Tag::Orientation)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1) as u8;
    meta.exif_width = field(Tag::PixelXDimension)
        .and_then(|f| f.value.get_uint(0))
        .filter(|w| *w > 0);
    meta.exif_height = field(Tag::PixelYDimension)
        .and_then(|f| f.value.get_uint(0))
        .filter(|h| *h > 0);

    let local = field(Tag::DateTimeOriginal)
        .or_else(|| field(Tag::DateTimeDigitized))
        .or_else(|| field(Tag::DateTime))
        .and_then(ascii)
        .and_then(|text| parse_exif_datetime(&text));
    if let Some(mut civil) = local {
        if let Some(sub) = field(Tag::SubSecTimeOriginal).and_then(ascii) {
            let digits: String = sub
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .take(3)
                .collect();
            if !digits.is_empty() {
                civil.millis = format!("{digits:0<3}").parse().unwrap_or(0);
            }
        }
        meta.taken_at_local = Some(civil.to_string());
        let explicit_offset = field(Tag::OffsetTimeOriginal)
            .or_else(|| field(Tag::OffsetTime))
            .and_then(ascii)
            .and_then(|text| parse_offset(&text));
        let gps_utc = gps_timestamp(exif);
        let offset = explicit_offset.or_else(|| {
            // The GPS clock is UTC; the camera clock is local. Their difference,
            // rounded to a quarter hour, is the zone offset when it is plausible.
            let utc = gps_utc?;
            let diff_minutes = (civil.unix_seconds_as_if_utc() - utc) as f64 / 60.0;
            let rounded = (diff_minutes / 15.0).round() as i64 * 15;
            ((diff_minutes - rounded as f64).abs() < 10.0 && rounded.abs() <= 14 * 60)
                .then_some(rounded as i32)
        });
        meta.utc_offset_minutes = offset;
        meta.taken_at_utc = offset.map(|o| civil.unix_seconds_as_if_utc() - i64::from(o) * 60);
    }
    meta.gps = gps_position(exif);
}

fn ascii(field: &Field) -> Option<String> {
    let Value::Ascii(parts) = &field.value else {
        return None;
    };
    let first = parts.first()?;
    // Some makers (DJI, HTC, Leica, …) pad with NULs: the string ends at the first one.
    let end = first.iter().position(|&b| b == 0).unwrap_or(first.len());
    let text = String::from_utf8_lossy(&first[..end]).trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn rational(field: &Field) -> Option<f64> {
    let value = match &field.value {
        Value::Rational(v) => v.first().filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::SRational(v) => v.first().filter(|r| r.denom != 0).map(|r| r.to_f64()),
        Value::Short(_) | Value::Long(_) => field.value.get_uint(0).map(f64::from),
        _ => None,
    }?;
    value.is_finite().then_some(value)
}

fn exposure_text(field: &Field) -> Option<String> {
    let Value::Rational(v) = &field.value else {
        return rational(field).map(|s| format!("{s}"));
    };
    let r = v.first().filter(|r| r.denom != 0 && r.num != 0)?;
    let seconds = r.to_f64();
    Some(if seconds < 1.0 {
        format!("1/{}", (1.0 / seconds).round() as u64)
    } else {
        let text = format!("{seconds:.1}");
        text.trim_end_matches(".0").to_string()
    })
}

fn gps_position(exif: &exif::Exif) -> Option<GpsPosition> {
    let degrees = |tag: Tag| -> Option<f64> {
        let f = exif.get_field(tag, In::PRIMARY)?;
        let Value::Rational(parts) = &f.value else {
            return None;
        };
        if parts.len() < 3 || parts.iter().take(3).any(|r| r.denom == 0) {
            return None;
        }
        Some(parts[0].to_f64() + parts[1].to_f64() / 60.0 + parts[2].to_f64() / 3600.0)
    };
    let reference = |tag: Tag| exif.get_field(tag, In::PRIMARY).and_then(ascii);
    let mut latitude = degrees(Tag::GPSLatitude)?;
    let mut longitude = degrees(Tag::GPSLongitude)?;
    if reference(Tag::GPSLatitudeRef).is_some_and(|r| r.eq_ignore_ascii_case("S")) {
        latitude = -latitude;
    }
    if reference(Tag::GPSLongitudeRef).is_some_and(|r| r.eq_ignore_ascii_case("W")) {
        longitude = -longitude;
    }
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return None;
    }
    // (0, 0) is what a phone writes when it had no fix: treat it as no position.
    if latitude == 0.0 && longitude == 0.0 {
        return None;
    }
    let altitude = exif
        .get_field(Tag::GPSAltitude, In::PRIMARY)
        .and_then(rational)
        .map(|a| {
            let below = exif
                .get_field(Tag::GPSAltitudeRef, In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
                .is_some_and(|r| r == 1);
            if below {
                -a
            } else {
                a
            }
        });
    Some(GpsPosition {
        latitude,
        longitude,
        altitude,
    })
}

/// GPS date + time stamp as Unix seconds (UTC).
fn gps_timestamp(exif: &exif::Exif) -> Option<i64> {
    let date = exif
        .get_field(Tag::GPSDateStamp, In::PRIMARY)
        .and_then(ascii)?;
    let time = exif.get_field(Tag::GPSTimeStamp, In::PRIMARY)?;
    let Value::Rational(hms) = &time.value else {
        return None;
    };
    if hms.len() < 3 || hms.iter().any(|r| r.denom == 0) {
        return None;
    }
    let mut civil = parse_exif_datetime(&format!("{} 00:00:00", date.trim()))?;
    civil.hour = hms[0].to_f64() as u32;
    civil.minute = hms[1].to_f64() as u32;
    civil.second = hms[2].to_f64() as u32;
    (civil.hour < 24 && civil.minute < 60 && civil.second < 61)
        .then(|| civil.unix_seconds_as_if_utc())
}

/// A calendar date and wall-clock time without a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

impl CivilTime {
    /// Seconds since 1970-01-01T00:00:00 if this wall-clock time were UTC.
    pub fn unix_seconds_as_if_utc(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

impl std::fmt::Display for CivilTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.millis > 0 {
            write!(f, ".{:03}", self.millis)?;
        }
        Ok(())
    }
}

/// Parse EXIF's `YYYY:MM:DD HH:MM:SS` (also tolerating `-` and `T` separators).
pub fn parse_exif_datetime(text: &str) -> Option<CivilTime> {
    let digits: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    if digits.len() < 3 {
        return None;
    }
    let get = |i: usize| digits.get(i).copied().unwrap_or(0);
    let civil = CivilTime {
        year: get(0) as i32,
        month: get(1),
        day: get(2),
        hour: get(3),
        minute: get(4),
        second: get(5),
        millis: 0,
    };
    let valid = (1800..=2200).contains(&civil.year)
        && (1..=12).contains(&civil.month)
        && (1..=31).contains(&civil.day)
        && civil.hour < 24
        && civil.minute < 60
        && civil.second < 61;
    valid.then_some(civil)
}

/// Parse `+HH:MM` / `-HH:MM` into minutes east of UTC.
pub fn parse_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// Howard Hinnant's days-from-civil: days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn find_xmp_packet(bytes: &[u8]) -> Option<&[u8]> {
    let start = memchr::memmem::find(bytes, b"<x:xmpmeta")?;
    let end = memchr::memmem::find(&bytes[start..], b"</x:xmpmeta>")?;
    Some(&bytes[start..start + end])
}

fn fill_from_xmp(xmp: &[u8], meta: &mut PhotoMetadata) {
    let text = String::from_utf8_lossy(xmp);
    if let Some(value) = xmp_property(&text, "drone-dji:RelativeAltitude") {
        meta.relative_altitude = value
            .trim()
            .trim_start_matches('+')
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite());
    }
    if let Some(value) = xmp_property(&text, "xmp:Rating") {
        meta.rating = value.trim().parse().ok();
    }
    if let Some(start) = text.find("<dc:subject") {
        if let Some(len) = text[start..].find("</dc:subject>") {
            let block = &text[start..start + len];
            let mut rest = block;
            while let Some(open) = rest.find("<rdf:li") {
                let after = &rest[open..];
                let Some(gt) = after.find('>') else { break };
                let Some(close) = after.find("</rdf:li>") else {
                    break;
                };
                if gt < close {
                    let keyword = xml_unescape(after[gt + 1..close].trim());
                    if !keyword.is_empty() && !meta.keywords.contains(&keyword) {
                        meta.keywords.push(keyword);
                    }
                }
                rest = &after[close + "</rdf:li>".len()..];
            }
        }
    }
}

/// A property written either as an attribute (`name="v"`) or an element (`<name>v</name>`).
fn xmp_property<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let mut search = text;
    while let Some(at) = search.find(name) {
        let after = &search[at + name.len()..];
        let preceded_by_open = at > 0 && search.as_bytes()[at - 1] == b'<';
        if let Some(rest) = after.strip_prefix("=\"") {
            return rest.find('"').map(|end| &rest[..end]);
        }
        if let Some(rest) = after.strip_prefix("='") {
            return rest.find('\'').map(|end| &rest[..end]);
        }
        if preceded_by_open {
            if let Some(rest) = after.strip_prefix('>') {
                return rest.find('<').map(|end| &rest[..end]);
            }
        }
        search = after;
    }
    None
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exif_dates_and_offsets() {
        let t = parse_exif_datetime("2016:06:23 14:05:32").unwrap();
        assert_eq!(t.to_string(), "2016-06-23T14:05:32");
        assert_eq!(t.unix_seconds_as_if_utc(), 1_466_690_732);
        assert_eq!(parse_exif_datetime("0000:00:00 00:00:00"), None);
        assert_eq!(parse_exif_datetime("    :  :     :  :  "), None);
        assert_eq!(parse_offset("+02:00"), Some(120));
        assert_eq!(parse_offset("-05:30"), Some(-330));
        assert_eq!(parse_offset("02:00"), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn reads_xmp_attribute_and_element_forms() {
        let xmp = br#"<x:xmpmeta><rdf:Description drone-dji:RelativeAltitude="+30.20" xmp:Rating="4">
            <dc:subject><rdf:Bag><rdf:li>Smith residence</rdf:li><rdf:li>kitchen &amp; dining</rdf:li></rdf:Bag></dc:subject>
            </rdf:Description></x:xmpmeta>"#;
        let mut meta = PhotoMetadata::default();
        fill_from_xmp(xmp, &mut meta);
        assert_eq!(meta.relative_altitude, Some(30.2));
        assert_eq!(meta.rating, Some(4));
        assert_eq!(
            meta.keywords,
            vec![
                "Smith residence".to_string(),
                "kitchen & dining".to_string()
            ]
        );

        let element =
            b"<x:xmpmeta><drone-dji:RelativeAltitude>-1.5</drone-dji:RelativeAltitude></x:xmpmeta>";
        let mut meta = PhotoMetadata::default();
        fill_from_xmp(element, &mut meta);
        assert_eq!(meta.relative_altitude, Some(-1.5));
    }

    #[test]
    fn garbage_is_not_a_crash() {
        let outcome = read_metadata(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff");
        assert_eq!(outcome.metadata.orientation, 1);
        assert!(read_metadata(b"").metadata.make.is_none());
    }
}

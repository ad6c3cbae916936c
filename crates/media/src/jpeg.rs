//! libjpeg-turbo, decoding what can be decoded.
//!
//! libjpeg treats many kinds of damage as *warnings*: extraneous bytes before a
//! marker, entropy data that ends early (the missing blocks come out grey), a
//! bad Huffman code. It recovers and finishes the image; TurboJPEG then reports
//! failure with the error code `TJERR_WARNING`. The `turbojpeg` crate's safe
//! wrapper turns that into an error and hides the code, so a photo that every
//! viewer shows would get no thumbnail. This module calls the same C API
//! through the crate's `raw` bindings, keeps the pixels when the only problem
//! was a warning, and hands the warning back for the file's report.
//!
//! It also reads JPEGs whose height is given by a DNL marker (a height of 0 in
//! the frame header, the real height after the first scan, as some scanners
//! and cameras write): libjpeg-turbo refuses those ("DNL not supported"), so
//! the height is read from the DNL segment and written into a copy of the
//! frame header before decoding.

use crate::error::{MediaError, Result};
use std::borrow::Cow;
use std::ffi::{c_int, CStr};
use turbojpeg::raw;

/// A JPEG's stored pixel size, plus the warning libjpeg recovered from while
/// reading the header, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub width: u32,
    pub height: u32,
    pub lossless: bool,
    pub warning: Option<String>,
}

/// Decoded 8-bit RGB pixels at a DCT scale, and what libjpeg recovered from.
pub(crate) struct Decoded {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
    pub warning: Option<String>,
}

/// One TurboJPEG decompressor instance.
struct Handle(raw::tjhandle);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from tj3Init, is non-null and is destroyed once.
        unsafe { raw::tj3Destroy(self.0) }
    }
}

impl Handle {
    fn new() -> Result<Handle> {
        // SAFETY: plain constructor; a null result is checked.
        let handle = unsafe { raw::tj3Init(raw::TJINIT_TJINIT_DECOMPRESS as c_int) };
        if handle.is_null() {
            return Err(MediaError::Decode(
                "cannot start the JPEG decoder (libjpeg-turbo)".into(),
            ));
        }
        Ok(Handle(handle))
    }

    fn get(&self, param: raw::TJPARAM) -> c_int {
        // SAFETY: valid handle; tj3Get only reads an integer parameter.
        unsafe { raw::tj3Get(self.0, param as c_int) }
    }

    fn set(&self, param: raw::TJPARAM, value: c_int) -> Result<()> {
        // SAFETY: valid handle; tj3Set only stores an integer parameter.
        let status = unsafe { raw::tj3Set(self.0, param as c_int, value) };
        self.outcome(status).map(|_| ())
    }

    /// Turn a TurboJPEG status into "fine", "fine with a warning" or an error.
    ///
    /// A warning is accepted only when TurboJPEG's code says so *and* the
    /// message is one of libjpeg's warnings: after a warning, a later fatal
    /// error in the same call still reports the code `TJERR_WARNING`, but its
    /// message is the fatal one.
    fn outcome(&self, status: c_int) -> Result<Option<String>> {
        if status == 0 {
            return Ok(None);
        }
        // SAFETY: valid handle; the string is NUL-terminated and copied at once.
        let message = unsafe { CStr::from_ptr(raw::tj3GetErrorStr(self.0)) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: valid handle.
        let code = unsafe { raw::tj3GetErrorCode(self.0) };
        if code == raw::TJERR_TJERR_WARNING as c_int && is_libjpeg_warning(&message) {
            Ok(Some(message))
        } else {
            Err(MediaError::Decode(message))
        }
    }

    fn read_header(&self, bytes: &[u8]) -> Result<Header> {
        if bytes.is_empty() {
            return Err(MediaError::Empty);
        }
        // SAFETY: valid handle; the pointer and length describe `bytes`, which
        // outlives the call and is only read.
        let status = unsafe { raw::tj3DecompressHeader(self.0, bytes.as_ptr(), bytes.len() as _) };
        let warning = self.outcome(status)?;
        let (width, height) = (
            self.get(raw::TJPARAM_TJPARAM_JPEGWIDTH),
            self.get(raw::TJPARAM_TJPARAM_JPEGHEIGHT),
        );
        if width < 1 || height < 1 {
            return Err(MediaError::Decode(format!(
                "JPEG header claims a size of {width}×{height}"
            )));
        }
        Ok(Header {
            width: width as u32,
            height: height as u32,
            lossless: self.get(raw::TJPARAM_TJPARAM_LOSSLESS) != 0,
            warning,
        })
    }
}

/// libjpeg's warning messages (`JWRN_*` in `jerror.h`), by their fixed prefixes.
fn is_libjpeg_warning(message: &str) -> bool {
    const WARNINGS: &[&str] = &[
        "Corrupt JPEG data",
        "Premature end of JPEG file",
        "Unknown Adobe color transform code",
        "Inconsistent progression sequence",
        "Warning: unknown JFIF revision number",
        "Invalid SOS parameters for sequential JPEG",
        "Application transferred too many scanlines",
    ];
    WARNINGS.iter().any(|w| message.starts_with(w))
}

/// The header of a JPEG (DNL height resolved), tolerating libjpeg's warnings.
pub(crate) fn read_header(bytes: &[u8]) -> Result<Header> {
    let bytes = with_dnl_height(bytes);
    Handle::new()?.read_header(&bytes)
}

/// Decode at 1/`denominator` scale (1, 2, 4 or 8) into RGB. `check` sees the
/// header before any pixel memory is allocated and may refuse the image.
pub(crate) fn decode(
    bytes: &[u8],
    denominator: impl Fn(&Header) -> u32,
    check: impl Fn(&Header) -> Result<()>,
) -> Result<(Header, Decoded)> {
    let bytes = with_dnl_height(bytes);
    let handle = Handle::new()?;
    let header = handle.read_header(&bytes)?;
    check(&header)?;
    // Lossless JPEGs cannot be DCT-scaled.
    let denominator = if header.lossless {
        1
    } else {
        denominator(&header).clamp(1, 8)
    };
    let scale = raw::tjscalingfactor {
        num: 1,
        denom: denominator as c_int,
    };
    // SAFETY: valid handle; the scaling factor is passed by value.
    let status = unsafe { raw::tj3SetScalingFactor(handle.0, scale) };
    handle.outcome(status)?;
    // Guard against progressive JPEGs built to take forever (thousands of scans).
    handle.set(raw::TJPARAM_TJPARAM_SCANLIMIT, 500)?;
    let width = header.width.div_ceil(denominator);
    let height = header.height.div_ceil(denominator);
    let pitch = 3 * width as usize;
    let mut pixels = vec![0u8; pitch * height as usize];
    // SAFETY: valid handle; `bytes` is read only; `pixels` holds exactly
    // `height` rows of `pitch` bytes, the size TurboJPEG writes for this
    // header at this scale (TJSCALED rounds up, as `div_ceil` does).
    let status = unsafe {
        raw::tj3Decompress8(
            handle.0,
            bytes.as_ptr(),
            bytes.len() as _,
            pixels.as_mut_ptr(),
            pitch as c_int,
            raw::TJPF_TJPF_RGB,
        )
    };
    let warning = handle.outcome(status)?;
    let decoded = Decoded {
        width,
        height,
        pixels,
        warning: warning.or_else(|| header.warning.clone()),
    };
    Ok((header, decoded))
}

/// The JPEG with its DNL height written into the frame header, when the
/// frame header says 0 and a DNL segment follows the first scan; otherwise
/// the bytes unchanged.
///
/// Segments before the first scan are walked by their lengths; inside
/// entropy-coded data a 0xFF is always followed by 0x00 or a marker, so the
/// first `FF DC` after the scan header is the DNL marker.
pub(crate) fn with_dnl_height(bytes: &[u8]) -> Cow<'_, [u8]> {
    match dnl_height(bytes) {
        Some((at, height)) => {
            let mut patched = bytes.to_vec();
            patched[at..at + 2].copy_from_slice(&height.to_be_bytes());
            Cow::Owned(patched)
        }
        None => Cow::Borrowed(bytes),
    }
}

/// Where the frame header's zero height sits, and the DNL segment's height.
fn dnl_height(bytes: &[u8]) -> Option<(usize, u16)> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return None;
    }
    let mut at = 2;
    let mut height_at = None;
    loop {
        while at + 1 < bytes.len() && bytes[at] == 0xFF && bytes[at + 1] == 0xFF {
            at += 1;
        }
        if at + 4 > bytes.len() || bytes[at] != 0xFF {
            return None;
        }
        let marker = bytes[at + 1];
        let length = usize::from(bytes[at + 2]) << 8 | usize::from(bytes[at + 3]);
        // SOF0–SOF15, except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            // Segment: length (2), precision (1), height (2), width (2).
            let height = bytes.get(at + 5..at + 7)?;
            if height != [0, 0] {
                return None;
            }
            height_at = Some(at + 5);
        }
        if marker == 0xDA {
            break;
        }
        at += 2 + length;
    }
    let height_at = height_at?;
    let dnl = at + memchr::memmem::find(&bytes[at..], &[0xFF, 0xDC])?;
    // DNL segment: marker (2), length = 4 (2), number of lines (2).
    let lines = bytes.get(dnl + 4..dnl + 6)?;
    let height = u16::from_be_bytes([lines[0], lines[1]]);
    (height > 0).then_some((height_at, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny baseline JPEG from libjpeg-turbo's own encoder.
    fn sample(width: usize, height: usize) -> Vec<u8> {
        let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i % 251) as u8).collect();
        let image = turbojpeg::Image {
            pixels: pixels.as_slice(),
            width,
            pitch: 3 * width,
            height,
            format: turbojpeg::PixelFormat::RGB,
        };
        turbojpeg::compress(image, 90, turbojpeg::Subsamp::Sub2x2)
            .unwrap()
            .to_vec()
    }

    fn segment_start(bytes: &[u8], wanted: u8) -> usize {
        let mut at = 2;
        loop {
            let length = usize::from(bytes[at + 2]) << 8 | usize::from(bytes[at + 3]);
            if bytes[at + 1] == wanted {
                return at;
            }
            at += 2 + length;
        }
    }

    #[test]
    fn garbage_before_a_marker_is_a_warning_not_a_failure() {
        let clean = sample(64, 48);
        // Insert junk before the quantization table segment, as a broken writer would.
        let dqt = segment_start(&clean, 0xDB);
        let mut damaged = clean[..dqt].to_vec();
        damaged.extend_from_slice(b"junk bytes");
        damaged.extend_from_slice(&clean[dqt..]);
        let header = read_header(&damaged).unwrap();
        assert_eq!((header.width, header.height), (64, 48));
        let warning = header.warning.unwrap();
        assert!(warning.contains("extraneous bytes"), "{warning}");
        let (_, decoded) = decode(&damaged, |_| 2, |_| Ok(())).unwrap();
        assert_eq!((decoded.width, decoded.height), (32, 24));
        assert!(decoded.warning.is_some());
        // The clean file decodes without a warning.
        let (_, decoded) = decode(&clean, |_| 1, |_| Ok(())).unwrap();
        assert_eq!(decoded.warning, None);
    }

    #[test]
    fn fatal_errors_stay_errors() {
        let error = read_header(b"\xFF\xD8\xFF\xE0 not a jpeg at all").unwrap_err();
        assert!(matches!(error, MediaError::Decode(_)), "{error}");
        assert!(matches!(read_header(b""), Err(MediaError::Empty)));
        let refused = decode(
            &sample(16, 16),
            |_| 1,
            |_| Err(MediaError::Decode("refused".into())),
        );
        assert!(refused.is_err());
    }

    #[test]
    fn dnl_height_is_written_into_the_frame_header() {
        let clean = sample(40, 24);
        // Rewrite as a DNL file: height 0 in SOF0, DNL segment before EOI.
        let sof = segment_start(&clean, 0xC0);
        let mut dnl = clean.clone();
        dnl[sof + 5..sof + 7].copy_from_slice(&[0, 0]);
        let eoi = dnl.len() - 2;
        dnl.splice(eoi..eoi, [0xFF, 0xDC, 0x00, 0x04, 0x00, 24]);
        assert!(Handle::new().unwrap().read_header(&dnl).is_err());
        assert_eq!(dnl_height(&dnl), Some((sof + 5, 24)));
        assert_eq!(
            &*with_dnl_height(&dnl),
            &{
                let mut expected = clean.clone();
                let eoi = expected.len() - 2;
                expected.splice(eoi..eoi, [0xFF, 0xDC, 0x00, 0x04, 0x00, 24]);
                expected
            }[..]
        );
        let header = read_header(&dnl).unwrap();
        assert_eq!((header.width, header.height), (40, 24));
        assert_eq!(dnl_height(&clean), None);
    }
}

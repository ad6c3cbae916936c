//! Grid thumbnails (~400 px) and previews (~1600 px) with the EXIF orientation
//! applied, one size per call: the scan renders the grid thumbnail, a preview
//! is rendered the first time someone opens it.
//!
//! JPEGs are decoded by libjpeg-turbo with DCT scaling: the decoder produces the
//! image at 1/2, 1/4 or 1/8 size directly, picking the smallest scale that is
//! still at least as large as the rendering, so a 12 MP photo never exists in
//! memory at full size (a grid thumbnail of a 4000×3000 photo decodes at
//! 500×375). Damage libjpeg recovers from (extraneous bytes, entropy data
//! ending early) still gives a picture and is reported in
//! [`Rendered::warning`]; a height given by a DNL marker is read (see
//! `jpeg.rs`). PNG/TIFF/WebP go through `image` with explicit limits.
//! HEIC and camera RAW files get their largest embedded JPEG preview, or no
//! thumbnail at all (which is recorded, not treated as an error).

use crate::cache::ThumbnailSize;
use crate::error::{MediaError, Result};
use crate::jpeg;
use crate::kind::FileKind;
use fast_image_resize::{
    images::Image as ResizeImage, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
};

/// Sizes and safety limits for rendering.
#[derive(Debug, Clone, Copy)]
pub struct ThumbnailSpec {
    pub grid_long_edge: u32,
    pub preview_long_edge: u32,
    /// Decompression-bomb guard: images with more pixels than this are refused before decoding.
    pub max_pixels: u64,
    pub grid_quality: i32,
    pub preview_quality: i32,
}

impl Default for ThumbnailSpec {
    fn default() -> Self {
        Self {
            grid_long_edge: 400,
            preview_long_edge: 1600,
            // 250 MP covers medium-format stitched panoramas; a 100k × 100k bomb does not pass.
            max_pixels: 250_000_000,
            grid_quality: 80,
            preview_quality: 82,
        }
    }
}

impl ThumbnailSpec {
    /// The longest edge of a rendering of this size.
    pub fn long_edge(&self, size: ThumbnailSize) -> u32 {
        match size {
            ThumbnailSize::Grid => self.grid_long_edge,
            ThumbnailSize::Preview => self.preview_long_edge,
        }
    }

    /// The JPEG quality of a rendering of this size.
    pub fn quality(&self, size: ThumbnailSize) -> i32 {
        match size {
            ThumbnailSize::Grid => self.grid_quality,
            ThumbnailSize::Preview => self.preview_quality,
        }
    }
}

/// An encoded JPEG and its size after orientation.
#[derive(Debug, Clone)]
pub struct EncodedImage {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Where the pixels of a rendering came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelSource {
    /// The image itself was decoded.
    Decoded,
    /// An embedded JPEG preview (RAW, HEIC) was decoded.
    EmbeddedPreview,
}

/// One rendering (grid thumbnail or preview) of one file.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Stored pixel size of the source image, before orientation.
    pub source_width: u32,
    pub source_height: u32,
    pub image: EncodedImage,
    pub pixel_source: PixelSource,
    /// Damage the JPEG decoder recovered from (libjpeg's warning, e.g.
    /// "Corrupt JPEG data: premature end of data segment"): the picture was
    /// made, but part of it may be grey. For the file's report.
    pub warning: Option<String>,
}

/// An 8-bit RGB raster.
struct Rgb {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// Pixels decoded for rendering: the raster, the stored size of the source
/// and what the decoder recovered from.
struct Source {
    rgb: Rgb,
    size: (u32, u32),
    warning: Option<String>,
}

/// Render one size (grid or preview) for one file's bytes. `Ok(None)` means
/// the format has nothing we can show (e.g. a HEIC without an embedded JPEG
/// preview).
pub fn render(
    bytes: &[u8],
    kind: FileKind,
    orientation: u8,
    spec: &ThumbnailSpec,
    size: ThumbnailSize,
) -> Result<Option<Rendered>> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    let long_edge = spec.long_edge(size);
    let (source, pixel_source) = match kind {
        FileKind::Jpeg => {
            check_jpeg_complete(bytes)?;
            (decode_jpeg(bytes, spec, long_edge)?, PixelSource::Decoded)
        }
        FileKind::Png | FileKind::Tiff | FileKind::Webp => {
            (decode_with_image(bytes, spec)?, PixelSource::Decoded)
        }
        FileKind::Heic | FileKind::Raw => match largest_embedded_jpeg(bytes) {
            Some(embedded) => (
                decode_jpeg(embedded, spec, long_edge)?,
                PixelSource::EmbeddedPreview,
            ),
            None => return Ok(None),
        },
        FileKind::Sidecar | FileKind::Other => return Ok(None),
    };
    let fitted = fit(&source.rgb, long_edge)?;
    drop(source.rgb);
    let oriented = orient(fitted, orientation);
    Ok(Some(Rendered {
        source_width: source.size.0,
        source_height: source.size.1,
        image: encode(&oriented, spec.quality(size))?,
        pixel_source,
        warning: source.warning,
    }))
}

/// Pixel size of an image without decoding it (JPEG header or `image`'s probe).
/// A JPEG with recoverable damage in its header, or with its height in a DNL
/// marker, still has a size.
pub fn probe_size(bytes: &[u8], kind: FileKind) -> Option<(u32, u32)> {
    match kind {
        FileKind::Jpeg => {
            let header = jpeg::read_header(bytes).ok()?;
            Some((header.width, header.height))
        }
        FileKind::Png | FileKind::Tiff | FileKind::Webp => {
            image::ImageReader::new(std::io::Cursor::new(bytes))
                .with_guessed_format()
                .ok()?
                .into_dimensions()
                .ok()
        }
        _ => None,
    }
}

/// A JPEG cut short (interrupted copy, truncated download) has no end-of-image
/// marker after its main image's first scan. libjpeg would paint the missing
/// rows grey and call it a success; we call it what it is.
///
/// Only the main image is checked: the segments before its first scan are
/// walked by their lengths (which skips an EXIF thumbnail inside APP1), and
/// inside entropy-coded data `FF D9` cannot occur (0xFF is always stuffed), so
/// the first `FF D9` after that scan ends the main image. Data appended after
/// it (maker trailers, a damaged second image) does not make the photo broken.
fn check_jpeg_complete(bytes: &[u8]) -> Result<()> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(MediaError::Decode(
            "not a JPEG (no start-of-image marker)".into(),
        ));
    }
    let mut at = 2;
    loop {
        // Padding 0xFF bytes may precede a marker.
        while at + 1 < bytes.len() && bytes[at] == 0xFF && bytes[at + 1] == 0xFF {
            at += 1;
        }
        if at + 4 > bytes.len() {
            return Err(MediaError::Decode(
                "truncated or damaged JPEG: no image data (no start-of-scan marker)".into(),
            ));
        }
        if bytes[at] != 0xFF {
            // Not a marker where one must be: leave the verdict to the decoder.
            return Ok(());
        }
        if bytes[at + 1] == 0xDA {
            break;
        }
        let length = usize::from(bytes[at + 2]) << 8 | usize::from(bytes[at + 3]);
        at += 2 + length;
    }
    match memchr::memmem::find(&bytes[at..], &[0xFF, 0xD9]) {
        Some(_) => Ok(()),
        None => Err(MediaError::Decode(
            "truncated JPEG: the image data ends before the end-of-image marker".into(),
        )),
    }
}

fn decode_jpeg(bytes: &[u8], spec: &ThumbnailSpec, long_edge: u32) -> Result<Source> {
    match decode_jpeg_turbo(bytes, spec, long_edge) {
        Ok(decoded) => Ok(decoded),
        Err(error @ MediaError::TooManyPixels { .. }) => Err(error),
        // libjpeg-turbo cannot convert CMYK/YCCK to RGB; zune-jpeg (through `image`) can.
        Err(turbo_error) => decode_with_image(bytes, spec).map_err(|_| turbo_error),
    }
}

fn decode_jpeg_turbo(bytes: &[u8], spec: &ThumbnailSpec, long_edge: u32) -> Result<Source> {
    let (header, decoded) = jpeg::decode(
        bytes,
        |header| {
            // Smallest power-of-two DCT scale whose output is still at least `long_edge`.
            let source_long_edge = header.width.max(header.height);
            let mut denominator = 8;
            while denominator > 1 && source_long_edge.div_ceil(denominator) < long_edge {
                denominator /= 2;
            }
            denominator
        },
        |header| guard_pixels(u64::from(header.width), u64::from(header.height), spec),
    )?;
    Ok(Source {
        rgb: Rgb {
            width: decoded.width,
            height: decoded.height,
            pixels: decoded.pixels,
        },
        size: (header.width, header.height),
        warning: decoded.warning,
    })
}

fn decode_with_image(bytes: &[u8], spec: &ThumbnailSpec) -> Result<Source> {
    let decode_error = |e: image::ImageError| MediaError::Decode(e.to_string());
    let open = || {
        image::ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| MediaError::Decode(e.to_string()))
    };
    let (width, height) = open()?.into_dimensions().map_err(decode_error)?;
    let mut reader = open()?;
    guard_pixels(u64::from(width), u64::from(height), spec)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Room for a 16-bit RGBA decode of the admitted size, and not a byte more.
    limits.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + (1 << 20));
    reader.limits(limits);
    let decoded = reader.decode().map_err(decode_error)?.into_rgb8();
    let (w, h) = decoded.dimensions();
    Ok(Source {
        rgb: Rgb {
            width: w,
            height: h,
            pixels: decoded.into_raw(),
        },
        size: (width, height),
        warning: None,
    })
}

fn guard_pixels(width: u64, height: u64, spec: &ThumbnailSpec) -> Result<()> {
    let pixels = width.saturating_mul(height);
    if width == 0 || height == 0 {
        return Err(MediaError::Decode(format!(
            "image claims a size of {width}×{height}"
        )));
    }
    if pixels > spec.max_pixels {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            pixels,
            limit: spec.max_pixels,
        });
    }
    Ok(())
}

/// Scale so the long edge is at most `long_edge` (never upscale).
fn fit(source: &Rgb, long_edge: u32) -> Result<Rgb> {
    let current = source.width.max(source.height);
    if current <= long_edge {
        return Ok(Rgb {
            width: source.width,
            height: source.height,
            pixels: source.pixels.clone(),
        });
    }
    let ratio = f64::from(long_edge) / f64::from(current);
    let width = ((f64::from(source.width) * ratio).round() as u32).max(1);
    let height = ((f64::from(source.height) * ratio).round() as u32).max(1);
    let resize_error = |e: String| MediaError::Decode(format!("resize failed: {e}"));
    let src = fast_image_resize::images::ImageRef::new(
        source.width,
        source.height,
        &source.pixels,
        PixelType::U8x3,
    )
    .map_err(|e| resize_error(e.to_string()))?;
    let mut dst = ResizeImage::new(width, height, PixelType::U8x3);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        )
        .map_err(|e| resize_error(e.to_string()))?;
    Ok(Rgb {
        width,
        height,
        pixels: dst.into_vec(),
    })
}

/// Apply EXIF orientation (1–8) so the result is upright.
fn orient(source: Rgb, orientation: u8) -> Rgb {
    if orientation <= 1 || orientation > 8 {
        return source;
    }
    let (w, h) = (source.width as usize, source.height as usize);
    let transposed = orientation >= 5;
    let (out_w, out_h) = if transposed { (h, w) } else { (w, h) };
    let mut out = vec![0u8; source.pixels.len()];
    for y in 0..out_h {
        for x in 0..out_w {
            // Map each output pixel back to where it sits in the stored image.
            let (sx, sy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                8 => (w - 1 - y, x),
                _ => (x, y),
            };
            let from = (sy * w + sx) * 3;
            let to = (y * out_w + x) * 3;
            out[to..to + 3].copy_from_slice(&source.pixels[from..from + 3]);
        }
    }
    Rgb {
        width: out_w as u32,
        height: out_h as u32,
        pixels: out,
    }
}

fn encode(image: &Rgb, quality: i32) -> Result<EncodedImage> {
    let encode_error = |e: turbojpeg::Error| MediaError::Encode(e.to_string());
    let mut compressor = turbojpeg::Compressor::new().map_err(encode_error)?;
    compressor.set_quality(quality).map_err(encode_error)?;
    compressor
        .set_subsamp(turbojpeg::Subsamp::Sub2x2)
        .map_err(encode_error)?;
    let view = turbojpeg::Image {
        pixels: image.pixels.as_slice(),
        width: image.width as usize,
        pitch: 3 * image.width as usize,
        height: image.height as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    let jpeg = compressor.compress_to_vec(view).map_err(encode_error)?;
    Ok(EncodedImage {
        jpeg,
        width: image.width,
        height: image.height,
    })
}

/// The largest JPEG embedded in a RAW or HEIC container, found by its markers
/// and validated by libjpeg-turbo's header parser.
fn largest_embedded_jpeg(bytes: &[u8]) -> Option<&[u8]> {
    let mut best: Option<(u64, &[u8])> = None;
    for start in memchr::memmem::find_iter(bytes, &[0xFF, 0xD8, 0xFF]) {
        let candidate = &bytes[start..];
        if let Ok(header) = jpeg::read_header(candidate) {
            let area = u64::from(header.width) * u64::from(header.height);
            if best.is_none_or(|(best_area, _)| area > best_area) {
                best = Some((area, candidate));
            }
        }
    }
    best.map(|(_, slice)| slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32) -> Rgb {
        let mut pixels = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                pixels.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, 7]);
            }
        }
        Rgb {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn orientation_swaps_dimensions_for_5_to_8() {
        for orientation in 1..=8u8 {
            let out = orient(gradient(4, 2), orientation);
            let expected = if orientation >= 5 { (2, 4) } else { (4, 2) };
            assert_eq!(
                (out.width, out.height),
                expected,
                "orientation {orientation}"
            );
        }
        // Orientation 6 (rotate 90° clockwise): the stored top-left lands top-right.
        let out = orient(gradient(4, 2), 6);
        assert_eq!(&out.pixels[0..3], &[0, 1, 7]); // output (0,0) = stored (0,1)
    }

    #[test]
    fn fit_never_upscales_and_keeps_aspect() {
        let small = fit(&gradient(300, 200), 400).unwrap();
        assert_eq!((small.width, small.height), (300, 200));
        let big = fit(&gradient(4000, 3000), 400).unwrap();
        assert_eq!((big.width, big.height), (400, 300));
    }

    #[test]
    fn truncated_and_empty_jpegs_are_errors() {
        let encoded = encode(&gradient(64, 48), 90).unwrap();
        let spec = ThumbnailSpec::default();
        assert!(
            render(&encoded.jpeg, FileKind::Jpeg, 1, &spec, ThumbnailSize::Grid)
                .unwrap()
                .is_some()
        );
        let cut = &encoded.jpeg[..encoded.jpeg.len() / 2];
        let error = render(cut, FileKind::Jpeg, 1, &spec, ThumbnailSize::Grid).unwrap_err();
        assert!(error.to_string().contains("truncated"), "{error}");
        assert!(matches!(
            render(&[], FileKind::Jpeg, 1, &spec, ThumbnailSize::Grid),
            Err(MediaError::Empty)
        ));
    }

    #[test]
    fn pixel_limit_refuses_before_decoding() {
        let encoded = encode(&gradient(64, 48), 90).unwrap();
        let spec = ThumbnailSpec {
            max_pixels: 1000,
            ..Default::default()
        };
        let error =
            render(&encoded.jpeg, FileKind::Jpeg, 1, &spec, ThumbnailSize::Grid).unwrap_err();
        assert!(
            matches!(
                error,
                MediaError::TooManyPixels {
                    width: 64,
                    height: 48,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn raw_without_preview_has_no_thumbnail() {
        let spec = ThumbnailSpec::default();
        assert!(render(
            b"II*\x00not really a raw",
            FileKind::Raw,
            1,
            &spec,
            ThumbnailSize::Grid
        )
        .unwrap()
        .is_none());
        // A RAW-like container with an embedded JPEG yields that JPEG's pixels.
        let embedded = encode(&gradient(160, 120), 90).unwrap();
        let mut container = b"II*\x00 fake raw header ".to_vec();
        container.extend_from_slice(&embedded.jpeg);
        container.extend_from_slice(b"trailing sensor data");
        let rendered = render(&container, FileKind::Raw, 1, &spec, ThumbnailSize::Grid)
            .unwrap()
            .unwrap();
        assert_eq!(rendered.pixel_source, PixelSource::EmbeddedPreview);
        assert_eq!((rendered.image.width, rendered.image.height), (160, 120));
    }
}

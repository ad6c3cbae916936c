//! The thumbnail rows of BENCHMARKS.md without building `photopro-bench`
//! (which links the API and the sync engine): the same measurement as
//! `photopro-bench thumbnails`. Pin the whole process to one core:
//! `cargo build --release -p photopro-media --example thumbnail_bench &&
//!  taskset -c 0 target/release/examples/thumbnail_bench [DIR] [ROUNDS]`
use photopro_media::{FileKind, ThumbnailSize, ThumbnailSpec};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("aerial-12mp")
    });
    let rounds: usize = args.next().map_or(5, |r| r.parse().unwrap());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no JPEGs in {}", dir.display());
    let out = tempfile::tempdir().unwrap();
    let spec = ThumbnailSpec::default();
    let (mut scan, mut preview, mut vips) = (Vec::new(), Vec::new(), Vec::new());
    let per_image = |start: Instant| start.elapsed().as_secs_f64() * 1000.0 / files.len() as f64;
    for _ in 0..rounds {
        for (size, times) in [
            (ThumbnailSize::Grid, &mut scan),
            (ThumbnailSize::Preview, &mut preview),
        ] {
            let start = Instant::now();
            for (i, file) in files.iter().enumerate() {
                let bytes = std::fs::read(file).unwrap();
                let meta = photopro_media::read_metadata(&bytes).metadata;
                let rendered =
                    photopro_media::render(&bytes, FileKind::Jpeg, meta.orientation, &spec, size)
                        .unwrap()
                        .unwrap();
                std::fs::write(
                    out.path().join(format!("{i}-{size:?}.jpg")),
                    &rendered.image.jpeg,
                )
                .unwrap();
            }
            times.push(per_image(start));
        }
        let start = Instant::now();
        let status = Command::new("taskset")
            .args(["-c", "0", "vipsthumbnail", "-s", "512"])
            .arg("-o")
            .arg(format!("{}/%s-vips.jpg", out.path().display()))
            .args(&files)
            .env("VIPS_CONCURRENCY", "1")
            .status()
            .expect("vipsthumbnail (Debian libvips-tools) is needed as the anchor");
        assert!(status.success(), "vipsthumbnail failed");
        vips.push(per_image(start));
    }
    let (scan, preview, vips) = (median(scan), median(preview), median(vips));
    println!(
        "thumbnails: {} × 12 MP JPEG, one core, median of {rounds} rounds",
        files.len()
    );
    println!("  scan: grid 400 px (previews lazy):      {scan:.1} ms/image");
    println!("  preview 1600 px, on first open:         {preview:.1} ms/image");
    println!("  vipsthumbnail -s 512 (one thumbnail):   {vips:.1} ms/image");
    println!(
        "  ratio: scan {:.2}× vipsthumbnail (goal ≤ 0.6×)",
        scan / vips
    );
}

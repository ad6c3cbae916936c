//! Print what the media pipeline reads from the files named on the command line.
//! `cargo run -p photopro-media --example analyze -- FILE...`
//! (`PHOTOPRO_ANALYZE_CACHE=DIR` keeps the grid thumbnails in DIR.)
fn main() {
    let spec = photopro_media::ThumbnailSpec::default();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = photopro_media::ThumbnailCache::new(
        std::env::var_os("PHOTOPRO_ANALYZE_CACHE")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| cache_dir.path().to_path_buf()),
    );
    for arg in std::env::args_os().skip(1) {
        let path = std::path::PathBuf::from(arg);
        let kind = photopro_media::FileKind::from_name(
            path.file_name().unwrap_or_default().as_encoded_bytes(),
        );
        match photopro_media::analyze_file(&path, kind, &spec, &cache) {
            Ok(a) => println!(
                "{}: {:?} hash={} px={:?} grid={:?} err={:?}\n  {:?}",
                path.display(),
                kind,
                a.content_hash,
                a.pixel_size,
                a.thumbnail,
                a.media_error,
                a.metadata
            ),
            Err(e) => println!("{}: ERROR {e}", path.display()),
        }
    }
}

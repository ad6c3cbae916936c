//! `photopro-bench`: the foundation's benchmarks, each with its anchor run in
//! the same process run so the ratio is meaningful on a busy machine.
//! Results go to BENCHMARKS.md by hand. Run in release:
//!
//! ```text
//! cargo run --release -p photopro-bench -- thumbnails
//! cargo run --release -p photopro-bench -- hash
//! cargo run --release -p photopro-bench -- rescan --files 200000
//! cargo run --release -p photopro-bench -- rows --rows 1000000
//! cargo run --release -p photopro-bench -- settle-latency --files 20
//! cargo run --release -p photopro-bench -- idle-daemon --files 100000
//! ```

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use photopro_index::{AssetRecord, Index, MediaFields, ThumbState};
use photopro_media::{FileKind, ThumbnailSize, ThumbnailSpec};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod daemon;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// The scan's grid thumbnail (and, apart, the lazy preview) per 12 MP JPEG on one core vs `vipsthumbnail -s 512` (VIPS_CONCURRENCY=1).
    Thumbnails {
        #[arg(long)]
        photos: Option<PathBuf>,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// content_hash throughput on a page-cached file vs `sha256sum`.
    Hash {
        #[arg(long, default_value_t = 1024)]
        mib: usize,
    },
    /// Index N small files (peak RSS of the `photopro scan` process), then time an
    /// unchanged rescan vs `find DIR -printf '%s %T@\n'`.
    Rescan {
        #[arg(long, default_value_t = 200_000)]
        files: usize,
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Insert N synthetic asset rows, then p50/p95 of folder listing, GPS box and FTS queries.
    Rows {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
    /// Sync a folder of N × M MiB files up through the API (reservation per file)
    /// into its local S3 store, vs `rclone copy` and `s5cmd cp` of the same folder
    /// straight into the same store; then rename the folder and count the bytes.
    Upload {
        #[arg(long, default_value_t = 200)]
        files: usize,
        #[arg(long, default_value_t = 5)]
        mib: usize,
    },
    /// The `photopro sync` daemon (child process) watching a folder: photos dropped
    /// one at a time, time from "stable" (last write + 2 s) to the upload at the API.
    SettleLatency {
        #[arg(long, default_value_t = 20)]
        files: usize,
        #[arg(long)]
        photos: Option<PathBuf>,
        #[arg(long)]
        photopro: Option<PathBuf>,
        /// Scratch directory (default: /dev/shm).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The daemon watching a synced library of N small files: RSS and CPU while idle.
    IdleDaemon {
        #[arg(long, default_value_t = 100_000)]
        files: usize,
        #[arg(long, default_value_t = 1024)]
        bytes: usize,
        #[arg(long, default_value_t = 60)]
        idle_seconds: u64,
        #[arg(long)]
        photopro: Option<PathBuf>,
        /// Scratch directory (default: /dev/shm).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Leave the scratch directory (library, API and device data) for inspection.
        #[arg(long)]
        keep: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().bench {
        Bench::Thumbnails { photos, rounds } => thumbnails(photos, rounds),
        Bench::Hash { mib } => hash(mib),
        Bench::Rescan { files, rounds } => rescan(files, rounds),
        Bench::Rows { rows } => rows_bench(rows),
        Bench::Upload { files, mib } => upload(files, mib),
        Bench::SettleLatency {
            files,
            photos,
            photopro,
            dir,
        } => daemon::settle_latency(files, photos, photopro, dir),
        Bench::IdleDaemon {
            files,
            bytes,
            idle_seconds,
            photopro,
            dir,
            keep,
        } => daemon::idle_daemon(files, bytes, idle_seconds, photopro, dir, keep),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

fn pin_to_one_core() {
    // One core for both sides, so "per image on one core" means exactly that.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn thumbnails(photos: Option<PathBuf>, rounds: usize) -> Result<()> {
    let dir = photos.unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("aerial-12mp")
    });
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no JPEGs in {}", dir.display());
    }
    pin_to_one_core();
    let out = tempfile::tempdir()?;
    let spec = ThumbnailSpec::default();
    let mut scan = Vec::new();
    let mut preview = Vec::new();
    let mut vips = Vec::new();
    for _ in 0..rounds {
        // What the scan does per photo: read, EXIF, one ~400 px grid thumbnail
        // (previews are rendered on first open) — like for like with vipsthumbnail.
        let start = Instant::now();
        for (i, file) in files.iter().enumerate() {
            let bytes = std::fs::read(file)?;
            let meta = photopro_media::read_metadata(&bytes).metadata;
            let rendered = photopro_media::render(
                &bytes,
                FileKind::Jpeg,
                meta.orientation,
                &spec,
                ThumbnailSize::Grid,
            )?
            .context("rendered")?;
            std::fs::write(
                out.path().join(format!("{i}-grid.jpg")),
                &rendered.image.jpeg,
            )?;
        }
        scan.push(start.elapsed().as_secs_f64() * 1000.0 / files.len() as f64);

        // What opening a photo costs the first time: its 1600 px preview.
        let start = Instant::now();
        for (i, file) in files.iter().enumerate() {
            let bytes = std::fs::read(file)?;
            let meta = photopro_media::read_metadata(&bytes).metadata;
            let rendered = photopro_media::render(
                &bytes,
                FileKind::Jpeg,
                meta.orientation,
                &spec,
                ThumbnailSize::Preview,
            )?
            .context("rendered")?;
            std::fs::write(
                out.path().join(format!("{i}-preview.jpg")),
                &rendered.image.jpeg,
            )?;
        }
        preview.push(start.elapsed().as_secs_f64() * 1000.0 / files.len() as f64);

        let start = Instant::now();
        let status = Command::new("taskset")
            .args(["-c", "0", "vipsthumbnail", "-s", "512"])
            .arg("-o")
            .arg(format!("{}/%s-vips.jpg", out.path().display()))
            .args(&files)
            .env("VIPS_CONCURRENCY", "1")
            .status()
            .context("vipsthumbnail (Debian libvips-tools) is needed as the anchor")?;
        if !status.success() {
            bail!("vipsthumbnail failed");
        }
        vips.push(start.elapsed().as_secs_f64() * 1000.0 / files.len() as f64);
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
    Ok(())
}

fn hash(mib: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big.bin");
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let block: Vec<u8> = (0..1024 * 1024)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for _ in 0..mib {
            file.write_all(&block)?;
        }
    }
    // Warm the page cache.
    std::io::copy(&mut std::fs::File::open(&path)?, &mut std::io::sink())?;
    pin_to_one_core();
    let bytes = (mib as f64) * 1024.0 * 1024.0;
    let mut ours = Vec::new();
    let mut anchor = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let hash = photopro_media::hash::content_hash_reader(std::fs::File::open(&path)?)?;
        ours.push(bytes / start.elapsed().as_secs_f64() / 1e9);
        std::hint::black_box(hash);
        let start = Instant::now();
        Command::new("taskset")
            .args(["-c", "0", "sha256sum"])
            .arg(&path)
            .output()?;
        anchor.push(bytes / start.elapsed().as_secs_f64() / 1e9);
    }
    println!("content_hash of a page-cached {mib} MiB file, one core, median of 3");
    println!(
        "  photopro content_hash (streaming): {:.2} GB/s",
        median(ours)
    );
    println!(
        "  sha256sum (plain SHA-256):         {:.2} GB/s",
        median(anchor)
    );
    Ok(())
}

/// A tiny valid JPEG so the initial index exercises the whole pipeline.
fn tiny_jpeg() -> Vec<u8> {
    let photos =
        std::path::PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("exif-samples/jpg/invalid/image01551.jpg");
    std::fs::read(photos).unwrap_or_else(|_| b"\xff\xd8\xff\xd9".to_vec())
}

fn rescan(files: usize, rounds: usize) -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path().join("library");
    let per_folder = 100;
    let jpeg = tiny_jpeg();
    let start = Instant::now();
    for i in 0..files {
        let folder = root.join(format!(
            "{:04}/Gallery {:04}",
            i / (per_folder * 50),
            i / per_folder
        ));
        if i % per_folder == 0 {
            std::fs::create_dir_all(&folder)?;
        }
        // Vary a byte so content hashes differ, as real photos do.
        let mut bytes = jpeg.clone();
        let n = bytes.len();
        bytes[n - 3] = (i % 251) as u8;
        std::fs::write(folder.join(format!("IMG_{i:06}.jpg")), &bytes)?;
    }
    println!(
        "generated {files} files of {} bytes in {:.1} s",
        jpeg.len(),
        start.elapsed().as_secs_f64()
    );

    let photopro = std::env::current_exe()?.with_file_name("photopro");
    if !photopro.exists() {
        bail!("build the CLI first: cargo build --release -p photopro-cli");
    }
    let data = work.path().join("data");
    let run = |args: &[&str]| -> Result<(Duration, i64)> {
        let start = Instant::now();
        let child = Command::new(&photopro)
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let (status, max_rss_kib) = wait_with_rusage(child)?;
        if !status.success() {
            bail!("photopro {args:?} failed");
        }
        Ok((start.elapsed(), max_rss_kib))
    };
    run(&["library", "add", root.to_str().unwrap()])?;
    let (index_time, index_rss) = run(&["scan"])?;
    println!(
        "initial index of {files} files: {:.1} s ({:.0} files/s), peak RSS {:.1} MB (goal < 200 MB)",
        index_time.as_secs_f64(),
        files as f64 / index_time.as_secs_f64(),
        index_rss as f64 / 1024.0
    );
    let mut ours = Vec::new();
    let mut find = Vec::new();
    let mut rescan_rss = 0;
    for _ in 0..rounds {
        let (time, rss) = run(&["scan"])?;
        ours.push(time.as_secs_f64());
        rescan_rss = rescan_rss.max(rss);
        let start = Instant::now();
        let out = Command::new("find")
            .arg(&root)
            .args(["-printf", "%s %T@\\n"])
            .output()?;
        find.push(start.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    let (ours, find) = (median(ours), median(find));
    println!("unchanged rescan of {files} files, median of {rounds}:");
    println!(
        "  photopro scan: {:.0} ms (peak RSS {:.1} MB)",
        ours * 1000.0,
        rescan_rss as f64 / 1024.0
    );
    println!("  find -printf:  {:.0} ms", find * 1000.0);
    println!("  ratio: {:.2}× find (goal ≤ 1.5×)", ours / find);
    Ok(())
}

fn wait_with_rusage(child: std::process::Child) -> Result<(std::process::ExitStatus, i64)> {
    use std::os::unix::process::ExitStatusExt;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    std::mem::forget(child);
    Ok((std::process::ExitStatus::from_raw(status), usage.ru_maxrss))
}

fn rows_bench(rows: usize) -> Result<()> {
    let work = tempfile::tempdir()?;
    let mut index = Index::open(&work.path().join("index.db"))?;
    let library = index.add_library(Path::new("/bench/library"))?;
    let per_gallery = 100;
    let galleries = rows.div_ceil(per_gallery);
    let words = [
        "kitchen", "bathroom", "bedroom", "living", "exterior", "aerial", "twilight", "pool",
        "garden", "office",
    ];
    let cameras = [
        ("Canon", "EOS R5"),
        ("Sony", "ILCE-7RM4"),
        ("Nikon", "Z 7II"),
        ("DJI", "FC3582"),
        ("Fujifilm", "X-T4"),
    ];
    let mut folders = Vec::with_capacity(galleries);
    for g in 0..galleries {
        // year / client / gallery: 10 years × 100 clients, like a real back catalogue.
        let rel = format!(
            "{}/Client {:03}/Gallery {g:06}",
            2016 + g % 10,
            (g / 10) % 100
        );
        folders.push((index.ensure_folder(library, rel.as_bytes())?, rel));
    }
    let start = Instant::now();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for chunk_start in (0..rows).step_by(10_000) {
        index.write_batch(|batch| {
            for i in chunk_start..(chunk_start + 10_000).min(rows) {
                let (folder, rel) = &folders[i / per_gallery];
                let (make, model) = cameras[i % cameras.len()];
                let r = next();
                let record = AssetRecord {
                    folder: *folder,
                    name_raw: format!("IMG_{i:07}.jpg").into_bytes(),
                    kind: "jpeg".into(),
                    size: 3_000_000 + (r % 4_000_000),
                    mtime_ns: 1_700_000_000_000_000_000 + i as i64,
                    device: Some(1),
                    inode: Some(i as u64),
                    content_hash: Some(format!("{:016x}{:016x}{:016x}{:016x}", r, i, r ^ 1, i)),
                    sync_excluded: false,
                    media: MediaFields {
                        taken_at_local: Some(format!(
                            "{}-{:02}-{:02}T12:00:00",
                            2016 + (i / per_gallery) % 10,
                            1 + r % 12,
                            1 + r % 28
                        )),
                        make: Some(make.into()),
                        model: Some(model.into()),
                        // Spread over the continental US.
                        latitude: Some(25.0 + (r % 2_400_000) as f64 / 100_000.0),
                        longitude: Some(-124.0 + ((r >> 24) % 5_700_000) as f64 / 100_000.0),
                        keywords: vec![words[(r % 10) as usize].to_string()],
                        ..Default::default()
                    },
                    thumb_state: ThumbState::Ready,
                    media_error: None,
                    read_error: None,
                };
                batch.upsert_asset(&record, rel)?;
            }
            Ok(())
        })?;
    }
    let insert = start.elapsed().as_secs_f64();
    println!(
        "inserted {rows} assets (with FTS5, R*Tree and tags) in {insert:.1} s: {:.0} rows/s",
        rows as f64 / insert
    );

    let time = |f: &mut dyn FnMut() -> Result<usize>| -> Result<(Vec<f64>, usize)> {
        let mut samples = Vec::new();
        let mut found = 0;
        for _ in 0..200 {
            let start = Instant::now();
            found = f()?;
            samples.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        Ok((samples, found))
    };
    let report = |name: &str, (mut samples, found): (Vec<f64>, usize)| {
        println!(
            "  {name:<44} p50 {:>7.2} ms  p95 {:>7.2} ms  ({found} results)",
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.95)
        );
    };
    let clients: Vec<_> = {
        let year = index.folder_id(library, b"2020")?.context("year folder")?;
        vec![year]
    };
    let mut k = 0usize;
    report(
        "folder listing with counts (100 clients)",
        time(&mut || Ok(index.list_child_folders(clients[0])?.len()))?,
    );
    report(
        "gallery listing (100 files)",
        time(&mut || {
            k += 1;
            Ok(index
                .list_assets(folders[(k * 7919) % folders.len()].0)?
                .len())
        })?,
    );
    report(
        "GPS box ~ a city (R*Tree)",
        time(&mut || Ok(index.assets_in_box(40.6, 40.9, -74.1, -73.8, 10_000)?.len()))?,
    );
    report(
        "FTS5 rare term (one file name)",
        time(&mut || Ok(index.search("IMG_0424242", 50)?.len()))?,
    );
    report(
        "FTS5 common term, first 50 (\"twilight\")",
        time(&mut || Ok(index.search("twilight", 50)?.len()))?,
    );
    report(
        "FTS5 two terms (\"DJI\" AND \"aerial\"), first 50",
        time(&mut || Ok(index.search("DJI aerial", 50)?.len()))?,
    );
    Ok(())
}

struct RealClock;

impl photopro_sync::engine::Clock for RealClock {
    fn now_unix(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration)
    }
}

fn upload(files: usize, mib: usize) -> Result<()> {
    use photopro_sync::disk::{DiskFs, HashKind};
    use photopro_sync::engine::{Engine, EngineConfig};
    use photopro_sync::http::HttpRemote;
    use photopro_sync::memory::MemStore;

    let work = tempfile::tempdir()?;
    let api = photopro_api::local::LocalApi::start(work.path().join("api"), |_| {})?;
    let (base, store) = (api.base.clone(), api.store.clone());
    let token = api.device_token("Bench", None)?;

    let folder = work.path().join("sync/Wedding");
    std::fs::create_dir_all(&folder)?;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..files {
        let mut bytes = vec![0u8; mib << 20];
        for chunk in bytes.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        std::fs::write(folder.join(format!("IMG_{i:04}.jpg")), &bytes)?;
    }
    let total_mb = (files * mib) as f64 * 1.048576;

    let mut fs = DiskFs::new(work.path().join("sync"), work.path().join("trash"))
        .with_hash(HashKind::Sha256)
        .with_settle_time(Duration::ZERO);
    let mut remote = HttpRemote::new(&base, &token).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut merge_base = MemStore::default();
    let start = Instant::now();
    let report = Engine::new(EngineConfig::new("bench"), &mut merge_base, RealClock)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .sync_once(&mut fs, &mut remote)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ours = start.elapsed().as_secs_f64();
    if report.uploads != files {
        bail!("expected {files} uploads: {report:?}");
    }

    std::fs::rename(&folder, work.path().join("sync/Wedding 2026"))?;
    let sent_before = remote.bytes_sent;
    let start = Instant::now();
    let rename = Engine::new(EngineConfig::new("bench"), &mut merge_base, RealClock)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .sync_once(&mut fs, &mut remote)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rename_time = start.elapsed().as_secs_f64();

    println!(
        "upload of {files} × {mib} MiB ({total_mb:.0} MB) from a sync folder, loopback, one store:"
    );
    println!("  photopro sync (hash + reserve + presigned PUT + complete per file): {ours:.2} s, {:.0} MB/s", total_mb / ours);
    let source = work.path().join("sync/Wedding 2026");
    let mut rclone = Command::new("rclone");
    rclone
        .args(["copy", "--s3-no-check-bucket"])
        .arg(&source)
        .arg(format!("bench:{}/rclone", store.bucket))
        .env("RCLONE_CONFIG_BENCH_TYPE", "s3")
        .env("RCLONE_CONFIG_BENCH_PROVIDER", "Other")
        .env("RCLONE_CONFIG_BENCH_ACCESS_KEY_ID", &store.access_key_id)
        .env(
            "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY",
            &store.secret_access_key,
        )
        .env("RCLONE_CONFIG_BENCH_ENDPOINT", &store.endpoint)
        .env("RCLONE_CONFIG_BENCH_REGION", "us-east-1")
        .env("RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE", "true")
        .env_remove("AWS_CA_BUNDLE");
    let s5cmd = Command::new("s5cmd");
    for (name, mut command) in [("rclone copy", rclone), ("s5cmd cp", s5cmd)] {
        if name == "s5cmd cp" {
            command
                .arg("--endpoint-url")
                .arg(&store.endpoint)
                .args(["cp"])
                .arg(format!("{}/", source.display()))
                .arg(format!("s3://{}/s5cmd/", store.bucket))
                .env("AWS_ACCESS_KEY_ID", &store.access_key_id)
                .env("AWS_SECRET_ACCESS_KEY", &store.secret_access_key)
                .env("AWS_REGION", "us-east-1")
                .env_remove("AWS_CA_BUNDLE");
        }
        let start = Instant::now();
        match command.stdout(std::process::Stdio::null()).status() {
            Ok(status) if status.success() => {
                let t = start.elapsed().as_secs_f64();
                println!(
                    "  {name:<66} {t:.2} s, {:.0} MB/s  (photopro = {:.2}× its speed)",
                    total_mb / t,
                    t / ours
                );
            }
            other => {
                println!("  {name}: not run ({other:?}); install with scripts/setup.sh --bench")
            }
        }
    }
    println!(
        "rename of the {files}-file folder: {} move(s), {} bytes uploaded, {} downloaded, {:.0} ms",
        rename.moves,
        remote.bytes_sent - sent_before,
        rename.downloaded_bytes,
        rename_time * 1000.0
    );
    Ok(())
}

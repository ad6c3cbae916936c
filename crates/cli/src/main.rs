//! `photopro`: the command-line face of the library. Glue only — every
//! command is a few lines over `photopro-library` and `photopro-index`.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use photopro_index::{Index, Status};
use photopro_library::scan::{scan_library, ScanOptions, ScanProgress};
use photopro_library::{Config, DataDirs};
use std::path::{Path, PathBuf};

/// `println!` for everything the CLI prints: when standard output is closed
/// early (`photopro status | head -1`) the program ends quietly with status 0
/// — the reader got what it asked for — instead of panicking with "failed
/// printing to stdout: Broken pipe".
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::stdout_failed(error);
        }
    }};
}

mod remote_trash;
mod sync_cli;

/// Standard output failed: a closed pipe ends the program quietly (status 0);
/// anything else (a full disk behind a redirect) is an error.
fn stdout_failed(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("photopro: writing to standard output failed: {error}");
    std::process::exit(1);
}

#[derive(Parser)]
#[command(
    name = "photopro",
    version,
    about = "PhotoProOS Storage: index, scan and inspect your photo library"
)]
struct Cli {
    /// Keep the index, thumbnail cache and configuration in DIR instead of the platform directories.
    #[arg(long, global = true, value_name = "DIR", env = "PHOTOPRO_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage library roots (folders whose photos are indexed).
    #[command(subcommand)]
    Library(LibraryCommand),
    /// Index new and changed photos in every library (unchanged files are not re-read).
    Scan {
        /// Print the scan report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a folder: its subfolders with counts, then its files.
    Ls {
        /// Folder to list (default: every library root).
        folder: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Everything the index knows about one file.
    Info {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Totals, per-folder counts and per-file errors.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Full-text search over names, folders, tags and camera metadata.
    Search {
        query: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show or change settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Connect this device to PhotoProOS Storage (API URL; the device token comes
    /// from PHOTOPRO_TOKEN or --token-file and is kept in DATA_DIR/device-token, mode 0600).
    Connect {
        api_url: String,
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// Two-way sync of the sync folder with PhotoProOS Storage: a foreground
    /// daemon that watches the folder, or one pass with --once.
    Sync {
        #[arg(long)]
        once: bool,
        /// The folder to keep in sync (remembered; default: the remembered one).
        #[arg(long)]
        folder: Option<PathBuf>,
        /// Carry out deletions the mass-deletion guard is holding back.
        #[arg(long)]
        approve_deletions: bool,
    },
    /// Pause syncing (the daemon and the app honour it).
    Pause,
    /// Resume syncing.
    Resume,
    /// List conflicted copies in the sync folder, or resolve one.
    Conflicts {
        #[command(subcommand)]
        command: Option<ConflictsCommand>,
    },
    /// List the local sync trash, or restore an entry. With --remote: the
    /// server's trash (files deleted on any device), restorable in bulk.
    Trash {
        #[command(subcommand)]
        command: Option<TrashCommand>,
        /// The server's trash instead of this computer's sync trash.
        #[arg(long)]
        remote: bool,
        /// With --remote: restore these files (paths as listed, e.g. "Smith Wedding/IMG_1.jpg").
        #[arg(long, value_name = "PATH", num_args = 1.., requires = "remote")]
        restore: Vec<String>,
        /// With --remote: restore every file in the server's trash (or those --since / --folder select).
        #[arg(long, requires = "remote", conflicts_with = "restore")]
        restore_all: bool,
        /// With --remote: only files trashed since a date (2026-12-01) or an age (30m, 12h, 7d).
        #[arg(long, requires = "remote")]
        since: Option<String>,
        /// With --remote: only files from this folder (and below), e.g. "Smith Wedding".
        #[arg(long, requires = "remote")]
        folder: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConflictsCommand {
    /// Keep one version of a conflicted photo (the other goes to the trash),
    /// or keep both under plain names.
    Resolve {
        /// The conflicted copy's path below the sync folder, as `photopro conflicts` lists it.
        copy: String,
        #[arg(long, value_enum)]
        keep: Keep,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Keep {
    /// This computer's version.
    Mine,
    /// The other device's version.
    Theirs,
    /// Both versions, the copy under a plain name.
    Both,
}

#[derive(Subcommand)]
enum TrashCommand {
    /// Put a trashed file back where it was.
    Restore { id: String },
}

#[derive(Subcommand)]
enum LibraryCommand {
    /// Add a folder as a library root.
    Add { path: PathBuf },
    /// List library roots.
    List,
    /// Forget a library root (files on disk are not touched).
    Remove { path: PathBuf },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the configuration as JSON.
    Show,
    /// Sync camera RAW originals too (true/false).
    SyncRaw { value: bool },
    /// Skip files and folders whose names match GLOB (case-insensitive).
    AddSkip { glob: String },
    /// Index but never sync files whose names match GLOB.
    AddSyncExclude { glob: String },
    /// Number of media workers (0 = one per core).
    Workers { count: usize },
}

fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli) {
        eprintln!("photopro: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let dirs = DataDirs::resolve(cli.data_dir.as_deref())?;
    match cli.command {
        Command::Library(command) => library(&dirs, command),
        Command::Scan { json } => scan(&dirs, json),
        Command::Ls { folder, json } => ls(&dirs, folder.as_deref(), json),
        Command::Info { file, json } => info(&dirs, &file, json),
        Command::Status { json } => status(&dirs, json),
        Command::Search { query, limit } => search(&dirs, &query, limit),
        Command::Config(command) => config(&dirs, command),
        Command::Connect {
            api_url,
            token_file,
        } => sync_cli::connect(&dirs, &api_url, token_file.as_deref()),
        Command::Sync {
            once,
            folder,
            approve_deletions,
        } => sync_cli::sync(&dirs, once, folder.as_deref(), approve_deletions),
        Command::Pause => sync_cli::set_paused(&dirs, true),
        Command::Resume => sync_cli::set_paused(&dirs, false),
        Command::Conflicts { command } => sync_cli::conflicts(
            &dirs,
            command.map(|ConflictsCommand::Resolve { copy, keep }| {
                use photopro_sync::conflicts::Resolution;
                (
                    copy,
                    match keep {
                        Keep::Mine => Resolution::KeepMine,
                        Keep::Theirs => Resolution::KeepTheirs,
                        Keep::Both => Resolution::KeepBoth,
                    },
                )
            }),
        ),
        Command::Trash {
            command,
            remote: false,
            ..
        } => sync_cli::trash(&dirs, command.map(|TrashCommand::Restore { id }| id)),
        Command::Trash {
            remote: true,
            restore,
            restore_all,
            since,
            folder,
            ..
        } => sync_cli::remote_trash(&dirs, restore, restore_all, since.as_deref(), folder),
    }
}

fn open_index(dirs: &DataDirs) -> Result<Index> {
    Ok(Index::open(&dirs.index_path())?)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("cannot find {}", path.display()))
}

fn library(dirs: &DataDirs, command: LibraryCommand) -> Result<()> {
    let mut index = open_index(dirs)?;
    match command {
        LibraryCommand::Add { path } => {
            let root = absolute(&path)?;
            if !root.is_dir() {
                bail!("{} is not a folder", root.display());
            }
            index.add_library(&root)?;
            outln!(
                "Added library {}. Run `photopro scan` to index it.",
                root.display()
            );
        }
        LibraryCommand::List => {
            for library in index.libraries()? {
                outln!("{}", library.root.display());
            }
        }
        LibraryCommand::Remove { path } => {
            let root = absolute(&path).unwrap_or(path);
            let library = index.libraries()?.into_iter().find(|l| l.root == root);
            let Some(library) = library else {
                bail!("{} is not a library root", root.display())
            };
            index.remove_library(library.id)?;
            outln!(
                "Removed library {} from the index (no files were touched).",
                root.display()
            );
        }
    }
    Ok(())
}

fn scan(dirs: &DataDirs, json: bool) -> Result<()> {
    let mut index = open_index(dirs)?;
    let config = Config::load(&dirs.config_path())?;
    let options = ScanOptions::new(&config, dirs)?;
    let libraries = index.libraries()?;
    if libraries.is_empty() {
        bail!("no libraries yet: add one with `photopro library add FOLDER`");
    }
    let mut reports = Vec::new();
    let mut failed = false;
    for library in libraries {
        let bar = progress_bar(json);
        bar.set_prefix(library.root.display().to_string());
        let result = scan_library(&mut index, library.id, &options, &mut |p| {
            draw_progress(&bar, p)
        });
        bar.finish_and_clear();
        match result {
            Ok(report) => {
                if !json {
                    outln!(
                        "{}: {} files ({} unchanged, {} read, {}), {} removed, {} skipped, {} problems, {:.1} s",
                        library.root.display(),
                        report.files_seen,
                        report.unchanged,
                        report.processed,
                        human_bytes(report.processed_bytes),
                        report.removed,
                        report.skipped,
                        report.errors,
                        report.elapsed_ms as f64 / 1000.0
                    );
                }
                reports.push(serde_json::json!({ "library": library.root, "report": report }));
            }
            Err(error) => {
                failed = true;
                eprintln!(
                    "photopro: scanning {} failed: {error}",
                    library.root.display()
                );
                reports.push(
                    serde_json::json!({ "library": library.root, "error": error.to_string() }),
                );
            }
        }
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        let status = index.status()?;
        if status.errors > 0 {
            outln!(
                "{} files have problems; see `photopro status`.",
                status.errors
            );
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

fn progress_bar(quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {prefix:.bold} [{elapsed_precise}] {wide_bar} {msg}",
        )
        .expect("valid template"),
    );
    bar
}

fn draw_progress(bar: &indicatif::ProgressBar, p: &ScanProgress) {
    bar.set_length(p.queued_bytes.max(1));
    bar.set_position(p.processed_bytes);
    let seconds = p.elapsed.as_secs_f64().max(0.001);
    let rate = p.processed_bytes as f64 / seconds;
    let eta = if p.walk_done && rate > 0.0 {
        let left = p.queued_bytes.saturating_sub(p.processed_bytes) as f64 / rate;
        format!("ETA {}s", left.ceil() as u64)
    } else {
        "ETA …".to_string()
    };
    bar.set_message(format!(
        "{}/{} files, {} of {}, {}, {} unchanged, {eta}",
        p.processed,
        p.queued,
        human_bytes(p.processed_bytes),
        human_bytes(p.queued_bytes),
        photopro_wire::units::format_rate(rate),
        p.unchanged
    ));
}

fn ls(dirs: &DataDirs, folder: Option<&Path>, json: bool) -> Result<()> {
    let index = open_index(dirs)?;
    let targets: Vec<(PathBuf, photopro_index::FolderId)> = match folder {
        Some(folder) => {
            let path = absolute(folder)?;
            let (library, rel) = index.library_for_path(&path)?;
            let id = index.folder_id(library.id, &rel)?.with_context(|| {
                format!("{} is not indexed yet; run `photopro scan`", path.display())
            })?;
            vec![(path, id)]
        }
        None => {
            let mut roots = Vec::new();
            for library in index.libraries()? {
                if let Some(id) = index.folder_id(library.id, b"")? {
                    roots.push((library.root, id));
                }
            }
            roots
        }
    };
    let mut listing = Vec::new();
    for (path, id) in targets {
        let folders = index.list_child_folders(id)?;
        let files = index.list_assets(id)?;
        if !json {
            outln!("{}", path.display());
            for f in &folders {
                outln!(
                    "  {:<40} {:>6} photos here {:>7} files below {:>10}  {}",
                    format!("{}/", f.name),
                    f.photos,
                    f.files_total,
                    human_bytes(f.bytes_total),
                    f.first_taken
                        .as_deref()
                        .map(|t| &t[..10.min(t.len())])
                        .unwrap_or("")
                );
            }
            for a in &files {
                outln!(
                    "  {:<40} {:>10} {:>9}  {}{}",
                    a.name,
                    a.width
                        .zip(a.height)
                        .map(|(w, h)| format!("{w}×{h}"))
                        .unwrap_or_default(),
                    human_bytes(a.size),
                    a.taken_at_local.as_deref().unwrap_or(""),
                    a.error
                        .as_deref()
                        .map(|e| format!("  ⚠ {e}"))
                        .unwrap_or_default()
                );
            }
        }
        listing.push(serde_json::json!({ "path": path, "folders": folders, "files": files }));
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&listing)?);
    }
    Ok(())
}

fn info(dirs: &DataDirs, file: &Path, json: bool) -> Result<()> {
    let index = open_index(dirs)?;
    let path = absolute(file)?;
    let (library, rel) = index.library_for_path(&path)?;
    let (folder_rel, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(slash) => (rel[..slash].to_vec(), rel[slash + 1..].to_vec()),
        None => (Vec::new(), rel.clone()),
    };
    let details = index
        .folder_id(library.id, &folder_rel)?
        .map(|folder| index.asset_by_name(folder, &name))
        .transpose()?
        .flatten()
        .with_context(|| format!("{} is not indexed; run `photopro scan`", path.display()))?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&details)?);
        return Ok(());
    }
    let m = &details.media;
    let line = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            outln!("{label:>18}  {value}");
        }
    };
    line("path", Some(details.path.display().to_string()));
    line("kind", Some(details.kind.clone()));
    line(
        "size",
        Some(format!(
            "{} ({} bytes)",
            human_bytes(details.size),
            details.size
        )),
    );
    line("content hash", details.content_hash.clone());
    line(
        "file identity",
        details
            .inode
            .map(|i| format!("device {} inode {i}", details.device.unwrap_or(0))),
    );
    line(
        "sync",
        Some(if details.sync_excluded {
            "excluded (RAW or exclude pattern)".into()
        } else {
            "included".into()
        }),
    );
    line(
        "taken",
        m.taken_at_local
            .clone()
            .map(|t| match m.utc_offset_minutes {
                Some(o) => format!(
                    "{t} (UTC{}{:02}:{:02})",
                    if o < 0 { '-' } else { '+' },
                    o.abs() / 60,
                    o.abs() % 60
                ),
                None => format!("{t} (time zone unknown)"),
            }),
    );
    line(
        "camera",
        m.make
            .clone()
            .map(|make| format!("{make} {}", m.model.clone().unwrap_or_default())),
    );
    line("lens", m.lens.clone());
    line(
        "exposure",
        Some(
            [
                m.exposure.clone().map(|e| format!("{e} s")),
                m.f_number.map(|f| format!("f/{f:.1}")),
                m.iso.map(|i| format!("ISO {i}")),
                m.focal_length_mm.map(|f| format!("{f} mm")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("  "),
        )
        .filter(|s| !s.is_empty()),
    );
    line(
        "pixels",
        m.width
            .zip(m.height)
            .map(|(w, h)| format!("{w}×{h}, orientation {}", m.orientation.unwrap_or(1))),
    );
    line(
        "GPS",
        m.latitude
            .zip(m.longitude)
            .map(|(lat, lon)| match m.altitude {
                Some(alt) => format!("{lat:.6}, {lon:.6}, {alt:.1} m above sea level"),
                None => format!("{lat:.6}, {lon:.6}"),
            }),
    );
    line(
        "above take-off",
        m.relative_altitude.map(|a| format!("{a:.1} m")),
    );
    line(
        "tags",
        (!details.tags.is_empty()).then(|| details.tags.join(", ")),
    );
    line("thumbnail", Some(details.thumb_state.clone()));
    line(
        "problem",
        details.read_error.clone().or(details.media_error.clone()),
    );
    Ok(())
}

fn status(dirs: &DataDirs, json: bool) -> Result<()> {
    let index = open_index(dirs)?;
    let status: Status = index.status()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    for library in index.libraries()? {
        outln!("{}", library.root.display());
        for (path, files, bytes) in index.folder_counts(library.id)? {
            if files > 0 {
                let shown = path.strip_prefix(&library.root).unwrap_or(&path);
                let shown = if shown.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    shown
                };
                outln!(
                    "  {:<50} {:>7} files {:>10}",
                    shown.display(),
                    files,
                    human_bytes(bytes)
                );
            }
        }
    }
    outln!(
        "\n{} files ({} photos, {} RAW not synced by default) in {} folders ({} galleries), {}",
        status.assets,
        status.photos,
        status.raw_files,
        status.folders,
        status.galleries,
        human_bytes(status.bytes)
    );
    outln!(
        "{} with capture time, {} with GPS, {} thumbnails, {} photos without a thumbnail",
        status.with_exif_time,
        status.with_gps,
        status.thumbnails,
        status.without_thumbnail
    );
    if status.error_files.is_empty() {
        outln!("No problems.");
    } else {
        outln!("{} problems:", status.errors);
        for e in &status.error_files {
            outln!("  {}: {}", e.path, e.error);
        }
    }
    #[cfg(unix)]
    sync_cli::print_sync_status(dirs);
    Ok(())
}

fn search(dirs: &DataDirs, query: &str, limit: u32) -> Result<()> {
    let index = open_index(dirs)?;
    let ids = index
        .search(query, limit)
        .with_context(|| format!("search {query:?} failed (FTS5 syntax)"))?;
    for id in ids {
        if let Some(asset) = index.asset(id)? {
            outln!("{}", asset.path.display());
        }
    }
    Ok(())
}

fn config(dirs: &DataDirs, command: ConfigCommand) -> Result<()> {
    let path = dirs.config_path();
    let mut config = Config::load(&path)?;
    match command {
        ConfigCommand::Show => {
            outln!("{}", serde_json::to_string_pretty(&config)?);
            return Ok(());
        }
        ConfigCommand::SyncRaw { value } => config.sync_raw = value,
        ConfigCommand::AddSkip { glob } => config.skip_patterns.push(glob),
        ConfigCommand::AddSyncExclude { glob } => config.sync_exclude_patterns.push(glob),
        ConfigCommand::Workers { count } => config.workers = count,
    }
    // Validate before saving so a bad pattern never lands in the file.
    photopro_library::Filters::from_config(&config)?;
    config.save(&path)?;
    outln!("Saved {}", path.display());
    Ok(())
}

/// The one unit convention (binary, IEC symbols): see `photopro_wire::units`.
fn human_bytes(bytes: u64) -> String {
    photopro_wire::units::format_bytes(bytes)
}

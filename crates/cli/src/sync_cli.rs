//! `photopro connect | sync | pause | resume | conflicts | trash`: glue over
//! `photopro-sync` with the index as the merge-base store.

use anyhow::{bail, Context, Result};
use photopro_index::Index;
use photopro_library::{AppSettings, Config, DataDirs, Filters};
use photopro_sync::disk::{DiskFs, HashKind};
use photopro_sync::engine::{Clock, Engine, EngineConfig, IndexStore};
use photopro_sync::http::HttpRemote;
use photopro_sync::watch::{FolderWatch, Wake};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration)
    }
}

fn token_path(dirs: &DataDirs) -> PathBuf {
    dirs.config_path().with_file_name("device-token")
}

fn app_settings_path(dirs: &DataDirs) -> PathBuf {
    AppSettings::path_for(&dirs.config_path())
}

fn trash_dir(dirs: &DataDirs) -> PathBuf {
    dirs.index_path().with_file_name("sync-trash")
}

pub fn connect(dirs: &DataDirs, api_url: &str, token_file: Option<&Path>) -> Result<()> {
    let token = match token_file {
        Some(file) => std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?,
        None => std::env::var("PHOTOPRO_TOKEN").context("set PHOTOPRO_TOKEN or pass --token-file")?,
    };
    let token = token.trim();
    if token.is_empty() {
        bail!("the device token is empty");
    }
    let path = token_path(dirs);
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(&path)?;
        file.write_all(token.as_bytes())?;
    }
    let settings_path = app_settings_path(dirs);
    let mut settings = AppSettings::load(&settings_path)?;
    settings.api_url = Some(api_url.trim_end_matches('/').to_string());
    settings.save(&settings_path)?;
    println!("Connected to {api_url}. Token stored in {} (mode 0600).", path.display());
    Ok(())
}

pub fn set_paused(dirs: &DataDirs, paused: bool) -> Result<()> {
    let path = app_settings_path(dirs);
    let mut settings = AppSettings::load(&path)?;
    settings.paused = paused;
    settings.save(&path)?;
    println!("{}", if paused { "Sync paused." } else { "Sync resumed." });
    Ok(())
}

pub fn sync(dirs: &DataDirs, once: bool, folder: Option<&Path>, approve_deletions: bool) -> Result<()> {
    let config_path = dirs.config_path();
    let mut config = Config::load(&config_path)?;
    if let Some(folder) = folder {
        std::fs::create_dir_all(folder)?;
        config.sync_folder = Some(std::fs::canonicalize(folder)?);
        config.save(&config_path)?;
    }
    let Some(folder) = config.sync_folder.clone() else {
        bail!("no sync folder yet: run `photopro sync --folder DIR` once");
    };
    let settings = AppSettings::load(&app_settings_path(dirs))?;
    let api_url = settings.api_url.clone().context("not connected: run `photopro connect API_URL` first")?;
    let token = std::env::var("PHOTOPRO_TOKEN")
        .ok()
        .or_else(|| std::fs::read_to_string(token_path(dirs)).ok())
        .map(|t| t.trim().to_string())
        .context("no device token: run `photopro connect`")?;
    let filters = Filters::from_config(&config)?;
    let mut fs = DiskFs::new(&folder, trash_dir(dirs)).with_hash(HashKind::Sha256).with_skip(move |name| filters.skips(name.as_bytes()));
    let mut remote = HttpRemote::new(&api_url, &token)?.with_resume_dir(dirs.index_path().with_file_name("uploads-in-flight"));
    let mut index = Index::open(&dirs.index_path())?;
    let remote_key = index.ensure_remote("photoproos-storage", "photopro")?;
    let device = settings.device_name.clone().unwrap_or_else(|| hostname().unwrap_or_else(|| "this computer".into()));

    let mut watch = (!once).then(|| FolderWatch::new(&folder, Duration::from_millis(1500), Duration::from_secs(300)));
    if let Some(reason) = watch.as_ref().and_then(|w| w.degraded.clone()) {
        eprintln!("photopro: {reason}");
    }
    loop {
        if AppSettings::load(&app_settings_path(dirs))?.paused {
            println!("Paused — `photopro resume` to continue.");
        } else {
            let mut engine = Engine::new(EngineConfig::new(device.clone()), IndexStore::new(&mut index, remote_key), SystemClock)?;
            if approve_deletions {
                engine.approve_deletions();
            }
            let mut result = engine.sync_once(&mut fs, &mut remote);
            // With --once, files still being written are waited for (up to a
            // minute) rather than silently left behind.
            let mut waited = Duration::ZERO;
            while once && fs.unsettled > 0 && waited < Duration::from_secs(60) && result.as_ref().is_ok_and(|r| r.converged) {
                println!("Waiting for {} file(s) still being written…", fs.unsettled);
                std::thread::sleep(fs.settle_time());
                waited += fs.settle_time();
                result = match (result, engine.sync_once(&mut fs, &mut remote)) {
                    (Ok(mut so_far), Ok(next)) => {
                        so_far.merge(next);
                        Ok(so_far)
                    }
                    (_, next) => next,
                };
            }
            match result {
                Ok(report) => {
                    println!(
                        "{}: {} uploaded ({:.1} MB), {} downloaded ({:.1} MB), {} moved, {} deleted, {} conflicts{}",
                        if report.converged && fs.unsettled == 0 { "Up to date" } else { "Partly synced" },
                        report.uploads,
                        report.uploaded_bytes as f64 / 1e6,
                        report.downloads,
                        report.downloaded_bytes as f64 / 1e6,
                        report.moves,
                        report.deletions,
                        report.conflicts,
                        if report.retryable_failures > 0 { format!(", {} to retry", report.retryable_failures) } else { String::new() }
                    );
                    if fs.unsettled > 0 {
                        println!("{} file(s) are still being written; they sync once they stop changing.", fs.unsettled);
                    }
                    if report.storage_full {
                        println!("Storage full — files stay on this computer. Upgrade your plan to keep syncing.");
                    }
                    if report.deletions_awaiting_approval > 0 {
                        println!(
                            "Holding back {} deletions (mass-deletion guard). Run `photopro sync --once --approve-deletions` to carry them out.",
                            report.deletions_awaiting_approval
                        );
                    }
                    for skipped in &fs.skipped {
                        println!("Not synced (name is not valid UTF-8): {}", skipped.display());
                    }
                }
                Err(error) if once => return Err(error.into()),
                Err(error) => eprintln!("photopro: sync failed, will retry: {error}"),
            }
        }
        match watch.as_mut() {
            None => return Ok(()),
            Some(watch) => {
                let why = watch.wait();
                if why == Wake::Changed {
                    // Give files that just changed time to settle before looking.
                    std::thread::sleep(Duration::from_secs(2));
                }
            }
        }
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty())
}

pub fn conflicts(dirs: &DataDirs) -> Result<()> {
    let config = Config::load(&dirs.config_path())?;
    let folder = config.sync_folder.context("no sync folder yet")?;
    let mut found = Vec::new();
    let mut stack = vec![folder.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if entry.file_name().to_string_lossy().contains("(conflicted copy ") {
                found.push(path);
            }
        }
    }
    found.sort();
    if found.is_empty() {
        println!("No conflicted copies.");
    }
    for path in found {
        println!("{}", path.strip_prefix(&folder).unwrap_or(&path).display());
    }
    Ok(())
}

pub fn trash(dirs: &DataDirs, restore: Option<String>) -> Result<()> {
    let config = Config::load(&dirs.config_path())?;
    let folder = config.sync_folder.context("no sync folder yet")?;
    let fs = DiskFs::new(&folder, trash_dir(dirs));
    match restore {
        Some(id) => {
            let path = fs.restore(&id)?;
            println!("Restored {}", path.display());
        }
        None => {
            let entries = fs.trash_entries();
            if entries.is_empty() {
                println!("The sync trash is empty.");
            }
            for entry in entries {
                println!("{}  {}", entry.id, entry.original);
            }
        }
    }
    Ok(())
}

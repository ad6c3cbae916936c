//! `photopro connect | sync | pause | resume | conflicts | trash`: glue over
//! `photopro-sync` with the index as the merge-base store.

use anyhow::{bail, Context, Result};
use photopro_library::{AppSettings, Config, DataDirs, Filters};
use photopro_sync::conflicts::Resolution;
use photopro_sync::disk::DiskFs;
use photopro_sync::service::{PassSummary, Phase, ServiceConfig, ServiceEvent};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
        let folder = std::fs::canonicalize(folder)?;
        if let Some(old) = config.sync_folder.as_ref().filter(|old| **old != folder) {
            // What was agreed for the old folder means nothing for the new one
            // (it would read as every file deleted).
            let mut index = photopro_index::Index::open(&dirs.index_path())?;
            let forgotten = photopro_sync::service::forget_synced_state(&mut index)?;
            println!("Sync folder changed from {}; {forgotten} synced entries of the old folder forgotten (nothing deleted).", old.display());
        }
        config.sync_folder = Some(folder);
        config.save(&config_path)?;
    }
    let Some(folder) = config.sync_folder.clone() else {
        bail!("no sync folder yet: run `photopro sync --folder DIR` once");
    };
    let settings_path = app_settings_path(dirs);
    let settings = AppSettings::load(&settings_path)?;
    let api_url = settings.api_url.clone().context("not connected: run `photopro connect API_URL` first")?;
    let token = std::env::var("PHOTOPRO_TOKEN")
        .ok()
        .or_else(|| std::fs::read_to_string(token_path(dirs)).ok())
        .map(|t| t.trim().to_string())
        .context("no device token: run `photopro connect`")?;
    let filters = Filters::from_config(&config)?;
    let device = settings.device_name.clone().unwrap_or_else(|| hostname().unwrap_or_else(|| "this computer".into()));
    let state_dir = dirs.index_path().parent().context("index has a folder")?.to_path_buf();
    let mut service_config = ServiceConfig::new(folder, api_url, token, dirs.index_path(), state_dir, device);
    service_config.trash_dir = trash_dir(dirs);
    // Litter and partial files, RAW originals unless RAW sync is on, and the
    // user's keep-out-of-sync patterns: never uploaded, downloaded or deleted.
    service_config.skip = std::sync::Arc::new(move |name: &str| {
        let name = name.as_bytes();
        filters.skips(name) || filters.sync_excluded(name, photopro_media::FileKind::from_name(name))
    });
    service_config.upload_limit = settings.upload_limit_kib.map_or(0, |k| k as u64 * 1024);
    service_config.download_limit = settings.download_limit_kib.map_or(0, |k| k as u64 * 1024);
    service_config.paused = settings.paused;
    service_config.once = once;
    if once && settings.paused {
        println!("Paused — `photopro resume` to continue.");
        return Ok(());
    }

    // What the daemon says, as lines on stdout.
    let total = std::sync::Arc::new(std::sync::Mutex::new(PassSummary::default()));
    let last_line = std::sync::Mutex::new(String::new());
    let listener_total = total.clone();
    // The state a pass ends in is printed after its counts.
    let held: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let print_state = move |summary: &str| {
        let mut last = last_line.lock().unwrap();
        // A pass with nothing to move is not worth a line.
        if *last != summary && summary != "Syncing…" {
            println!("{summary}");
            *last = summary.to_string();
        }
    };
    let listener = move |event: &ServiceEvent| match event {
        ServiceEvent::PassFinished(pass) => {
            let mut total = listener_total.lock().unwrap();
            total.merge(pass);
            if !once && pass != &PassSummary::default() {
                println!("{}", counts(pass));
            }
            if let Some(summary) = held.lock().unwrap().take() {
                print_state(&summary);
            }
        }
        ServiceEvent::Status(status) => {
            if once && status.phase != Phase::Syncing && status.phase != Phase::Waiting {
                return;
            }
            match status.phase {
                // The states a pass ends in, reported just before its counts.
                Phase::UpToDate | Phase::Waiting | Phase::StorageFull | Phase::AwaitingApproval => {
                    *held.lock().unwrap() = Some(status.summary.clone())
                }
                _ => print_state(&status.summary),
            }
        }
    };
    let handle = photopro_sync::service::start(service_config, listener);
    if approve_deletions {
        handle.approve_deletions();
    }
    if once {
        let (status, result) = handle.finish();
        result?;
        let total = total.lock().unwrap().clone();
        report_once(&status, &total);
        return Ok(());
    }
    if let Some(reason) = handle.status().watch_degraded {
        eprintln!("photopro: {reason}");
    }
    // Follow `photopro pause` / `resume` from other terminals.
    let mut paused = settings.paused;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if handle.is_finished() {
            return handle.join().map_err(Into::into);
        }
        if let Ok(now) = AppSettings::load(&settings_path) {
            if now.paused != paused {
                paused = now.paused;
                if paused {
                    handle.pause()
                } else {
                    handle.resume()
                }
            }
        }
    }
}

fn counts(pass: &PassSummary) -> String {
    format!(
        "{} uploaded ({:.1} MB), {} downloaded ({:.1} MB), {} moved, {} deleted, {} conflicts{}",
        pass.uploads,
        pass.uploaded_bytes as f64 / 1e6,
        pass.downloads,
        pass.downloaded_bytes as f64 / 1e6,
        pass.moves,
        pass.deletions,
        pass.conflicts,
        if pass.retryable_failures > 0 { format!(", {} to retry", pass.retryable_failures) } else { String::new() }
    )
}

fn report_once(status: &photopro_sync::service::Status, total: &PassSummary) {
    let state = if status.phase == Phase::Stopped && status.unsettled == 0 && status.last_synced_at.is_some() {
        "Up to date"
    } else {
        "Partly synced"
    };
    println!("{state}: {}", counts(total));
    if status.unsettled > 0 {
        println!("{} file(s) are still being written; they sync once they stop changing.", status.unsettled);
    }
    if status.deletions_awaiting_approval > 0 {
        println!(
            "Holding back {} deletions (mass-deletion guard). Run `photopro sync --once --approve-deletions` to carry them out.",
            status.deletions_awaiting_approval
        );
    }
    if status.storage_full {
        println!("Storage full — files stay on this computer. Upgrade your plan to keep syncing.");
    }
    for skipped in &status.skipped {
        println!("Not synced (name is not valid UTF-8): {skipped}");
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty())
}

pub fn conflicts(dirs: &DataDirs, resolve: Option<(String, Resolution)>) -> Result<()> {
    let config = Config::load(&dirs.config_path())?;
    let folder = config.sync_folder.context("no sync folder yet")?;
    let settings = AppSettings::load(&app_settings_path(dirs))?;
    let device = settings.device_name.unwrap_or_else(|| hostname().unwrap_or_else(|| "this computer".into()));
    if let Some((copy, resolution)) = resolve {
        let kept = photopro_sync::conflicts::resolve(&folder, &trash_dir(dirs), &copy, &device, resolution)?;
        println!("Kept {}. The other version (if any) is in `photopro trash`; the next sync carries this to your other devices.", kept.display());
        return Ok(());
    }
    let found = photopro_sync::conflicts::list(&folder, &device);
    if found.is_empty() {
        println!("No conflicted copies.");
    }
    for conflict in found {
        println!("{}\t(copy of {}, {} version from {})", conflict.copy, conflict.original, if conflict.copy_is_mine { "this computer's" } else { "another device's" }, conflict.device);
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

//! `photopro connect | sync | pause | resume | conflicts | trash`: glue over
//! `photopro-sync` with the index as the merge-base store.

use anyhow::{bail, Context, Result};
use photopro_library::{AppSettings, Config, DataDirs};
use photopro_sync::conflicts::Resolution;
use photopro_sync::control::{self, ControlClient, Request};
use photopro_sync::disk::DiskFs;
use photopro_sync::lock::{Holder, LibraryLock};
use photopro_sync::service::{self, PassSummary, Phase, ServiceEvent};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn token_path(dirs: &DataDirs) -> PathBuf {
    dirs.config_path().with_file_name("device-token")
}

fn app_settings_path(dirs: &DataDirs) -> PathBuf {
    AppSettings::path_for(&dirs.config_path())
}

pub fn connect(dirs: &DataDirs, api_url: &str, token_file: Option<&Path>) -> Result<()> {
    let token =
        match token_file {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?,
            None => std::env::var("PHOTOPRO_TOKEN")
                .context("set PHOTOPRO_TOKEN or pass --token-file")?,
        };
    let token = token.trim();
    if token.is_empty() {
        bail!("the device token is empty");
    }
    let path = token_path(dirs);
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path)?;
        file.write_all(token.as_bytes())?;
    }
    let settings_path = app_settings_path(dirs);
    let mut settings = AppSettings::load(&settings_path)?;
    settings.api_url = Some(api_url.trim_end_matches('/').to_string());
    settings.save(&settings_path)?;
    let device = service::device(dirs, &settings)?;
    outln!(
        "Connected to {api_url} as \"{}\". Token stored in {} (mode 0600).",
        device.name,
        path.display()
    );
    Ok(())
}

pub fn set_paused(dirs: &DataDirs, paused: bool) -> Result<()> {
    let path = app_settings_path(dirs);
    let mut settings = AppSettings::load(&path)?;
    settings.paused = paused;
    settings.save(&path)?;
    // A running engine hears it at once (and the setting keeps it across restarts).
    let told = match control::connect(&service::state_dir(dirs)) {
        Some(mut engine) => Some(engine.request(if paused {
            Request::Pause
        } else {
            Request::Resume
        })?),
        None => None,
    };
    let what = if paused {
        "Sync paused"
    } else {
        "Sync resumed"
    };
    match told {
        Some(reply) => outln!("{what} (the running {} too).", engine_name(&reply.role)),
        None => outln!("{what}."),
    }
    Ok(())
}

fn engine_name(role: &str) -> &'static str {
    match role {
        "app" => "PhotoPro app",
        _ => "sync daemon",
    }
}

/// Another process runs the engine on this library and listens: ask it
/// instead of starting a second engine.
fn forward(
    mut engine: ControlClient,
    holder: &Holder,
    once: bool,
    folder: Option<&Path>,
    approve_deletions: bool,
) -> Result<()> {
    let status = engine
        .request(Request::Status)?
        .status
        .context("the running engine sent no status")?;
    if let Some(folder) = folder {
        let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
        if folder.display().to_string() != status.folder {
            bail!(
                "{holder} is syncing this library with {}; stop it before switching the sync folder to {}",
                status.folder,
                folder.display()
            );
        }
    }
    if !once && !approve_deletions {
        bail!(
            "{holder} already syncs this library ({}). One engine per library: `photopro sync --once` asks it for a pass, `photopro pause` / `resume` control it.",
            status.folder
        );
    }
    if approve_deletions {
        outln!("Approved the held-back deletions; {holder} carries them out now.");
    } else {
        outln!("{holder} syncs this library; asked it for a pass.");
    }
    let reply = engine.request(Request::SyncNow { approve_deletions })?;
    let status = reply.status.context("the running engine sent no status")?;
    if reply.paused || status.phase == Phase::Paused {
        outln!("Paused — `photopro resume` to continue.");
        return Ok(());
    }
    report_once(&status, &reply.pass.unwrap_or_default(), true);
    if let (Phase::Error | Phase::Offline, Some(error)) = (status.phase, &status.last_error) {
        bail!("the pass failed: {error}");
    }
    Ok(())
}

/// Take the library's lock, or hand the command to the engine that holds it.
/// `Ok(None)`: the command was carried out by the running engine.
fn lock_or_forward(
    state: &Path,
    once: bool,
    folder: Option<&Path>,
    approve_deletions: bool,
) -> Result<Option<LibraryLock>> {
    let started = Instant::now();
    let mut said_waiting = false;
    loop {
        match LibraryLock::try_acquire(state, if once { "once" } else { "daemon" })? {
            Ok(lock) => return Ok(Some(lock)),
            Err(holder) => {
                if let Some(engine) = control::connect(state) {
                    forward(engine, &holder, once, folder, approve_deletions)?;
                    return Ok(None);
                }
                // A `--once` run (it does not listen) or a daemon still
                // starting up: its pass ends soon; then this one runs.
                if !said_waiting && started.elapsed() > Duration::from_secs(2) {
                    eprintln!("photopro: waiting for {holder} to finish with this library…");
                    said_waiting = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// `photopro status`'s sync part: what the running engine (daemon or app)
/// says, every file it cannot sync and every file its last pass will retry,
/// each with its reason. Nothing when no engine runs on this library.
pub fn print_sync_status(dirs: &DataDirs) {
    let Some(mut engine) = control::connect(&service::state_dir(dirs)) else {
        return;
    };
    let Ok(reply) = engine.request(Request::Status) else {
        return;
    };
    let Some(status) = reply.status else {
        return;
    };
    outln!(
        "\nSync ({}, {}): {}",
        engine_name(&reply.role),
        status.folder,
        status.summary
    );
    for file in &status.cannot_sync {
        outln!("  can't sync {}: {}", file.path, file.reason);
    }
    if let Some(pass) = &status.last_report {
        for file in &pass.to_retry {
            outln!("  to retry {}: {}", file.path, file.reason);
        }
    }
    for file in &status.waiting_for {
        outln!("  waiting for {file} to finish writing");
    }
}

/// The API's address and this device's token, as `photopro connect` left them.
fn connection(dirs: &DataDirs) -> Result<(String, String)> {
    let settings = AppSettings::load(&app_settings_path(dirs))?;
    let api_url = settings
        .api_url
        .context("not connected: run `photopro connect API_URL` first")?;
    let token = std::env::var("PHOTOPRO_TOKEN")
        .ok()
        .or_else(|| std::fs::read_to_string(token_path(dirs)).ok())
        .map(|t| t.trim().to_string())
        .context("no device token: run `photopro connect`")?;
    Ok((api_url, token))
}

/// `photopro trash --remote …`: the server's trash (see `remote_trash`).
pub fn remote_trash(
    dirs: &DataDirs,
    restore: Vec<String>,
    restore_all: bool,
    since: Option<&str>,
    folder: Option<String>,
) -> Result<()> {
    let (api_url, token) = connection(dirs)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let filter = crate::remote_trash::Filter {
        since: since
            .map(|s| crate::remote_trash::parse_since(s, now))
            .transpose()?,
        folder,
    };
    let request =
        (restore_all || !restore.is_empty()).then_some(crate::remote_trash::RestoreRequest {
            paths: restore,
            all: restore_all,
        });
    crate::remote_trash::run(&api_url, &token, request, &filter)
}

pub fn sync(
    dirs: &DataDirs,
    once: bool,
    folder: Option<&Path>,
    approve_deletions: bool,
) -> Result<()> {
    let state = service::state_dir(dirs);
    let Some(_lock) = lock_or_forward(&state, once, folder, approve_deletions)? else {
        return Ok(());
    };
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
            outln!("Sync folder changed from {}; {forgotten} synced entries of the old folder forgotten (nothing deleted).", old.display());
        }
        config.sync_folder = Some(folder);
        config.save(&config_path)?;
    }
    if config.sync_folder.is_none() {
        bail!("no sync folder yet: run `photopro sync --folder DIR` once");
    }
    let settings_path = app_settings_path(dirs);
    let settings = AppSettings::load(&settings_path)?;
    let api_url = settings
        .api_url
        .clone()
        .context("not connected: run `photopro connect API_URL` first")?;
    let token = std::env::var("PHOTOPRO_TOKEN")
        .ok()
        .or_else(|| std::fs::read_to_string(token_path(dirs)).ok())
        .map(|t| t.trim().to_string())
        .context("no device token: run `photopro connect`")?;
    let mut service_config = service::service_config(dirs, &config, &settings, api_url, token)?;
    service_config.once = once;
    if once && settings.paused {
        outln!("Paused — `photopro resume` to continue.");
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
            outln!("{summary}");
            *last = summary.to_string();
        }
    };
    let listener = move |event: &ServiceEvent| match event {
        ServiceEvent::PassFinished(pass) => {
            let mut total = listener_total.lock().unwrap();
            total.merge(pass);
            if !once && pass != &PassSummary::default() {
                outln!("{}", counts(pass));
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
                // Say how to approve: this daemon takes it from another terminal.
                Phase::AwaitingApproval => *held.lock().unwrap() = Some(held_back(status, !once)),
                // The states a pass ends in, reported just before its counts.
                Phase::UpToDate | Phase::Waiting | Phase::StorageFull => {
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
        report_once(&status, &total, false);
        return Ok(());
    }
    // Other `photopro` commands on this library reach this daemon here.
    let _control = match control::serve(&state, "daemon", std::sync::Arc::new(handle.control())) {
        Ok(server) => Some(server),
        Err(error) => {
            eprintln!("photopro: other commands cannot reach this daemon: {error}");
            None
        }
    };
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

/// The mass-deletion guard's line, with the command that approves: with a
/// daemon running, `photopro sync --approve-deletions` (forwarded to it);
/// without one, a one-shot run that approves.
fn held_back(status: &photopro_sync::service::Status, daemon_running: bool) -> String {
    format!(
        "Holding back {} deletions {}. Run `{}` to carry them out.",
        status.deletions_awaiting_approval,
        photopro_sync::service::held_back_why(status),
        if daemon_running {
            "photopro sync --approve-deletions"
        } else {
            "photopro sync --once --approve-deletions"
        }
    )
}

/// How many files "N to retry" names before pointing at the rest.
const RETRY_NAMED: usize = 3;

fn counts(pass: &PassSummary) -> String {
    let mut line = format!(
        "{} uploaded ({}), {} downloaded ({}), {}{} moved, {} deleted, {} conflicts",
        pass.uploads,
        photopro_wire::units::format_bytes(pass.uploaded_bytes),
        pass.downloads,
        photopro_wire::units::format_bytes(pass.downloaded_bytes),
        if pass.restores > 0 {
            format!(
                "{} restored ({}), ",
                pass.restores,
                photopro_wire::units::format_bytes(pass.restored_bytes)
            )
        } else {
            String::new()
        },
        pass.moves,
        pass.deletions,
        pass.conflicts,
    );
    if pass.collisions > 0 {
        line.push_str(&format!(
            ", {} renamed (another file has the same name; both kept)",
            pass.collisions
        ));
    }
    if pass.retryable_failures > 0 {
        line.push_str(&format!(", {} to retry", pass.retryable_failures));
        let named: Vec<String> = pass
            .to_retry
            .iter()
            .take(RETRY_NAMED)
            .map(|file| format!("{} ({})", file.path, file.reason))
            .collect();
        if !named.is_empty() {
            line.push_str(&format!(": {}", named.join("; ")));
        }
        if pass.to_retry.len() > RETRY_NAMED {
            line.push_str(&format!(
                " and {} more (`photopro status` lists each with its reason)",
                pass.to_retry.len() - RETRY_NAMED
            ));
        }
    }
    line
}

/// The end of a `--once` run, or of a pass asked of a running daemon (`daemon_running`).
fn report_once(status: &photopro_sync::service::Status, total: &PassSummary, daemon_running: bool) {
    // A `--once` run ends stopped; a running daemon asked for a pass is up to date.
    let state = if matches!(status.phase, Phase::Stopped | Phase::UpToDate)
        && status.unsettled == 0
        && status.last_synced_at.is_some()
    {
        "Up to date"
    } else {
        "Partly synced"
    };
    outln!("{state}: {}", counts(total));
    if status.unsettled > 0 {
        outln!(
            "{} file(s) are still being written; they sync once they stop changing.",
            status.unsettled
        );
    }
    if status.deletions_awaiting_approval > 0 {
        outln!("{}", held_back(status, daemon_running));
    }
    if status.storage_full {
        outln!("Storage full — files stay on this computer. Upgrade your plan to keep syncing.");
    }
    for skipped in &status.skipped {
        outln!("Not synced (name is not valid UTF-8): {skipped}");
    }
    if !status.cannot_sync.is_empty() {
        outln!(
            "{} file{} can't sync:",
            status.cannot_sync.len(),
            if status.cannot_sync.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        for file in &status.cannot_sync {
            outln!("  {:?}: {}", file.path, file.reason);
        }
    }
}

pub fn conflicts(dirs: &DataDirs, resolve: Option<(String, Resolution)>) -> Result<()> {
    let config = Config::load(&dirs.config_path())?;
    let folder = config.sync_folder.context("no sync folder yet")?;
    let settings = AppSettings::load(&app_settings_path(dirs))?;
    let device = service::device(dirs, &settings)?;
    if let Some((copy, resolution)) = resolve {
        let kept = photopro_sync::conflicts::resolve(
            &folder,
            &service::trash_dir(dirs),
            &copy,
            &device,
            resolution,
        )?;
        outln!("Kept {}. The other version (if any) is in `photopro trash`; the next sync carries this to your other devices.", kept.display());
        return Ok(());
    }
    let found = photopro_sync::conflicts::list(&folder, &device);
    if found.is_empty() {
        outln!("No conflicted copies.");
    }
    for conflict in found {
        outln!(
            "{}\t(copy of {}, {} version from {})",
            conflict.copy,
            conflict.original,
            if conflict.copy_is_mine {
                "this computer's"
            } else {
                "another device's"
            },
            conflict.device
        );
    }
    Ok(())
}

pub fn trash(dirs: &DataDirs, restore: Option<String>) -> Result<()> {
    let config = Config::load(&dirs.config_path())?;
    let folder = config.sync_folder.context("no sync folder yet")?;
    let fs = DiskFs::new(&folder, service::trash_dir(dirs));
    match restore {
        Some(id) => {
            let path = fs.restore(&id)?;
            outln!("Restored {}", path.display());
        }
        None => {
            let entries = fs.trash_entries();
            if entries.is_empty() {
                outln!("The sync trash is empty.");
            }
            for entry in entries {
                outln!(
                    "{}  {}  (trashed {})",
                    entry.id,
                    entry.original,
                    crate::remote_trash::when(entry.trashed_at)
                );
            }
        }
    }
    Ok(())
}

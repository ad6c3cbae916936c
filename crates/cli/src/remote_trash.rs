//! `photopro trash --remote`: the server's trash (PhotoProOS Storage keeps a
//! deleted file restorable for its retention period), listed and restored in
//! bulk through the API's own endpoints (`GET /v1/assets`, `GET /v1/folders`,
//! `POST /v1/assets/{id}/restore`), called through `photopro_sync::account`,
//! the one client of those endpoints (the app uses it too).
//!
//! A restore never replaces anything: when a live file holds the trashed
//! file's name (an edited photo's old version is trashed under the name the
//! new one keeps), the trashed file is first renamed to a free
//! `name (restored).ext` and then restored, so both are kept. Each item's
//! outcome is printed on its own line.

use anyhow::{bail, Context, Result};
use photopro_sync::account::ApiClient;
use photopro_sync::names::{fit_name, name_key, split_extension, unique_name};
use photopro_wire as wire;
use std::collections::{HashMap, HashSet};

/// Ids as the API prints them (a UUID's text).
type Id = String;

/// What to restore from the server's trash.
pub struct RestoreRequest {
    /// Paths below the sync folder (`Smith Wedding/IMG_1.jpg`), as listed.
    pub paths: Vec<String>,
    pub all: bool,
}

/// Which trashed files a listing or a bulk restore covers.
#[derive(Default)]
pub struct Filter {
    /// Only files trashed at or after this Unix time.
    pub since: Option<i64>,
    /// Only files whose path starts with this folder (`Smith Wedding`).
    pub folder: Option<String>,
}

/// A trashed file and where it was.
struct Trashed {
    asset: wire::Asset,
    /// The folder's path below the root ("" for the root), as it is now.
    folder_path: String,
    /// Whether the folder is itself in the trash (the file then comes back at the root).
    folder_trashed: bool,
}

impl Trashed {
    fn path(&self) -> String {
        join(&self.folder_path, &self.asset.name)
    }
}

fn join(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{folder}/{name}")
    }
}

/// Everything on the server, sorted out: trashed files (newest first) and
/// the names live files and folders hold in each folder.
struct Listing {
    trashed: Vec<Trashed>,
    /// (folder id, name key) of every live file and folder.
    live_names: HashSet<(Option<Id>, String)>,
}

fn listing(client: &ApiClient) -> Result<Listing> {
    let folders = client.folders().map_err(api)?;
    let by_id: HashMap<Id, &wire::Folder> = folders.iter().map(|f| (f.id.to_string(), f)).collect();
    let path_of = |mut id: Option<Id>| -> (String, bool) {
        let mut names = Vec::new();
        let mut trashed = false;
        let mut guard = 0;
        while let Some(folder) = id.and_then(|id| by_id.get(&id)) {
            names.push(folder.name.clone());
            trashed |= folder.trashed_at.is_some();
            id = folder.parent_id.map(|p| p.to_string());
            guard += 1;
            if guard > 1000 {
                break;
            }
        }
        names.reverse();
        (names.join("/"), trashed)
    };
    let mut live_names = HashSet::new();
    for folder in folders.iter().filter(|f| f.trashed_at.is_none()) {
        live_names.insert((
            folder.parent_id.map(|i| i.to_string()),
            name_key(&folder.name),
        ));
    }
    let mut trashed = Vec::new();
    for asset in client.assets().map_err(api)? {
        if asset.trashed_at.is_none() {
            live_names.insert((
                asset.folder_id.map(|i| i.to_string()),
                name_key(&asset.name),
            ));
            continue;
        }
        let (folder_path, folder_trashed) = path_of(asset.folder_id.map(|i| i.to_string()));
        trashed.push(Trashed {
            asset,
            folder_path,
            folder_trashed,
        });
    }
    trashed.sort_by(|a, b| {
        b.asset
            .trashed_at
            .cmp(&a.asset.trashed_at)
            .then_with(|| a.path().cmp(&b.path()))
    });
    Ok(Listing {
        trashed,
        live_names,
    })
}

/// The API client's sentence, as is (it names the API and the reason).
fn api(error: photopro_sync::SyncError) -> anyhow::Error {
    anyhow::anyhow!("{}", error.reason())
}

fn selected(filter: &Filter, item: &Trashed) -> bool {
    let since = filter
        .since
        .is_none_or(|since| item.asset.trashed_at.unwrap_or(0) >= since);
    let folder = filter.folder.as_deref().is_none_or(|folder| {
        let folder = folder.trim_matches('/');
        folder.is_empty()
            || item.folder_path == folder
            || item.folder_path.starts_with(&format!("{folder}/"))
    });
    since && folder
}

/// "2026-12-05 03:12 UTC".
pub fn when(unix: i64) -> String {
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        photopro_sync::names::date_of(unix),
        seconds / 3600,
        (seconds % 3600) / 60
    )
}

/// `--since`: a date (`2026-12-01`, UTC midnight) or an age (`30m`, `12h`, `7d`).
pub fn parse_since(text: &str, now: i64) -> Result<i64> {
    let text = text.trim();
    let age = |unit: i64, digits: &str| -> Option<i64> {
        digits.parse::<i64>().ok().map(|n| now - n * unit)
    };
    let parsed = if let Some(d) = text.strip_suffix('d') {
        age(86_400, d)
    } else if let Some(h) = text.strip_suffix('h') {
        age(3_600, h)
    } else if let Some(m) = text.strip_suffix('m') {
        age(60, m)
    } else {
        let parts: Vec<i64> = text.split('-').filter_map(|p| p.parse().ok()).collect();
        match parts.as_slice() {
            [year, month, day] if (1..=12).contains(month) && (1..=31).contains(day) => {
                Some(days_from_civil(*year, *month, *day) * 86_400)
            }
            _ => None,
        }
    };
    parsed.with_context(|| {
        format!("--since {text:?}: give a date (2026-12-01) or an age (30m, 12h, 7d)")
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `photopro trash --remote [--restore PATH… | --restore-all] [--since …] [--folder …]`.
pub fn run(
    api_url: &str,
    token: &str,
    restore: Option<RestoreRequest>,
    filter: &Filter,
) -> Result<()> {
    let client =
        ApiClient::new(api_url, Some(token), std::time::Duration::from_secs(60)).map_err(api)?;
    let Listing {
        trashed,
        mut live_names,
    } = listing(&client)?;
    let Some(restore) = restore else {
        let shown: Vec<&Trashed> = trashed.iter().filter(|t| selected(filter, t)).collect();
        if shown.is_empty() {
            outln!(
                "The server's trash is empty{}.",
                if filter.since.is_some() || filter.folder.is_some() {
                    " (for this filter)"
                } else {
                    ""
                }
            );
            return Ok(());
        }
        outln!(
            "{} file{} in the server's trash (newest first):",
            shown.len(),
            if shown.len() == 1 { "" } else { "s" }
        );
        for item in &shown {
            outln!(
                "  {}\t{}\t{}\ttrashed {}{}",
                item.asset.name,
                if item.folder_path.is_empty() {
                    "/"
                } else {
                    item.folder_path.as_str()
                },
                crate::human_bytes(item.asset.size_bytes),
                when(item.asset.trashed_at.unwrap_or(0)),
                if item.folder_trashed {
                    " (its folder is in the trash too)"
                } else {
                    ""
                }
            );
        }
        outln!("Restore with `photopro trash --remote --restore PATH…` or `--restore-all`; the next sync brings them back to this computer.");
        return Ok(());
    };

    // The newest trashed file at each path asked for (or every selected one).
    let mut chosen: Vec<&Trashed> = Vec::new();
    let mut missing = Vec::new();
    if restore.all {
        chosen.extend(trashed.iter().filter(|t| selected(filter, t)));
    }
    for path in &restore.paths {
        let wanted = path.trim_matches('/');
        match trashed.iter().find(|t| t.path() == wanted) {
            Some(item) => {
                if !chosen.iter().any(|c| c.asset.id == item.asset.id) {
                    chosen.push(item)
                }
            }
            None => missing.push(wanted.to_string()),
        }
    }
    let mut restored = 0;
    let mut failed = 0;
    for path in &missing {
        outln!(
            "Not restored {path}: it is not in the server's trash (see `photopro trash --remote`)."
        );
        failed += 1;
    }
    for item in chosen {
        // A restored file whose folder is in the trash lands at the root.
        let folder = if item.folder_trashed {
            None
        } else {
            item.asset.folder_id.map(|i| i.to_string())
        };
        let mut name = item.asset.name.clone();
        let mut renamed = false;
        if live_names.contains(&(folder.clone(), name_key(&name))) {
            let (stem, extension) = split_extension(&item.asset.name);
            let aside = fit_name(stem, " (restored)", extension);
            name = unique_name(&aside, |n| {
                live_names.contains(&(folder.clone(), name_key(n)))
            });
            renamed = true;
        }
        let outcome = (|| -> Result<wire::Asset> {
            let id = item.asset.id.to_string();
            if renamed {
                client.rename_asset(&id, &name).map_err(api)?;
            }
            client.restore_asset(&id).map_err(api)
        })();
        match outcome {
            Ok(asset) => {
                live_names.insert((
                    asset.folder_id.map(|i| i.to_string()),
                    name_key(&asset.name),
                ));
                restored += 1;
                let shown_folder = if asset.folder_id.is_none() && item.asset.folder_id.is_some() {
                    String::new()
                } else {
                    item.folder_path.clone()
                };
                let now_at = join(&shown_folder, &asset.name);
                match (renamed, item.folder_trashed) {
                    (false, false) => outln!("Restored {}", item.path()),
                    (true, false) => outln!(
                        "Restored {} as {now_at} (a file named {} is there now; both are kept)",
                        item.path(),
                        item.asset.name
                    ),
                    (_, true) => outln!(
                        "Restored {} to {now_at} (its folder is in the trash)",
                        item.path()
                    ),
                }
            }
            Err(error) => {
                failed += 1;
                outln!("Not restored {}: {error:#}", item.path());
            }
        }
    }
    outln!(
        "{restored} restored{}. The next sync brings {} to this computer.",
        if failed > 0 {
            format!(", {failed} not restored")
        } else {
            String::new()
        },
        if restored == 1 { "it" } else { "them" }
    );
    if failed > 0 {
        bail!("{failed} file(s) were not restored");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_dates_and_ages() {
        let now = 1_764_115_200; // 2025-11-26 00:00 UTC
        assert_eq!(parse_since("2025-11-26", now).unwrap(), now);
        assert_eq!(parse_since("1970-01-02", now).unwrap(), 86_400);
        assert_eq!(parse_since("7d", now).unwrap(), now - 7 * 86_400);
        assert_eq!(parse_since("12h", now).unwrap(), now - 12 * 3_600);
        assert_eq!(parse_since("30m", now).unwrap(), now - 30 * 60);
        assert!(parse_since("yesterday", now).is_err());
        assert_eq!(when(now + 3_600 + 120), "2025-11-26 01:02 UTC");
    }
}

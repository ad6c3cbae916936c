//! Who a gallery is for, read from where it sits.
//!
//! A PhotoProOS organization describes how its shoots are filed as a list of
//! folder levels, outermost first (`photopro_wire::OrganizationSettings::
//! organization_rules`): `[ByClient]` files a shoot as `Smith, John / Gallery`,
//! `[ByDate, ByClient]` as `2025 / January / Smith, John / Gallery`. When
//! the rules contain a client level, the folder at that depth below a library
//! root names the client of everything beneath it. That is the only source of
//! a client name: nothing is guessed from folder names, and without a client
//! level no folder has a client.
//!
//! A [`Custom`](OrganizationLevel::Custom) level counts as one folder per
//! `/`-separated part of its pattern and is a client level when its pattern is
//! exactly `{client}`.

use crate::Result;
use photopro_wire::{OrganizationLevel, OrganizationSettings};
use serde::Serialize;
use std::path::Path;

/// How many folders a level spans (`ByDate` is `2025 / January`).
fn depth_of(level: &OrganizationLevel) -> usize {
    match level {
        OrganizationLevel::ByDate => 2,
        OrganizationLevel::Custom(pattern) => pattern
            .split('/')
            .filter(|p| !p.trim().is_empty())
            .count()
            .max(1),
        _ => 1,
    }
}

fn is_client(level: &OrganizationLevel) -> bool {
    match level {
        OrganizationLevel::ByClient => true,
        OrganizationLevel::Custom(pattern) => pattern.trim() == "{client}",
        _ => false,
    }
}

/// The 0-based depth below the library root of the client folder, if the rules have one.
pub fn client_depth(rules: &[OrganizationLevel]) -> Option<usize> {
    let mut depth = 0;
    for level in rules {
        if is_client(level) {
            return Some(depth);
        }
        depth += depth_of(level);
    }
    None
}

/// What a folder card says about its client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "role", content = "name", rename_all = "snake_case")]
pub enum ClientRole {
    /// The folder is a client's folder (its name is the client).
    Client,
    /// The folder is filed under this client.
    Of(String),
}

/// The client of the folder at `rel_path` ('/'-separated, below the library
/// root, "" for the root) under `rules`; `None` when the rules have no client
/// level or the folder sits above it.
pub fn client_of(rel_path: &str, rules: &[OrganizationLevel]) -> Option<ClientRole> {
    let depth = client_depth(rules)?;
    let parts: Vec<&str> = rel_path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.len() {
        n if n == depth + 1 => Some(ClientRole::Client),
        n if n > depth + 1 => Some(ClientRole::Of(parts[depth].to_string())),
        _ => None,
    }
}

/// The organization's rules as last read from the API, kept next to the index
/// so cards show clients offline too. A missing file is "no rules known".
pub fn load_rules(path: &Path) -> Result<Vec<OrganizationLevel>> {
    let cached: Option<OrganizationSettings> = crate::json_file::load_or_default(path)?;
    Ok(cached.map(|s| s.organization_rules).unwrap_or_default())
}

pub fn save_rules(path: &Path, settings: &OrganizationSettings) -> Result<()> {
    crate::json_file::save_atomic(path, &Some(settings.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrganizationLevel::*;

    #[test]
    fn the_client_is_the_folder_at_the_client_level() {
        let rules = [ByClient];
        assert_eq!(client_of("", &rules), None);
        assert_eq!(client_of("Smith, John", &rules), Some(ClientRole::Client));
        assert_eq!(
            client_of("Smith, John/Smith Wedding", &rules),
            Some(ClientRole::Of("Smith, John".into()))
        );
        assert_eq!(
            client_of("Smith, John/Smith Wedding/Selects", &rules),
            Some(ClientRole::Of("Smith, John".into()))
        );
    }

    #[test]
    fn levels_before_the_client_shift_it_down() {
        // 2025 / January / Smith, John / Gallery
        let rules = [ByDate, ByClient, ByPropertyType];
        assert_eq!(client_depth(&rules), Some(2));
        assert_eq!(client_of("2025/January", &rules), None);
        assert_eq!(
            client_of("2025/January/Smith, John/Residential", &rules),
            Some(ClientRole::Of("Smith, John".into()))
        );
        let custom = [Custom("{year}/{month}".into()), Custom("{client}".into())];
        assert_eq!(client_depth(&custom), Some(2));
    }

    #[test]
    fn without_a_client_level_nothing_has_a_client() {
        assert_eq!(client_of("Smith, John/Smith Wedding", &[ByDate]), None);
        assert_eq!(client_of("Smith, John/Smith Wedding", &[]), None);
        assert_eq!(
            client_of("a/b/c", &[Custom("{client} - {year}".into())]),
            None,
            "a mixed pattern is not a plain client name"
        );
    }

    #[test]
    fn rules_are_cached_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("organization.json");
        assert!(load_rules(&path).unwrap().is_empty());
        let settings = OrganizationSettings {
            organization_rules: vec![ByMonth, ByClient],
            ..Default::default()
        };
        save_rules(&path, &settings).unwrap();
        assert_eq!(load_rules(&path).unwrap(), vec![ByMonth, ByClient]);
    }
}

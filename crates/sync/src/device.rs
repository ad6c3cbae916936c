//! Who this device is: a UUID made once per library (`device.json` beside
//! `config.json`, shared by the CLI and the app) and the name it signs
//! conflicted copies with.
//!
//! Two computers often carry the same host name (a studio's two iMacs, two
//! laptops set up from one image). Conflicted copies are named after the
//! device that made them (`IMG_1 (conflicted copy 2026-12-05 from Studio
//! (3f2a)).jpg`), and "mine" versus "theirs" is decided from that name — so
//! the default name is the host name plus a short suffix of the device's own
//! id, distinct between devices without any registry to consult, and
//! [`DeviceIdentity::made`] answers for the device's id: its current name and
//! every name it used before. A name the user chose (the app's pairing
//! screen, `device_name` in `app.json`) replaces the default.

use crate::SyncError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The identity file's name, beside `config.json`.
pub const DEVICE_FILE: &str = "device.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    /// Made once, never changes.
    pub id: Uuid,
    /// The name in conflicted-copy names.
    pub name: String,
    /// Names this device used before (the user renamed it, the host name
    /// changed): copies made under them are still this device's.
    #[serde(default)]
    pub former_names: Vec<String>,
}

/// This computer's host name, if it has one. `PHOTOPRO_HOSTNAME` overrides it
/// (tests play two computers with one host name).
pub fn hostname() -> Option<String> {
    let clean = |h: String| Some(h.trim().to_string()).filter(|h| !h.is_empty());
    if let Some(name) = std::env::var("PHOTOPRO_HOSTNAME").ok().and_then(clean) {
        return Some(name);
    }
    #[cfg(unix)]
    {
        let mut buffer = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
        if rc == 0 {
            let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
            if let Some(name) = clean(String::from_utf8_lossy(&buffer[..end]).into_owned()) {
                return Some(name);
            }
        }
    }
    #[cfg(windows)]
    {
        if let Some(name) = std::env::var("COMPUTERNAME").ok().and_then(clean) {
            return Some(name);
        }
    }
    std::env::var("HOSTNAME").ok().and_then(clean)
}

/// The default name of device `id` on a computer called `hostname`:
/// `Studio (3f2a)`. The suffix is the id's first four hex digits, so two
/// computers with one host name get different names.
pub fn default_name(hostname: Option<&str>, id: &Uuid) -> String {
    let host = hostname
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .unwrap_or("This computer");
    let short = &id.simple().to_string()[..4];
    format!("{host} ({short})")
}

impl DeviceIdentity {
    /// Where the identity of the library whose `config.json` is `config_path` lives.
    pub fn path_for(config_path: &Path) -> PathBuf {
        config_path.with_file_name(DEVICE_FILE)
    }

    /// Read the identity, making it on first use. `chosen` is the name the
    /// user gave this device, if any (it replaces the current name, which is
    /// kept among the former ones).
    pub fn load_or_create(path: &Path, chosen: Option<&str>) -> Result<DeviceIdentity, SyncError> {
        let chosen = chosen.map(str::trim).filter(|n| !n.is_empty());
        let existing = match std::fs::read(path) {
            Ok(bytes) => Some(
                serde_json::from_slice::<DeviceIdentity>(&bytes).map_err(|e| {
                    SyncError::Io(format!(
                        "{} is damaged ({e}); move it aside and this device gets a new identity",
                        path.display()
                    ))
                })?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(SyncError::Io(format!("reading {}: {e}", path.display()))),
        };
        let mut identity = match existing {
            Some(identity) => identity,
            None => {
                let id = Uuid::new_v4();
                DeviceIdentity {
                    id,
                    name: default_name(hostname().as_deref(), &id),
                    former_names: Vec::new(),
                }
            }
        };
        let mut changed = !path.exists();
        if let Some(chosen) = chosen.filter(|c| *c != identity.name) {
            let old = std::mem::replace(&mut identity.name, chosen.to_string());
            identity.former_names.retain(|n| n != chosen);
            if !identity.former_names.contains(&old) {
                identity.former_names.push(old);
            }
            changed = true;
        }
        if changed {
            identity.save(path)?;
        }
        Ok(identity)
    }

    fn save(&self, path: &Path) -> Result<(), SyncError> {
        let io = |e: std::io::Error| SyncError::Io(format!("writing {}: {e}", path.display()));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let temp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| SyncError::Io(e.to_string()))?;
        std::fs::write(&temp, bytes).map_err(io)?;
        std::fs::rename(&temp, path).map_err(io)
    }

    /// Whether a conflicted copy signed `device` was made here — holds this
    /// device's version.
    pub fn made(&self, device: &str) -> bool {
        self.name == device || self.former_names.iter().any(|n| n == device)
    }

    /// An identity that exists only in memory (tests, previews).
    pub fn named(name: &str) -> DeviceIdentity {
        DeviceIdentity {
            id: Uuid::new_v4(),
            name: name.to_string(),
            former_names: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_host_name_two_devices_two_names() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (name_a, name_b) = (
            default_name(Some("Studio"), &a),
            default_name(Some("Studio"), &b),
        );
        assert!(name_a.starts_with("Studio (") && name_a.ends_with(')'));
        assert_ne!(name_a, name_b);
        assert_eq!(name_a, default_name(Some("Studio"), &a), "stable");
        assert!(default_name(None, &a).starts_with("This computer ("));
        // The name reads back out of a conflicted copy's name.
        let copy = crate::names::conflicted_copy_name("IMG_1.jpg", "2026-12-05", &name_a);
        let (_, _, device) = crate::conflicts::parse_copy_name(&copy).unwrap();
        assert_eq!(device, name_a);
    }

    #[test]
    fn the_identity_is_made_once_and_remembers_its_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEVICE_FILE);
        let first = DeviceIdentity::load_or_create(&path, None).unwrap();
        let again = DeviceIdentity::load_or_create(&path, None).unwrap();
        assert_eq!(first, again);
        let renamed = DeviceIdentity::load_or_create(&path, Some("Studio Mac")).unwrap();
        assert_eq!(renamed.id, first.id);
        assert_eq!(renamed.name, "Studio Mac");
        assert!(renamed.made("Studio Mac") && renamed.made(&first.name));
        assert!(!renamed.made("Laptop"));
        assert_eq!(
            DeviceIdentity::load_or_create(&path, None).unwrap(),
            renamed
        );
        std::fs::write(&path, b"{ half").unwrap();
        let damaged = DeviceIdentity::load_or_create(&path, None).unwrap_err();
        assert!(damaged.to_string().contains("device.json"), "{damaged}");
    }
}

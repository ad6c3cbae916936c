//! Named behaviours of the engine on the in-memory file system and remote.

use photopro_sync::engine::{Engine, EngineConfig, SyncReport};
use photopro_sync::memory::{FixedClock, MemFs, MemRemote, MemStore};
use photopro_sync::model::Kind;

const NOV_26_2026: i64 = 1_795_651_200;

struct Device {
    fs: MemFs,
    store: MemStore,
    name: &'static str,
}

impl Device {
    fn new(name: &'static str) -> Device {
        Device { fs: MemFs::new(), store: MemStore::default(), name }
    }

    fn sync(&mut self, remote: &mut MemRemote) -> SyncReport {
        self.sync_with(remote, |_| {})
    }

    fn sync_with(&mut self, remote: &mut MemRemote, configure: impl FnOnce(&mut EngineConfig)) -> SyncReport {
        let mut config = EngineConfig::new(self.name);
        configure(&mut config);
        let mut engine = Engine::new(config, &mut self.store, FixedClock(NOV_26_2026)).unwrap();
        let report = engine.sync_once(&mut self.fs, remote).unwrap();
        assert!(report.converged || report.deletions_awaiting_approval > 0 || report.storage_full, "{report:?}");
        report
    }
}

fn shoot(device: &mut Device, folder: &str, photos: usize) -> u64 {
    let dir = device.fs.user_create_dir(None, folder).unwrap();
    for i in 0..photos {
        device.fs.user_create_file(Some(dir), &format!("IMG_{i:04}.jpg"), &format!("{folder}-{i}")).unwrap();
    }
    dir
}

#[test]
fn renaming_a_folder_of_1000_photos_is_one_metadata_operation() {
    let mut remote = MemRemote::new();
    let mut studio = Device::new("Studio");
    let mut laptop = Device::new("Laptop");
    let folder = shoot(&mut studio, "Smith Residence", 1000);
    let first = studio.sync(&mut remote);
    assert_eq!(first.uploads, 1000);
    laptop.sync(&mut remote);
    let uploaded_before = remote.uploaded_bytes;

    assert!(studio.fs.user_rename(folder, None, "2026-11 Smith Residence"));
    let rename = studio.sync(&mut remote);
    assert_eq!((rename.moves, rename.uploads, rename.downloads), (1, 0, 0));
    assert_eq!(remote.uploaded_bytes, uploaded_before, "zero bytes uploaded");

    let follow = laptop.sync(&mut remote);
    assert_eq!((follow.moves, follow.downloads, follow.downloaded_bytes), (1, 0, 0));
    assert!(laptop.fs.listing().contains_key("2026-11 Smith Residence/IMG_0999.jpg"));
    assert_eq!(laptop.fs.listing(), remote.listing());
}

#[test]
fn concurrent_edits_keep_both_versions_with_a_conflicted_copy() {
    let mut remote = MemRemote::new();
    let mut studio = Device::new("Studio Mac");
    let mut laptop = Device::new("Laptop");
    let id = studio.fs.user_create_file(None, "cover.jpg", "original").unwrap();
    studio.sync(&mut remote);
    laptop.sync(&mut remote);
    let laptop_id = laptop.fs.ids()[0].0;

    studio.fs.user_modify(id, "studio edit");
    laptop.fs.user_modify(laptop_id, "laptop edit");
    studio.sync(&mut remote);
    let report = laptop.sync(&mut remote);
    assert_eq!(report.conflicts, 1);
    studio.sync(&mut remote);

    let listing = remote.listing();
    assert_eq!(listing["cover.jpg"].as_deref(), Some("studio edit"));
    assert_eq!(listing["cover (conflicted copy 2026-11-26 from Laptop).jpg"].as_deref(), Some("laptop edit"));
    assert_eq!(studio.fs.listing(), listing);
    assert_eq!(laptop.fs.listing(), listing);
    assert!(remote.trash.contains(&"original".to_string()), "the replaced version is in the trash");
}

#[test]
fn identical_edits_on_both_sides_are_not_a_conflict() {
    let mut remote = MemRemote::new();
    let mut a = Device::new("A");
    let mut b = Device::new("B");
    let id = a.fs.user_create_file(None, "x.jpg", "v1").unwrap();
    a.sync(&mut remote);
    b.sync(&mut remote);
    let b_id = b.fs.ids()[0].0;
    a.fs.user_modify(id, "same");
    b.fs.user_modify(b_id, "same");
    a.sync(&mut remote);
    let report = b.sync(&mut remote);
    assert_eq!((report.conflicts, report.uploads, report.downloads), (0, 0, 0));
    assert_eq!(remote.listing().len(), 1);
}

#[test]
fn deletions_go_to_the_trash_on_the_other_side() {
    let mut remote = MemRemote::new();
    let mut a = Device::new("A");
    let mut b = Device::new("B");
    let id = a.fs.user_create_file(None, "reject.jpg", "blurry").unwrap();
    a.sync(&mut remote);
    b.sync(&mut remote);
    a.fs.user_delete(id);
    a.sync(&mut remote);
    assert!(remote.listing().is_empty());
    assert_eq!(remote.trash, vec!["blurry".to_string()]);
    b.sync(&mut remote);
    assert!(b.fs.listing().is_empty());
    assert_eq!(b.fs.trash, vec!["blurry".to_string()], "recoverable from the local trash");
}

#[test]
fn a_remote_edit_wins_over_a_local_deletion() {
    let mut remote = MemRemote::new();
    let mut a = Device::new("A");
    let mut b = Device::new("B");
    let id = a.fs.user_create_file(None, "keep.jpg", "v1").unwrap();
    a.sync(&mut remote);
    b.sync(&mut remote);
    let b_id = b.fs.ids()[0].0;
    b.fs.user_modify(b_id, "v2");
    b.sync(&mut remote);
    a.fs.user_delete(id);
    a.sync(&mut remote);
    assert_eq!(remote.listing()["keep.jpg"].as_deref(), Some("v2"), "the edit is not thrown away");
    assert_eq!(a.fs.listing()["keep.jpg"].as_deref(), Some("v2"));
}

#[test]
fn mass_deletion_pauses_until_approved() {
    let mut remote = MemRemote::new();
    let mut a = Device::new("A");
    let folder = shoot(&mut a, "Wedding", 120);
    a.sync(&mut remote);
    a.fs.user_delete(folder);
    let held = a.sync(&mut remote);
    assert_eq!(held.deletions_awaiting_approval, 120);
    assert_eq!(held.deletions, 0);
    assert_eq!(remote.listing().len(), 121, "nothing deleted remotely yet");

    let mut config = EngineConfig::new("A");
    config.max_deletions = 50;
    let mut engine = Engine::new(config, &mut a.store, FixedClock(NOV_26_2026)).unwrap();
    engine.approve_deletions();
    let approved = engine.sync_once(&mut a.fs, &mut remote).unwrap();
    assert_eq!(approved.deletions, 121);
    assert!(remote.listing().is_empty());
    assert_eq!(remote.trash.len(), 120);
}

#[test]
fn storage_full_keeps_files_local_raises_one_state_and_resumes_when_space_appears() {
    let mut remote = MemRemote::new();
    remote.limit_bytes = Some(20);
    let mut a = Device::new("A");
    a.fs.user_create_file(None, "small.jpg", "0123456789").unwrap();
    a.fs.user_create_file(None, "big.jpg", "0123456789abcdefghij").unwrap();
    let full = a.sync(&mut remote);
    assert!(full.storage_full);
    assert_eq!(full.uploads, 1);
    assert!(full.rounds <= 3, "no retry storm: {full:?}");
    assert_eq!(a.fs.listing().len(), 2, "the file stays local");

    remote.limit_bytes = Some(1000);
    let resumed = a.sync(&mut remote);
    assert!(!resumed.storage_full && resumed.converged);
    assert_eq!(resumed.uploads, 1);
    assert_eq!(remote.listing(), a.fs.listing());
}

#[test]
fn case_and_unicode_lookalikes_are_resolved_once_and_never_ping_pong() {
    let mut remote = MemRemote::new();
    let mut linux = Device::new("Linux");
    let mut mac = Device::new("Mac");
    linux.fs.user_create_file(None, "Photo.JPG", "one").unwrap();
    linux.fs.user_create_file(None, "photo.jpg", "two").unwrap();
    linux.fs.user_create_file(None, "Caf\u{e9}.jpg", "nfc").unwrap();
    mac.fs.user_create_file(None, "Cafe\u{301}.jpg", "nfd").unwrap();
    for _ in 0..3 {
        linux.sync(&mut remote);
        mac.sync(&mut remote);
    }
    let listing = remote.listing();
    assert_eq!(listing.len(), 4);
    assert_eq!(listing["Photo.JPG"].as_deref(), Some("one"));
    assert_eq!(listing["photo (case conflict).jpg"].as_deref(), Some("two"));
    assert_eq!(linux.fs.listing(), listing);
    assert_eq!(mac.fs.listing(), listing);
    // Quiet afterwards: nothing left to do on either side.
    assert_eq!(linux.sync(&mut remote).rounds, 1);
    assert_eq!(mac.sync(&mut remote).rounds, 1);
}

#[test]
fn new_folders_and_files_from_another_client_arrive() {
    let mut remote = MemRemote::new();
    remote.other_client_upload(None, "from-phone.jpg", "phone");
    let mut a = Device::new("A");
    let report = a.sync(&mut remote);
    assert_eq!(report.downloads, 1);
    assert_eq!(a.fs.listing()["from-phone.jpg"].as_deref(), Some("phone"));
    assert!(a.fs.ids().iter().all(|(_, kind)| *kind == Kind::File));
}

#[test]
fn transient_failures_back_off_and_then_succeed() {
    use photopro_sync::memory::Faults;
    use std::cell::RefCell;
    use std::time::Duration;

    /// A clock that records how long the engine asked to wait.
    struct RecordingClock(RefCell<Vec<Duration>>);
    impl photopro_sync::engine::Clock for &RecordingClock {
        fn now_unix(&self) -> i64 {
            NOV_26_2026
        }
        fn sleep(&self, duration: Duration) {
            self.0.borrow_mut().push(duration);
        }
    }

    let mut remote = MemRemote::new();
    // Every other call answers 503 with Retry-After: 1 s.
    remote.faults = Faults::seeded(3, 0.0, 0.5, 0.0, 0.0);
    let mut a = Device::new("A");
    for i in 0..5 {
        a.fs.user_create_file(None, &format!("IMG_{i}.jpg"), &format!("photo {i}")).unwrap();
    }
    let clock = RecordingClock(RefCell::new(Vec::new()));
    let mut engine = Engine::new(EngineConfig::new("A"), &mut a.store, &clock).unwrap();
    let report = engine.sync_once(&mut a.fs, &mut remote).unwrap();
    assert!(report.converged, "{report:?}");
    assert_eq!(report.uploads, 5);
    let waits = clock.0.borrow();
    assert!(!waits.is_empty() && report.retryable_failures > 0);
    assert!(waits.iter().all(|w| *w >= Duration::from_millis(1000)), "Retry-After honoured: {waits:?}");
}

#[test]
fn keeping_one_version_by_moving_it_over_the_other_carries_over_without_invented_names() {
    let mut remote = MemRemote::new();
    let mut studio = Device::new("Studio");
    let mut laptop = Device::new("Laptop");
    let dir = studio.fs.user_create_dir(None, "Smith Wedding").unwrap();
    let original = studio.fs.user_create_file(Some(dir), "IMG_0001.jpg", "original").unwrap();
    let copy = studio.fs.user_create_file(Some(dir), "IMG_0001 (conflicted copy 2026-11-26 from Laptop).jpg", "laptop edit").unwrap();
    studio.sync(&mut remote);
    laptop.sync(&mut remote);

    // The studio keeps the laptop's version: the copy moves over the original.
    assert!(studio.fs.user_move_over(copy, original));
    let keep = studio.sync(&mut remote);
    assert_eq!((keep.uploads, keep.moves, keep.deletions), (0, 1, 1), "{keep:?}");
    let follow = laptop.sync(&mut remote);
    assert_eq!((follow.downloads, follow.moves, follow.deletions), (0, 1, 1), "{follow:?}");
    let expected: std::collections::BTreeMap<String, Option<String>> = [
        ("Smith Wedding".to_string(), None),
        ("Smith Wedding/IMG_0001.jpg".to_string(), Some("laptop edit".to_string())),
    ]
    .into();
    assert_eq!(studio.fs.listing(), expected);
    assert_eq!(laptop.fs.listing(), expected);
    assert_eq!(laptop.fs.trash, vec!["original".to_string()], "the other version is in the trash");
}

#[test]
fn ignored_names_are_neither_transferred_nor_deleted_on_either_side() {
    use std::sync::Arc;
    fn raw(name: &str) -> bool {
        name.to_ascii_lowercase().ends_with(".nef")
    }
    let mut remote = MemRemote::new();
    let mut studio = Device::new("Studio");
    let dir = studio.fs.user_create_dir(None, "Smith Wedding").unwrap();
    studio.fs.user_create_file(Some(dir), "DSC_0001.NEF", "raw original").unwrap();
    let jpeg = studio.fs.user_create_file(Some(dir), "DSC_0001.jpg", "edited jpeg").unwrap();
    remote.other_client_upload(None, "from-the-web.NEF", "raw from the web").unwrap();
    let sync = |device: &mut Device, remote: &mut MemRemote, ignore: Option<Arc<dyn Fn(&str) -> bool + Send + Sync>>| {
        let mut engine = Engine::new(EngineConfig::new(device.name), &mut device.store, FixedClock(NOV_26_2026)).unwrap();
        if let Some(ignore) = ignore {
            engine = engine.with_ignore(ignore);
        }
        let report = engine.sync_once(&mut device.fs, remote).unwrap();
        assert!(report.converged, "{report:?}");
        report
    };
    let first = sync(&mut studio, &mut remote, Some(Arc::new(raw)));
    assert_eq!((first.uploads, first.downloads, first.deletions), (1, 0, 0), "{first:?}");
    assert!(remote.listing().contains_key("from-the-web.NEF"), "the remote RAW is left alone");
    assert!(!remote.listing().contains_key("Smith Wedding/DSC_0001.NEF"), "the local RAW is not uploaded");
    assert!(studio.fs.listing().contains_key("Smith Wedding/DSC_0001.NEF"));

    // Excluding a file that was synced forgets it; nothing is deleted anywhere.
    let later = sync(&mut studio, &mut remote, Some(Arc::new(|name: &str| raw(name) || name.ends_with(".jpg"))));
    assert_eq!((later.uploads, later.downloads, later.deletions), (0, 0, 0), "{later:?}");
    assert!(remote.listing().contains_key("Smith Wedding/DSC_0001.jpg"));
    assert_eq!(studio.fs.content(jpeg), Some("edited jpeg"));
}

#[test]
fn a_cancel_ends_the_run_at_the_next_step_even_while_backing_off() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    /// A clock whose first backoff wait is when the user quits.
    struct QuitWhileWaiting(Arc<AtomicBool>, Arc<AtomicUsize>);
    impl photopro_sync::engine::Clock for QuitWhileWaiting {
        fn now_unix(&self) -> i64 {
            NOV_26_2026
        }
        fn sleep(&self, _: std::time::Duration) {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let mut remote = MemRemote::new();
    // Every call fails with a 5xx: without a cancel the engine would back off 40 times.
    remote.faults = photopro_sync::memory::Faults::seeded(7, 0.0, 1.0, 0.0, 0.0);
    let mut studio = Device::new("Studio");
    shoot(&mut studio, "Smith Wedding", 3);
    let (cancel, sleeps) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let mut engine = Engine::new(EngineConfig::new("Studio"), &mut studio.store, QuitWhileWaiting(cancel.clone(), sleeps.clone()))
        .unwrap()
        .with_cancel(cancel);
    let report = engine.sync_once(&mut studio.fs, &mut remote).unwrap();
    assert!(!report.converged);
    assert_eq!((report.rounds, sleeps.load(Ordering::SeqCst)), (1, 1), "one round, one wait step, then stop: {report:?}");
}

//! Named behaviours of the engine on the in-memory file system and remote.

use photopro_sync::engine::{Engine, EngineConfig, SyncReport};
use photopro_sync::memory::{FixedClock, MemFs, MemRemote, MemStore};
use photopro_sync::model::Kind;
use photopro_sync::names::nfc;
use photopro_sync::LocalFs;
use std::collections::BTreeMap;

/// A listing with names in NFC, as the remote stores them: a Mac's `Cafe\u{301}`
/// and the remote's `Café` are the same file.
fn nfc_listing(listing: BTreeMap<String, Option<String>>) -> BTreeMap<String, Option<String>> {
    listing.into_iter().map(|(k, v)| (nfc(&k), v)).collect()
}

fn id_of(fs: &mut MemFs, path: &str) -> u64 {
    let tree = fs.snapshot().unwrap();
    *tree
        .nodes
        .keys()
        .find(|id| tree.path(**id).as_deref() == Some(path))
        .unwrap_or_else(|| panic!("{path} not found"))
}

const NOV_26_2026: i64 = 1_795_651_200;

struct Device {
    fs: MemFs,
    store: MemStore,
    name: &'static str,
}

impl Device {
    fn new(name: &'static str) -> Device {
        Device {
            fs: MemFs::new(),
            store: MemStore::default(),
            name,
        }
    }

    fn sync(&mut self, remote: &mut MemRemote) -> SyncReport {
        self.sync_with(remote, |_| {})
    }

    fn sync_with(
        &mut self,
        remote: &mut MemRemote,
        configure: impl FnOnce(&mut EngineConfig),
    ) -> SyncReport {
        let mut config = EngineConfig::new(self.name);
        configure(&mut config);
        let mut engine = Engine::new(config, &mut self.store, FixedClock(NOV_26_2026)).unwrap();
        let report = engine.sync_once(&mut self.fs, remote).unwrap();
        assert!(
            report.converged || report.deletions_awaiting_approval > 0 || report.storage_full,
            "{report:?}"
        );
        report
    }
}

fn shoot(device: &mut Device, folder: &str, photos: usize) -> u64 {
    let dir = device.fs.user_create_dir(None, folder).unwrap();
    for i in 0..photos {
        device
            .fs
            .user_create_file(
                Some(dir),
                &format!("IMG_{i:04}.jpg"),
                &format!("{folder}-{i}"),
            )
            .unwrap();
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

    assert!(studio
        .fs
        .user_rename(folder, None, "2026-11 Smith Residence"));
    let rename = studio.sync(&mut remote);
    assert_eq!((rename.moves, rename.uploads, rename.downloads), (1, 0, 0));
    assert_eq!(
        remote.uploaded_bytes, uploaded_before,
        "zero bytes uploaded"
    );

    let follow = laptop.sync(&mut remote);
    assert_eq!(
        (follow.moves, follow.downloads, follow.downloaded_bytes),
        (1, 0, 0)
    );
    assert!(laptop
        .fs
        .listing()
        .contains_key("2026-11 Smith Residence/IMG_0999.jpg"));
    assert_eq!(laptop.fs.listing(), remote.listing());
}

#[test]
fn concurrent_edits_keep_both_versions_with_a_conflicted_copy() {
    let mut remote = MemRemote::new();
    let mut studio = Device::new("Studio Mac");
    let mut laptop = Device::new("Laptop");
    let id = studio
        .fs
        .user_create_file(None, "cover.jpg", "original")
        .unwrap();
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
    assert_eq!(
        listing["cover (conflicted copy 2026-11-26 from Laptop).jpg"].as_deref(),
        Some("laptop edit")
    );
    assert_eq!(studio.fs.listing(), listing);
    assert_eq!(laptop.fs.listing(), listing);
    assert!(
        remote.trash.contains(&"original".to_string()),
        "the replaced version is in the trash"
    );
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
    assert_eq!(
        (report.conflicts, report.uploads, report.downloads),
        (0, 0, 0)
    );
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
    assert_eq!(
        b.fs.trash,
        vec!["blurry".to_string()],
        "recoverable from the local trash"
    );
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
    assert_eq!(
        remote.listing()["keep.jpg"].as_deref(),
        Some("v2"),
        "the edit is not thrown away"
    );
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
    assert_eq!(
        approved.deletions, 120,
        "files, as announced: the folder is not counted"
    );
    assert!(remote.listing().is_empty());
    assert_eq!(remote.trash.len(), 120);
}

#[test]
fn storage_full_keeps_files_local_raises_one_state_and_resumes_when_space_appears() {
    let mut remote = MemRemote::new();
    remote.limit_bytes = Some(20);
    let mut a = Device::new("A");
    a.fs.user_create_file(None, "small.jpg", "0123456789")
        .unwrap();
    a.fs.user_create_file(None, "big.jpg", "0123456789abcdefghij")
        .unwrap();
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
    linux
        .fs
        .user_create_file(None, "Caf\u{e9}.jpg", "nfc")
        .unwrap();
    mac.fs
        .user_create_file(None, "Cafe\u{301}.jpg", "nfd")
        .unwrap();
    for _ in 0..3 {
        linux.sync(&mut remote);
        mac.sync(&mut remote);
    }
    let listing = remote.listing();
    assert_eq!(listing.len(), 4);
    assert_eq!(listing["Photo.JPG"].as_deref(), Some("one"));
    assert_eq!(listing["photo (case conflict).jpg"].as_deref(), Some("two"));
    assert_eq!(nfc_listing(linux.fs.listing()), listing);
    assert_eq!(nfc_listing(mac.fs.listing()), listing);
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
        a.fs.user_create_file(None, &format!("IMG_{i}.jpg"), &format!("photo {i}"))
            .unwrap();
    }
    let clock = RecordingClock(RefCell::new(Vec::new()));
    let mut engine = Engine::new(EngineConfig::new("A"), &mut a.store, &clock).unwrap();
    let report = engine.sync_once(&mut a.fs, &mut remote).unwrap();
    assert!(report.converged, "{report:?}");
    assert_eq!(report.uploads, 5);
    let waits = clock.0.borrow();
    assert!(!waits.is_empty() && report.retryable_failures > 0);
    assert!(
        waits.iter().all(|w| *w >= Duration::from_millis(1000)),
        "Retry-After honoured: {waits:?}"
    );
}

/// A file put back from the sync trash goes up as a restore (its content is
/// in the remote's trash: nothing sent), not as "0 uploaded".
#[test]
fn a_file_put_back_from_the_trash_is_a_restore() {
    let mut remote = MemRemote::new();
    let mut a = Device::new("A");
    a.fs.user_create_file(None, "IMG_1.jpg", "wedding").unwrap();
    assert_eq!(a.sync(&mut remote).uploads, 1);
    let id = id_of(&mut a.fs, "IMG_1.jpg");
    a.fs.user_delete(id);
    assert_eq!(a.sync(&mut remote).deletions, 1);
    a.fs.user_create_file(None, "IMG_1.jpg", "wedding").unwrap();
    let report = a.sync(&mut remote);
    assert_eq!(
        (report.restores, report.uploads, report.uploaded_bytes),
        (1, 0, 0),
        "{report:?}"
    );
    assert_eq!(remote.listing()["IMG_1.jpg"].as_deref(), Some("wedding"));
}

/// "N to retry" names the files and why (issue 10 item 11): before, a pass
/// said only "5 to retry".
#[test]
fn the_files_to_retry_are_named_with_their_reason() {
    use photopro_sync::memory::Faults;
    let mut remote = MemRemote::new();
    // The server answers 503 to every change for now.
    remote.faults = Faults::seeded(3, 0.0, 1.0, 0.0, 0.0);
    let mut a = Device::new("A");
    let shoot = a.fs.user_create_dir(None, "Smith Wedding").unwrap();
    for i in 0..2 {
        a.fs.user_create_file(Some(shoot), &format!("IMG_{i}.jpg"), &format!("photo {i}"))
            .unwrap();
    }
    let mut config = EngineConfig::new("A");
    config.max_rounds = 3;
    let mut engine = Engine::new(config, &mut a.store, FixedClock(NOV_26_2026)).unwrap();
    let report = engine.sync_once(&mut a.fs, &mut remote).unwrap();
    assert!(
        !report.converged && report.retryable_failures > 0,
        "{report:?}"
    );
    // The folder could not be created: that is what is retried, with the server's answer.
    let paths: Vec<&str> = report.to_retry.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["Smith Wedding"], "{report:?}");
    assert!(
        report.to_retry[0].reason.contains("503"),
        "{:?}",
        report.to_retry
    );

    // Once the folder exists, the photos themselves are named.
    remote.faults = Faults::none();
    let mut config = EngineConfig::new("A");
    config.max_rounds = 1;
    Engine::new(config, &mut a.store, FixedClock(NOV_26_2026))
        .unwrap()
        .sync_once(&mut a.fs, &mut remote)
        .unwrap();
    remote.faults = Faults::seeded(3, 0.0, 1.0, 0.0, 0.0);
    let mut config = EngineConfig::new("A");
    config.max_rounds = 2;
    let report = Engine::new(config, &mut a.store, FixedClock(NOV_26_2026))
        .unwrap()
        .sync_once(&mut a.fs, &mut remote)
        .unwrap();
    let paths: Vec<&str> = report.to_retry.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["Smith Wedding/IMG_0.jpg", "Smith Wedding/IMG_1.jpg"],
        "each file once, however many rounds failed: {report:?}"
    );
    // The pass summary counts files, not attempts ("2 to retry", not 4).
    assert!(report.retryable_failures > 2);
    #[cfg(unix)]
    {
        let summary = photopro_sync::service::PassSummary::from(&report);
        assert_eq!(summary.retryable_failures, 2);
        assert_eq!(summary.to_retry, report.to_retry);
    }
}

#[test]
fn keeping_one_version_by_moving_it_over_the_other_carries_over_without_invented_names() {
    let mut remote = MemRemote::new();
    let mut studio = Device::new("Studio");
    let mut laptop = Device::new("Laptop");
    let dir = studio.fs.user_create_dir(None, "Smith Wedding").unwrap();
    let original = studio
        .fs
        .user_create_file(Some(dir), "IMG_0001.jpg", "original")
        .unwrap();
    let copy = studio
        .fs
        .user_create_file(
            Some(dir),
            "IMG_0001 (conflicted copy 2026-11-26 from Laptop).jpg",
            "laptop edit",
        )
        .unwrap();
    studio.sync(&mut remote);
    laptop.sync(&mut remote);

    // The studio keeps the laptop's version: the copy moves over the original.
    assert!(studio.fs.user_move_over(copy, original));
    let keep = studio.sync(&mut remote);
    assert_eq!(
        (keep.uploads, keep.moves, keep.deletions),
        (0, 1, 1),
        "{keep:?}"
    );
    let follow = laptop.sync(&mut remote);
    assert_eq!(
        (follow.downloads, follow.moves, follow.deletions),
        (0, 1, 1),
        "{follow:?}"
    );
    let expected: std::collections::BTreeMap<String, Option<String>> = [
        ("Smith Wedding".to_string(), None),
        (
            "Smith Wedding/IMG_0001.jpg".to_string(),
            Some("laptop edit".to_string()),
        ),
    ]
    .into();
    assert_eq!(studio.fs.listing(), expected);
    assert_eq!(laptop.fs.listing(), expected);
    assert_eq!(
        laptop.fs.trash,
        vec!["original".to_string()],
        "the other version is in the trash"
    );
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
    studio
        .fs
        .user_create_file(Some(dir), "DSC_0001.NEF", "raw original")
        .unwrap();
    let jpeg = studio
        .fs
        .user_create_file(Some(dir), "DSC_0001.jpg", "edited jpeg")
        .unwrap();
    remote
        .other_client_upload(None, "from-the-web.NEF", "raw from the web")
        .unwrap();
    let sync = |device: &mut Device,
                remote: &mut MemRemote,
                ignore: Option<photopro_sync::engine::Ignore>| {
        let mut engine = Engine::new(
            EngineConfig::new(device.name),
            &mut device.store,
            FixedClock(NOV_26_2026),
        )
        .unwrap();
        if let Some(ignore) = ignore {
            engine = engine.with_ignore(ignore);
        }
        let report = engine.sync_once(&mut device.fs, remote).unwrap();
        assert!(report.converged, "{report:?}");
        report
    };
    let first = sync(&mut studio, &mut remote, Some(Arc::new(raw)));
    assert_eq!(
        (first.uploads, first.downloads, first.deletions),
        (1, 0, 0),
        "{first:?}"
    );
    assert!(
        remote.listing().contains_key("from-the-web.NEF"),
        "the remote RAW is left alone"
    );
    assert!(
        !remote.listing().contains_key("Smith Wedding/DSC_0001.NEF"),
        "the local RAW is not uploaded"
    );
    assert!(studio
        .fs
        .listing()
        .contains_key("Smith Wedding/DSC_0001.NEF"));

    // Excluding a file that was synced forgets it; nothing is deleted anywhere.
    let later = sync(
        &mut studio,
        &mut remote,
        Some(Arc::new(|name: &str| raw(name) || name.ends_with(".jpg"))),
    );
    assert_eq!(
        (later.uploads, later.downloads, later.deletions),
        (0, 0, 0),
        "{later:?}"
    );
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
    let (cancel, sleeps) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut engine = Engine::new(
        EngineConfig::new("Studio"),
        &mut studio.store,
        QuitWhileWaiting(cancel.clone(), sleeps.clone()),
    )
    .unwrap()
    .with_cancel(cancel);
    let report = engine.sync_once(&mut studio.fs, &mut remote).unwrap();
    assert!(!report.converged);
    assert_eq!(
        (report.rounds, sleeps.load(Ordering::SeqCst)),
        (1, 1),
        "one round, one wait step, then stop: {report:?}"
    );
}

#[test]
fn swaps_and_cycles_of_renames_end_with_the_renamed_names_on_every_device() {
    // (files, renames in order on one device); each file's content is its first name.
    type Case = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );
    let cases: &[Case] = &[
        // The swap of issue 10: a → tmp, b → a, tmp → b.
        (
            &["a.jpg", "b.jpg"],
            &[
                ("a.jpg", "tmp.jpg"),
                ("b.jpg", "a.jpg"),
                ("tmp.jpg", "b.jpg"),
            ],
        ),
        // A cycle of three.
        (
            &["a.jpg", "b.jpg", "c.jpg"],
            &[
                ("a.jpg", "t.jpg"),
                ("c.jpg", "a.jpg"),
                ("b.jpg", "c.jpg"),
                ("t.jpg", "b.jpg"),
            ],
        ),
        // A chain onto a name being vacated (no cycle): b → c, a → b.
        (
            &["a.jpg", "b.jpg"],
            &[("b.jpg", "c.jpg"), ("a.jpg", "b.jpg")],
        ),
        // Two swaps at once, and a bystander.
        (
            &["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"],
            &[
                ("a.jpg", "x.jpg"),
                ("b.jpg", "a.jpg"),
                ("x.jpg", "b.jpg"),
                ("c.jpg", "y.jpg"),
                ("d.jpg", "c.jpg"),
                ("y.jpg", "d.jpg"),
            ],
        ),
    ];
    for (files, renames) in cases {
        let mut remote = MemRemote::new();
        let mut one = Device::new("One");
        let mut two = Device::new("Two");
        for file in *files {
            one.fs.user_create_file(None, file, file).unwrap();
        }
        one.sync(&mut remote);
        two.sync(&mut remote);
        for (from, to) in *renames {
            let id = id_of(&mut one.fs, from);
            assert!(one.fs.user_rename(id, None, to), "{from} -> {to}");
        }
        let wanted = one.fs.listing();
        for _ in 0..2 {
            let report = one.sync(&mut remote);
            assert_eq!(report.conflicts, 0, "{renames:?}: {report:?}");
            two.sync(&mut remote);
        }
        assert_eq!(remote.listing(), wanted, "{renames:?}");
        assert_eq!(two.fs.listing(), wanted, "{renames:?}");
        assert_eq!(one.fs.listing(), wanted, "{renames:?}");
        assert!(
            remote.uploads.values().all(|n| *n == 1),
            "nothing re-uploaded"
        );
        assert_eq!(one.sync(&mut remote).rounds, 1);
        assert_eq!(two.sync(&mut remote).rounds, 1);
    }
}

#[test]
fn folders_nested_into_each_other_on_two_devices_after_a_swap_settle_on_the_remote_arrangement() {
    // Simulation seed 6998: the studio swaps two galleries' names and puts one
    // inside the other under the name the outer one now has; meanwhile the
    // laptop files the outer one inside the inner one. Locally the folder must
    // leave its parent for the name that parent holds: it used to fail every
    // pass ("cannot move to Twilight"), never settling.
    let mut remote = MemRemote::new();
    let mut studio = Device::new("Studio");
    let mut laptop = Device::new("Laptop");
    let smith = studio.fs.user_create_dir(None, "smith").unwrap();
    let twilight = studio.fs.user_create_dir(None, "Twilight").unwrap();
    studio
        .fs
        .user_create_file(Some(smith), "s.jpg", "smith photo")
        .unwrap();
    studio
        .fs
        .user_create_file(Some(twilight), "t.jpg", "twilight photo")
        .unwrap();
    studio.sync(&mut remote);
    laptop.sync(&mut remote);

    let laptop_smith = id_of(&mut laptop.fs, "smith");
    let laptop_twilight = id_of(&mut laptop.fs, "Twilight");
    assert!(laptop
        .fs
        .user_rename(laptop_smith, Some(laptop_twilight), "Jones"));
    laptop.sync(&mut remote);

    assert!(studio.fs.user_rename(smith, None, "tmp"));
    assert!(studio.fs.user_rename(twilight, None, "smith"));
    assert!(studio.fs.user_rename(smith, None, "Twilight"));
    assert!(studio.fs.user_rename(twilight, Some(smith), "Twilight"));
    for _ in 0..3 {
        studio.sync(&mut remote);
        laptop.sync(&mut remote);
    }
    let settled = studio.sync(&mut remote);
    assert_eq!(
        (settled.rounds, settled.retryable_failures),
        (1, 0),
        "{settled:?}"
    );
    assert_eq!(studio.fs.listing(), remote.listing());
    assert_eq!(laptop.fs.listing(), remote.listing());
    let contents: Vec<String> = remote.listing().into_values().flatten().collect();
    assert!(
        contents.iter().any(|c| c == "smith photo")
            && contents.iter().any(|c| c == "twilight photo"),
        "both galleries' photos kept: {:?}",
        remote.listing()
    );
    assert!(
        !remote.listing().keys().any(|p| p.contains("(renaming)")),
        "no temporary name reached the remote: {:?}",
        remote.listing()
    );
}

#[test]
fn a_decomposed_name_syncs_once_and_stays_quiet() {
    let mut remote = MemRemote::new();
    let mut mac = Device::new("Mac");
    let mut linux = Device::new("Linux");
    mac.fs
        .user_create_file(None, "Cafe\u{301}.jpg", "espresso")
        .unwrap();
    let first = mac.sync(&mut remote);
    assert_eq!((first.uploads, first.moves), (1, 0), "{first:?}");
    // Stored in NFC, and the Mac's NFD spelling is no rename.
    assert_eq!(remote.listing().keys().next().unwrap(), "Caf\u{e9}.jpg");
    for _ in 0..3 {
        let again = mac.sync(&mut remote);
        assert_eq!((again.rounds, again.moves), (1, 0), "{again:?}");
    }
    linux.sync(&mut remote);
    assert_eq!(linux.fs.listing(), remote.listing());
    // A real rename of the decomposed file still travels.
    let id = id_of(&mut mac.fs, "Cafe\u{301}.jpg");
    assert!(mac.fs.user_rename(id, None, "Cafe\u{301} crema.jpg"));
    assert_eq!(mac.sync(&mut remote).moves, 1);
    linux.sync(&mut remote);
    assert!(linux.fs.listing().contains_key("Caf\u{e9} crema.jpg"));
}

#[test]
fn a_conflict_on_a_255_byte_name_keeps_both_versions_under_a_name_that_fits() {
    let mut remote = MemRemote::new();
    let mut one = Device::new("Studio");
    let mut two = Device::new("Laptop");
    let long = format!("{}.jpg", "é".repeat(125)); // 254 bytes
    one.fs.user_create_file(None, &long, "v1").unwrap();
    one.sync(&mut remote);
    two.sync(&mut remote);
    let a = id_of(&mut one.fs, &long);
    one.fs.user_modify(a, "one's edit");
    let b = id_of(&mut two.fs, &long);
    two.fs.user_modify(b, "two's edit");
    one.sync(&mut remote);
    let report = two.sync(&mut remote);
    assert_eq!(report.conflicts, 1, "{report:?}");
    assert_eq!(report.retryable_failures, 0, "{report:?}");
    one.sync(&mut remote);
    let listing = remote.listing();
    assert_eq!(listing.len(), 2, "{listing:?}");
    assert_eq!(listing[&long].as_deref(), Some("one's edit"));
    let (copy, content) = listing.iter().find(|(k, _)| **k != long).unwrap();
    assert!(
        copy.len() <= 255 && copy.ends_with(" from Laptop).jpg"),
        "{copy}"
    );
    assert_eq!(content.as_deref(), Some("two's edit"));
    assert_eq!(one.fs.listing(), listing);
    assert_eq!(two.fs.listing(), listing);
}

#[test]
fn names_some_device_cannot_hold_are_listed_once_with_a_reason_and_never_retried() {
    let mut remote = MemRemote::new();
    let mut linux = Device::new("Linux");
    for name in [
        "back\\slash.jpg",
        "trailing.jpg ",
        "a:b.jpg",
        "CON.jpg",
        "fine.jpg",
    ] {
        linux.fs.user_create_file(None, name, name).unwrap();
    }
    // The web gallery stored a name Windows cannot hold.
    remote.other_client_upload(None, "what?.jpg", "web");
    for pass in 0..3 {
        let report = linux.sync(&mut remote);
        assert_eq!(report.retryable_failures, 0, "pass {pass}: {report:?}");
        let listed: Vec<&str> = report.cannot_sync.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            listed,
            [
                "CON.jpg",
                "a:b.jpg",
                "back\\slash.jpg",
                "trailing.jpg ",
                "what?.jpg"
            ],
            "pass {pass}"
        );
        assert!(report
            .cannot_sync
            .iter()
            .all(|c| c.reason.contains("rename it")));
        if pass > 0 {
            assert_eq!(report.rounds, 1, "nothing attempted again: {report:?}");
        }
    }
    let mut reason = |path: &str| {
        linux
            .sync(&mut remote)
            .cannot_sync
            .into_iter()
            .find(|c| c.path == path)
            .unwrap()
            .reason
    };
    assert!(reason("back\\slash.jpg").contains("backslash"));
    assert!(reason("a:b.jpg").contains("':'"));
    assert!(reason("CON.jpg").contains("Windows reserves"));
    let listing = remote.listing();
    assert_eq!(
        listing.keys().collect::<Vec<_>>(),
        ["fine.jpg", "what?.jpg"]
    );
    // Renamed to a portable name, it syncs.
    let id = id_of(&mut linux.fs, "back\\slash.jpg");
    assert!(linux.fs.user_rename(id, None, "back-slash.jpg"));
    assert_eq!(linux.sync(&mut remote).uploads, 1);
}

#[test]
fn nfc_nfd_twins_are_labelled_as_another_encoding_not_case() {
    let mut remote = MemRemote::new();
    let mut linux = Device::new("Linux");
    linux
        .fs
        .user_create_file(None, "Caf\u{e9}.jpg", "nfc")
        .unwrap();
    linux
        .fs
        .user_create_file(None, "Cafe\u{301}.jpg", "nfd")
        .unwrap();
    let report = linux.sync(&mut remote);
    // A rename to keep both, not a conflict (no one edited anything twice).
    assert_eq!((report.collisions, report.conflicts), (1, 0), "{report:?}");
    let names: Vec<String> = remote.listing().into_keys().collect();
    assert_eq!(
        names,
        ["Caf\u{e9} (same name, other encoding).jpg", "Caf\u{e9}.jpg"]
    );
}

/// One pass at `at` (unix seconds) by a fresh engine on the device's store,
/// as the daemon runs them (and as a restart does).
fn pass_at(device: &mut Device, remote: &mut MemRemote, at: i64, approve: bool) -> SyncReport {
    let mut engine = Engine::new(
        EngineConfig::new(device.name),
        &mut device.store,
        FixedClock(at),
    )
    .unwrap();
    if approve {
        engine.approve_deletions();
    }
    engine.sync_once(&mut device.fs, remote).unwrap()
}

#[test]
fn deletions_in_slices_across_passes_add_up_to_a_mass_deletion() {
    let mut remote = MemRemote::new();
    let mut a = Device::new("A");
    shoot(&mut a, "Wedding", 300);
    a.sync(&mut remote);
    let mut at = NOV_26_2026;
    let delete_slice = |device: &mut Device, from: usize| {
        for i in from..from + 10 {
            let id = id_of(&mut device.fs, &format!("Wedding/IMG_{i:04}.jpg"));
            device.fs.user_delete(id);
        }
    };
    // Ten at a time, a pass after each, 30 s apart: each slice is far under
    // the threshold (50), the first five together are not over it either.
    for slice in 0..5 {
        delete_slice(&mut a, slice * 10);
        at += 30;
        let pass = pass_at(&mut a, &mut remote, at, false);
        assert_eq!(
            (pass.deletions, pass.deletions_awaiting_approval),
            (10, 0),
            "slice {slice}: {pass:?}"
        );
    }
    // The sixth makes 60 within 10 minutes: held back, the user is asked.
    delete_slice(&mut a, 50);
    at += 30;
    let held = pass_at(&mut a, &mut remote, at, false);
    assert_eq!(held.deletions, 0, "{held:?}");
    assert_eq!(held.deletions_awaiting_approval, 10);
    assert_eq!(held.deletions_in_window, 60);
    assert_eq!(remote.listing().len(), 251, "250 photos and their folder");

    // Once held, further slices wait too, and the hold does not lift when
    // the window has passed (a restart, an hour later).
    delete_slice(&mut a, 60);
    at += 3600;
    let later = pass_at(&mut a, &mut remote, at, false);
    assert_eq!(
        (later.deletions, later.deletions_awaiting_approval),
        (0, 20),
        "{later:?}"
    );
    assert_eq!(remote.listing().len(), 251);

    // Approval carries them out and starts a new window.
    at += 30;
    let approved = pass_at(&mut a, &mut remote, at, true);
    assert_eq!(approved.deletions, 20, "{approved:?}");
    assert_eq!(remote.listing().len(), 231);
    assert_eq!(remote.trash.len(), 70, "every deleted photo is recoverable");
    delete_slice(&mut a, 80);
    at += 30;
    let after = pass_at(&mut a, &mut remote, at, false);
    assert_eq!(
        (after.deletions, after.deletions_awaiting_approval),
        (10, 0),
        "what was approved does not count again: {after:?}"
    );
}

#[test]
fn deletions_from_another_device_count_in_the_window_too() {
    let mut remote = MemRemote::new();
    let mut a = Device::new("A");
    let mut b = Device::new("B");
    shoot(&mut a, "Wedding", 300);
    a.sync(&mut remote);
    b.sync(&mut remote);
    let mut at = NOV_26_2026;
    // A deletes 60 in slices with the guard off (a script on a device that
    // allows it); B receives them slice by slice.
    for slice in 0..6 {
        for i in slice * 10..slice * 10 + 10 {
            let id = id_of(&mut a.fs, &format!("Wedding/IMG_{i:04}.jpg"));
            a.fs.user_delete(id);
        }
        a.sync_with(&mut remote, |c| c.max_deletions = usize::MAX);
        at += 30;
        let received = pass_at(&mut b, &mut remote, at, false);
        let expected = if slice < 5 { (10, 0) } else { (0, 10) };
        assert_eq!(
            (received.deletions, received.deletions_awaiting_approval),
            expected,
            "slice {slice}: {received:?}"
        );
    }
    assert_eq!(
        b.fs.listing().len(),
        251,
        "B keeps the last ten until asked"
    );
}

//! One contract, two implementations: every `Remote` behaviour the engine
//! relies on, checked against the simulation's in-memory remote and against
//! PhotoProOS Storage for real — the API over HTTP on 127.0.0.1 with its
//! embedded S3-compatible store, started here.

use photopro_sync::disk::{DiskFs, HashKind};
use photopro_sync::engine::{Engine, EngineConfig};
use photopro_sync::http::HttpRemote;
use photopro_sync::memory::{FixedClock, MemRemote, MemStore};
use photopro_sync::model::{Hash, Kind};
use photopro_sync::{Remote, SyncError};
use std::time::Duration;

/// A running API with its embedded S3 store, in this process.
struct LiveApi {
    _data: tempfile::TempDir,
    api: photopro_api::local::LocalApi,
    base: String,
}

impl LiveApi {
    fn start() -> LiveApi {
        Self::start_with(|_| {})
    }

    fn start_with(configure: impl FnOnce(&mut photopro_api::server::ServeOptions)) -> LiveApi {
        let data = tempfile::tempdir().unwrap();
        let api =
            photopro_api::local::LocalApi::start(data.path().to_path_buf(), configure).unwrap();
        LiveApi {
            _data: data,
            base: api.base.clone(),
            api,
        }
    }

    /// A new organization (optionally with a byte limit) and a device token in it.
    fn device(&self, _name: &str, limit: Option<u64>) -> String {
        self.api
            .device_token(&format!("Studio {}", uuid::Uuid::new_v4()), limit)
            .unwrap()
    }
}

fn contract(remote: &mut dyn Remote, hash: fn(&[u8]) -> Hash) {
    assert!(remote.snapshot().unwrap().is_empty());
    let smith = remote.create_dir(None, "Smith").unwrap();
    assert_eq!(
        (smith.kind, smith.parent.clone(), smith.name.as_str()),
        (Kind::Dir, None, "Smith")
    );
    remote.snapshot().unwrap();
    assert!(
        matches!(
            remote.create_dir(None, "smith"),
            Err(SyncError::Precondition(_))
        ),
        "names are case-insensitive"
    );

    let bytes = b"kitchen photo bytes".to_vec();
    let h = hash(&bytes);
    let a = remote
        .upload(Some(&smith.id), "a.jpg", &bytes, &h, None)
        .unwrap();
    assert_eq!(
        (a.kind, a.parent.as_ref(), a.hash.as_ref()),
        (Kind::File, Some(&smith.id), Some(&h))
    );
    let tree = remote.snapshot().unwrap();
    assert_eq!(tree.path(&a.id).as_deref(), Some("Smith/a.jpg"));
    assert_eq!(remote.download(&a.id, &h).unwrap(), bytes);
    assert!(
        remote.download(&a.id, &hash(b"other")).is_err(),
        "downloads are verified"
    );
    assert!(matches!(
        remote.upload(Some(&smith.id), "A.JPG", b"x", &hash(b"x"), None),
        Err(SyncError::Precondition(_))
    ));

    // Moves are metadata: same id, new place.
    let moved = remote.move_node(&a.id, None, "b.jpg").unwrap();
    assert_eq!(
        (
            moved.id.as_str(),
            moved.parent.as_ref(),
            moved.name.as_str()
        ),
        (a.id.as_str(), None, "b.jpg")
    );
    let tree = remote.snapshot().unwrap();
    assert_eq!(tree.path(&a.id).as_deref(), Some("b.jpg"));

    // Replace only the version we know.
    let v2 = b"edited kitchen photo".to_vec();
    let stale = (a.id.clone(), hash(b"not the current version"));
    assert!(matches!(
        remote.upload(None, "b.jpg", &v2, &hash(&v2), Some(&stale)),
        Err(SyncError::Precondition(_))
    ));
    let b2 = remote
        .upload(
            None,
            "b.jpg",
            &v2,
            &hash(&v2),
            Some(&(a.id.clone(), h.clone())),
        )
        .unwrap();
    let tree = remote.snapshot().unwrap();
    assert!(
        tree.get(&a.id).is_none(),
        "the old version went to the trash"
    );
    assert_eq!(tree.get(&b2.id).unwrap().hash.as_ref(), Some(&hash(&v2)));

    // Trash: files only at the known version, folders only when empty.
    let inside = remote
        .upload(Some(&smith.id), "c.jpg", b"c", &hash(b"c"), None)
        .unwrap();
    remote.snapshot().unwrap();
    assert!(matches!(
        remote.trash(&smith.id, None),
        Err(SyncError::Precondition(_))
    ));
    assert!(matches!(
        remote.trash(&inside.id, Some(&hash(b"nope"))),
        Err(SyncError::Precondition(_))
    ));
    remote.trash(&inside.id, Some(&hash(b"c"))).unwrap();
    remote.snapshot().unwrap();
    remote.trash(&smith.id, None).unwrap();
    let tree = remote.snapshot().unwrap();
    assert_eq!(tree.len(), 1);
    assert!(remote
        .upload_known(None, "copy.jpg", &hash(b"never stored"), None)
        .unwrap()
        .is_none());
}

/// The name policy, answered the same way by the fake and the real API.
fn names_contract(remote: &mut dyn Remote, hash: fn(&[u8]) -> Hash) {
    remote.snapshot().unwrap();
    // Stored in NFC: a Mac's decomposed accent comes back composed.
    let nfd = remote
        .upload(None, "Cafe\u{301}.jpg", b"nfd", &hash(b"nfd"), None)
        .unwrap();
    assert_eq!(nfd.name, "Caf\u{e9}.jpg");
    let tree = remote.snapshot().unwrap();
    assert_eq!(tree.get(&nfd.id).unwrap().name, "Caf\u{e9}.jpg");
    // …and its NFC twin (or a case variant) is the same name.
    for twin in ["Caf\u{e9}.jpg", "CAFE\u{301}.JPG"] {
        assert!(
            matches!(
                remote.upload(None, twin, b"twin", &hash(b"twin"), None),
                Err(SyncError::Precondition(_))
            ),
            "{twin:?}"
        );
    }
    // The byte limit counts NFC: 120 decomposed é are 360 bytes, 244 stored.
    let decomposed = format!("{}.jpg", "e\u{301}".repeat(120));
    let fits = remote
        .upload(None, &decomposed, b"long", &hash(b"long"), None)
        .unwrap();
    assert_eq!(fits.name.len(), 244);
    let at_limit = format!("{}.jpg", "x".repeat(251));
    remote
        .upload(None, &at_limit, b"255", &hash(b"255"), None)
        .unwrap();
    // Refused (a 400), not "changed meanwhile": retrying cannot help.
    for bad in [
        format!("{}.jpg", "y".repeat(252)),
        "back\\slash.jpg".to_string(),
        "trailing.jpg ".to_string(),
        " leading.jpg".to_string(),
        "a/b.jpg".to_string(),
    ] {
        remote.snapshot().unwrap();
        assert!(
            matches!(
                remote.upload(None, &bad, b"bad", &hash(b"bad"), None),
                Err(SyncError::Refused(_))
            ),
            "{bad:?}"
        );
        assert!(
            matches!(remote.create_dir(None, &bad), Err(SyncError::Refused(_))),
            "{bad:?}"
        );
    }
    // What only Windows refuses, the server stores (clients do not sync it).
    remote
        .upload(None, "a:b.jpg", b"colon", &hash(b"colon"), None)
        .unwrap();
    // A 0-byte file is a file.
    let empty = remote
        .upload(None, "empty.xmp", b"", &hash(b""), None)
        .unwrap();
    assert_eq!(remote.download(&empty.id, &hash(b"")).unwrap(), b"");
    // A swap through a temporary name, and a move onto an NFD spelling.
    let a = remote
        .upload(None, "a.jpg", b"A", &hash(b"A"), None)
        .unwrap();
    let b = remote
        .upload(None, "b.jpg", b"B", &hash(b"B"), None)
        .unwrap();
    remote.snapshot().unwrap();
    remote.move_node(&a.id, None, "tmp.jpg").unwrap();
    remote.snapshot().unwrap();
    remote.move_node(&b.id, None, "a.jpg").unwrap();
    remote.snapshot().unwrap();
    remote.move_node(&a.id, None, "b.jpg").unwrap();
    remote.snapshot().unwrap();
    let moved = remote.move_node(&a.id, None, "be\u{301}.jpg").unwrap();
    assert_eq!(moved.name, "b\u{e9}.jpg");
    let tree = remote.snapshot().unwrap();
    assert_eq!(tree.path(&b.id).as_deref(), Some("a.jpg"));
    assert_eq!(tree.path(&a.id).as_deref(), Some("b\u{e9}.jpg"));
}

/// The storage cap (`CAP` bytes), answered the same way by the fake and the
/// real API: every new file counts, a content-addressed copy included (the
/// API holds its bytes like an upload's), and the trash still counts.
const CAP: u64 = 2500;

fn cap_contract(remote: &mut dyn Remote, hash: fn(&[u8]) -> Hash) {
    remote.snapshot().unwrap();
    let photo = vec![b'p'; 1000];
    let first = remote
        .upload(None, "a.jpg", &photo, &hash(&photo), None)
        .unwrap();
    // 1000 + 1000 ≤ 2500: a copy of known content fits, and counts.
    remote
        .upload_known(None, "copy.jpg", &hash(&photo), None)
        .unwrap()
        .expect("the content is known");
    // 2000 + 1000 > 2500: the next copy does not, though no byte would move.
    let refused = remote.upload_known(None, "copy 2.jpg", &hash(&photo), None);
    assert!(
        matches!(refused, Err(SyncError::StorageFull(_))),
        "a copy over the cap: {:?}",
        refused.map(|node| node.map(|node| node.name))
    );
    // Exactly at the cap fits.
    let rest = vec![b'r'; (CAP - 2000) as usize];
    remote
        .upload(None, "rest.jpg", &rest, &hash(&rest), None)
        .unwrap();
    // The trash still counts: trashing frees nothing under the cap.
    remote.trash(&first.id, Some(&hash(&photo))).unwrap();
    remote.snapshot().unwrap();
    let one = b"1".to_vec();
    let refused = remote.upload(None, "one.jpg", &one, &hash(&one), None);
    assert!(
        matches!(refused, Err(SyncError::StorageFull(_))),
        "a byte over the cap with the trash full: {:?}",
        refused.map(|node| node.name)
    );
}

#[test]
fn memory_remote_enforces_the_api_storage_cap() {
    let mut remote = MemRemote::new();
    remote.limit_bytes = Some(CAP);
    cap_contract(&mut remote, |b| String::from_utf8_lossy(b).into_owned());
}

#[test]
fn photopro_storage_enforces_the_storage_cap() {
    let api = LiveApi::start();
    let token = api.device("Studio Mac", Some(CAP));
    let mut remote = HttpRemote::new(&api.base, &token).unwrap();
    cap_contract(&mut remote, |b| HashKind::Sha256.of_bytes(b));
}

/// One batch through `transfer_batch`; every job's outcome, in job order.
fn batch(
    remote: &mut dyn Remote,
    jobs: &[photopro_sync::TransferJob],
    contents: Vec<Vec<u8>>,
) -> Vec<Result<photopro_sync::TransferDone, SyncError>> {
    use photopro_sync::{BatchIo, TransferDone};
    struct Io {
        contents: Vec<Vec<u8>>,
        done: Vec<Option<Result<TransferDone, SyncError>>>,
    }
    impl BatchIo for Io {
        fn read(&mut self, job: usize) -> Result<Vec<u8>, SyncError> {
            Ok(self.contents[job].clone())
        }
        fn done(
            &mut self,
            job: usize,
            outcome: Result<TransferDone, SyncError>,
        ) -> Result<(), SyncError> {
            self.done[job] = Some(outcome);
            Ok(())
        }
    }
    let mut io = Io {
        contents,
        done: jobs.iter().map(|_| None).collect(),
    };
    remote.transfer_batch(jobs, &mut io).unwrap();
    io.done
        .into_iter()
        .map(|outcome| outcome.unwrap())
        .collect()
}

/// Modification times, kept the same way by the fake and the real API: from
/// 1601 (scanned film of 1965 included) to the year 3000, kept with the
/// asset and returned with its download; outside that range refused.
fn modified_contract(remote: &mut dyn Remote, hash: fn(&[u8]) -> Hash) {
    use photopro_sync::{TransferDone, TransferJob};
    remote.snapshot().unwrap();
    let upload = |name: &str, bytes: &[u8], modified: i64| TransferJob::Upload {
        path: name.into(),
        parent: None,
        name: name.into(),
        hash: hash(bytes),
        size: bytes.len() as u64,
        replaces: None,
        modified: Some(modified),
    };
    let film = -157_766_400_000; // 1965
    let ahead = 7_258_118_400_000; // 2200
    let too_old = -12_000_000_000_000; // 1589
    let outcomes = batch(
        remote,
        &[
            upload("film.jpg", b"film", film),
            upload("ahead.jpg", b"ahead", ahead),
            upload("too old.jpg", b"too old", too_old),
        ],
        vec![b"film".to_vec(), b"ahead".to_vec(), b"too old".to_vec()],
    );
    assert!(
        matches!(outcomes[2], Err(SyncError::Refused(_))),
        "a time before 1601: {:?}",
        outcomes[2].as_ref().err()
    );
    let mut downloads = Vec::new();
    for (outcome, bytes) in outcomes[..2].iter().zip([&b"film"[..], &b"ahead"[..]]) {
        let Ok(TransferDone::Uploaded { node, .. }) = outcome else {
            panic!("upload failed: {:?}", outcome.as_ref().err());
        };
        downloads.push(TransferJob::Download {
            path: node.name.clone(),
            id: node.id.clone(),
            hash: hash(bytes),
            size: bytes.len() as u64,
        });
    }
    remote.snapshot().unwrap();
    let times: Vec<Option<i64>> = batch(remote, &downloads, Vec::new())
        .into_iter()
        .map(|outcome| match outcome {
            Ok(TransferDone::Downloaded { modified, .. }) => modified,
            other => panic!("download failed: {:?}", other.err()),
        })
        .collect();
    assert_eq!(times, [Some(film), Some(ahead)]);
}

#[test]
fn memory_remote_keeps_modification_times_like_the_api() {
    modified_contract(&mut MemRemote::new(), |b| {
        String::from_utf8_lossy(b).into_owned()
    });
}

#[test]
fn photopro_storage_keeps_modification_times() {
    let api = LiveApi::start();
    let token = api.device("Studio Mac", None);
    let mut remote = HttpRemote::new(&api.base, &token).unwrap();
    modified_contract(&mut remote, |b| HashKind::Sha256.of_bytes(b));
}

#[test]
fn memory_remote_applies_the_api_name_policy() {
    names_contract(&mut MemRemote::new(), |b| {
        String::from_utf8_lossy(b).into_owned()
    });
}

#[test]
fn photopro_storage_applies_the_name_policy() {
    let api = LiveApi::start();
    let token = api.device("Studio Mac", None);
    let mut remote = HttpRemote::new(&api.base, &token).unwrap();
    names_contract(&mut remote, |b| HashKind::Sha256.of_bytes(b));
}

#[test]
fn memory_remote_meets_the_contract() {
    contract(&mut MemRemote::new(), |b| {
        String::from_utf8_lossy(b).into_owned()
    });
}

#[test]
fn photopro_storage_meets_the_contract() {
    let api = LiveApi::start();
    let token = api.device("Studio Mac", None);
    let mut remote = HttpRemote::new(&api.base, &token).unwrap();
    contract(&mut remote, |b| HashKind::Sha256.of_bytes(b));
}

#[test]
fn two_devices_sync_real_photos_through_the_api_and_an_s3_store() {
    let api = LiveApi::start();
    let token = api.device("Studio Mac", None);
    let work = tempfile::tempdir().unwrap();
    let photos =
        std::path::PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("dji-phantom3");
    let gallery = work.path().join("a/2016/Brighton Beach");
    std::fs::create_dir_all(&gallery).unwrap();
    for name in ["DJI_0018.JPG", "DJI_0019.JPG", "DJI_0020.JPG"] {
        std::fs::copy(photos.join(name), gallery.join(name)).unwrap();
    }
    let device = |side: &str| {
        DiskFs::new(
            work.path().join(side),
            work.path().join(format!("{side}-trash")),
        )
        .with_hash(HashKind::Sha256)
        .with_settle_time(Duration::ZERO)
    };
    let (mut a, mut b) = (device("a"), device("b"));
    let (mut store_a, mut store_b) = (MemStore::default(), MemStore::default());
    let mut remote_a = HttpRemote::new(&api.base, &token).unwrap();
    let mut remote_b = HttpRemote::new(&api.base, &token).unwrap();
    let clock = FixedClock(1_795_651_200);
    let sync = |fs: &mut DiskFs, store: &mut MemStore, remote: &mut HttpRemote, name: &str| {
        let report = Engine::new(EngineConfig::new(name), store, clock)
            .unwrap()
            .sync_once(fs, remote)
            .unwrap();
        assert!(report.converged, "{report:?}");
        report
    };

    // The shoot was exported on 2 March 2024; that time travels with the photos.
    let exported = std::time::UNIX_EPOCH + Duration::from_millis(1_709_380_800_250);
    for name in ["DJI_0018.JPG", "DJI_0019.JPG", "DJI_0020.JPG"] {
        std::fs::File::options()
            .write(true)
            .open(gallery.join(name))
            .unwrap()
            .set_modified(exported)
            .unwrap();
    }
    let up = sync(&mut a, &mut store_a, &mut remote_a, "A");
    assert_eq!(up.uploads, 3);
    let down = sync(&mut b, &mut store_b, &mut remote_b, "B");
    assert_eq!(down.downloads, 3);
    for name in ["DJI_0018.JPG", "DJI_0019.JPG", "DJI_0020.JPG"] {
        let modified = std::fs::metadata(work.path().join("b/2016/Brighton Beach").join(name))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(
            modified, exported,
            "{name} keeps its modification time on the other device"
        );
    }
    assert_eq!(
        sync(&mut b, &mut store_b, &mut remote_b, "B").downloads
            + sync(&mut b, &mut store_b, &mut remote_b, "B").uploads,
        0,
        "setting the time is not a change"
    );
    for name in ["DJI_0018.JPG", "DJI_0019.JPG", "DJI_0020.JPG"] {
        assert_eq!(
            std::fs::read(work.path().join("b/2016/Brighton Beach").join(name)).unwrap(),
            std::fs::read(photos.join(name)).unwrap()
        );
    }

    // A gallery rename on B is one metadata call: nothing uploaded or downloaded.
    std::fs::rename(
        work.path().join("b/2016/Brighton Beach"),
        work.path().join("b/2016/Duluth Beach"),
    )
    .unwrap();
    let rename = sync(&mut b, &mut store_b, &mut remote_b, "B");
    assert_eq!(
        (rename.moves, rename.uploaded_bytes, rename.downloaded_bytes),
        (1, 0, 0)
    );
    let follow = sync(&mut a, &mut store_a, &mut remote_a, "A");
    assert_eq!(
        (follow.moves, follow.uploaded_bytes, follow.downloaded_bytes),
        (1, 0, 0)
    );
    assert!(work
        .path()
        .join("a/2016/Duluth Beach/DJI_0019.JPG")
        .is_file());

    // Concurrent edits of one photo: both versions survive.
    std::fs::write(
        work.path().join("a/2016/Duluth Beach/DJI_0020.JPG"),
        b"retouched on A",
    )
    .unwrap();
    std::fs::write(
        work.path().join("b/2016/Duluth Beach/DJI_0020.JPG"),
        b"retouched on B",
    )
    .unwrap();
    sync(&mut a, &mut store_a, &mut remote_a, "A");
    let conflict = sync(&mut b, &mut store_b, &mut remote_b, "B");
    assert_eq!(conflict.conflicts, 1);
    sync(&mut a, &mut store_a, &mut remote_a, "A");
    for side in ["a", "b"] {
        let dir = work.path().join(side).join("2016/Duluth Beach");
        assert_eq!(
            std::fs::read(dir.join("DJI_0020.JPG")).unwrap(),
            b"retouched on A"
        );
        assert_eq!(
            std::fs::read(dir.join("DJI_0020 (conflicted copy 2026-11-26 from B).JPG")).unwrap(),
            b"retouched on B"
        );
    }

    // A deletion on A reaches B's trash, recoverable.
    std::fs::remove_file(work.path().join("a/2016/Duluth Beach/DJI_0018.JPG")).unwrap();
    sync(&mut a, &mut store_a, &mut remote_a, "A");
    sync(&mut b, &mut store_b, &mut remote_b, "B");
    assert!(!work
        .path()
        .join("b/2016/Duluth Beach/DJI_0018.JPG")
        .exists());
    assert_eq!(
        b.trash_entries()[0].original,
        "2016/Duluth Beach/DJI_0018.JPG"
    );
}

#[test]
fn storage_full_is_one_clear_state_and_files_stay_local() {
    let api = LiveApi::start();
    // 6 MiB: room for one DJI photo (~3.4 MB) but not two.
    let token = api.device("Laptop", Some(6 * 1024 * 1024));
    let work = tempfile::tempdir().unwrap();
    let photos =
        std::path::PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("dji-phantom3");
    std::fs::create_dir_all(work.path().join("sync")).unwrap();
    for name in ["DJI_0018.JPG", "DJI_0019.JPG"] {
        std::fs::copy(photos.join(name), work.path().join("sync").join(name)).unwrap();
    }
    let mut fs = DiskFs::new(work.path().join("sync"), work.path().join("trash"))
        .with_hash(HashKind::Sha256)
        .with_settle_time(Duration::ZERO);
    let mut remote = HttpRemote::new(&api.base, &token).unwrap();
    let mut store = MemStore::default();
    let report = Engine::new(EngineConfig::new("Laptop"), &mut store, FixedClock(0))
        .unwrap()
        .sync_once(&mut fs, &mut remote)
        .unwrap();
    assert!(report.storage_full, "{report:?}");
    assert_eq!(report.uploads, 1);
    assert!(report.rounds <= 3, "no retry storm: {report:?}");
    assert!(
        work.path().join("sync/DJI_0019.JPG").is_file(),
        "the file stays local"
    );
    assert_eq!(remote.snapshot().unwrap().len(), 1);
}

#[test]
fn an_interrupted_multipart_upload_resumes_where_it_stopped() {
    // Multipart from 6 MiB with 5 MiB parts, so a 12 MiB file is 5 + 5 + 2 MiB.
    let api = LiveApi::start_with(|options| {
        options.settings.multipart_threshold_bytes = 6 << 20;
        options.settings.min_part_bytes = 5 << 20;
    });
    let token = api.device("Studio Mac", None);
    let resume = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let hash = HashKind::Sha256.of_bytes(&bytes);

    let mut first = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    first.snapshot().unwrap();
    first.fail_after_parts = Some(2);
    let error = first
        .upload(None, "wedding-panorama.tif", &bytes, &hash, None)
        .unwrap_err();
    assert!(matches!(error, SyncError::Transient { .. }), "{error:?}");
    assert_eq!(first.bytes_sent, 10 << 20, "interrupted at 83 %");
    drop(first);

    // A new process: it finds the journal and sends only the last part.
    let mut second = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    second.snapshot().unwrap();
    let node = second
        .upload(None, "wedding-panorama.tif", &bytes, &hash, None)
        .unwrap();
    assert_eq!(second.bytes_sent, 2 << 20, "resumed at 83 %, not from zero");
    assert_eq!(second.download(&node.id, &hash).unwrap(), bytes);
    assert!(
        std::fs::read_dir(resume.path()).unwrap().next().is_none(),
        "the journal is gone once complete"
    );
}

/// A resumed upload reports the bytes this run sent — the missing part —
/// not the whole file, in its result (the pass summary) and in the progress.
#[test]
fn a_resumed_upload_reports_the_bytes_it_sent() {
    use photopro_sync::progress::Meter;
    use photopro_sync::{BatchIo, TransferDone, TransferJob};
    struct Io(Vec<u8>, Option<Result<TransferDone, SyncError>>);
    impl BatchIo for Io {
        fn read(&mut self, _job: usize) -> Result<Vec<u8>, SyncError> {
            Ok(self.0.clone())
        }
        fn done(
            &mut self,
            _job: usize,
            outcome: Result<TransferDone, SyncError>,
        ) -> Result<(), SyncError> {
            self.1 = Some(outcome);
            Ok(())
        }
    }
    let api = LiveApi::start_with(|options| {
        options.settings.multipart_threshold_bytes = 6 << 20;
        options.settings.min_part_bytes = 5 << 20;
    });
    let token = api.device("Studio Mac", None);
    let resume = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let hash = HashKind::Sha256.of_bytes(&bytes);
    let mut first = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    first.snapshot().unwrap();
    first.fail_after_parts = Some(2);
    first
        .upload(None, "wedding-panorama.tif", &bytes, &hash, None)
        .unwrap_err();
    drop(first);

    let meter = Meter::new();
    let mut second = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path())
        .with_meter(meter.clone());
    second.snapshot().unwrap();
    meter.begin_pass(1, bytes.len() as u64);
    let job = TransferJob::Upload {
        path: "wedding-panorama.tif".into(),
        parent: None,
        name: "wedding-panorama.tif".into(),
        hash: hash.clone(),
        size: bytes.len() as u64,
        replaces: None,
        modified: None,
    };
    let mut io = Io(bytes.clone(), None);
    second.transfer_batch(&[job], &mut io).unwrap();
    match io.1 {
        Some(Ok(TransferDone::Uploaded { sent, .. })) => {
            assert_eq!(sent, 2 << 20, "the last part, not the whole 12 MiB")
        }
        other => panic!("{other:?}"),
    }
    let progress = meter.snapshot();
    assert_eq!(
        (progress.bytes_done, progress.bytes_total),
        (2 << 20, 2 << 20),
        "the progress counts what this run sent"
    );
}

/// A part the store acknowledged and then lost (the store was killed before it
/// was durable) must be sent again: on resume the store's own list of parts
/// is the truth, not the client's journal. Before, the journal's word won, the
/// completion was refused ("part 2 of 3 is not uploaded") and the file was
/// given up on as refused.
#[test]
fn a_resumed_upload_trusts_the_stores_parts_over_its_journal() {
    let api = LiveApi::start_with(|options| {
        options.settings.multipart_threshold_bytes = 6 << 20;
        options.settings.min_part_bytes = 5 << 20;
    });
    let token = api.device("Studio Mac", None);
    let resume = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let hash = HashKind::Sha256.of_bytes(&bytes);

    let mut first = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    first.snapshot().unwrap();
    first.fail_after_parts = Some(1);
    first
        .upload(None, "wedding-panorama.tif", &bytes, &hash, None)
        .unwrap_err();
    drop(first);

    // The journal also claims part 2, as if the store had acknowledged it
    // just before it crashed and lost it.
    let journal = std::fs::read_dir(resume.path())
        .unwrap()
        .next()
        .expect("a resume journal")
        .unwrap()
        .path();
    let mut record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    record["parts"]["2"] = serde_json::Value::String("\"lost-in-the-crash\"".into());
    std::fs::write(&journal, serde_json::to_vec(&record).unwrap()).unwrap();

    let mut second = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_resume_dir(resume.path());
    second.snapshot().unwrap();
    let node = second
        .upload(None, "wedding-panorama.tif", &bytes, &hash, None)
        .unwrap();
    assert_eq!(
        second.bytes_sent,
        7 << 20,
        "parts 2 and 3 sent, part 1 kept"
    );
    assert_eq!(second.download(&node.id, &hash).unwrap(), bytes);
}

#[test]
fn the_change_journal_keeps_a_snapshot_equal_to_a_full_listing() {
    let api = LiveApi::start();
    let token = api.device("Studio Mac", None);
    let hash = |b: &[u8]| HashKind::Sha256.of_bytes(b);
    let mut watcher = HttpRemote::new(&api.base, &token).unwrap();
    let mut other = HttpRemote::new(&api.base, &token).unwrap();
    assert!(watcher.snapshot().unwrap().is_empty());
    other.snapshot().unwrap();
    // Another device creates, renames, moves, replaces and trashes.
    let smith = other.create_dir(None, "Smith").unwrap();
    let jones = other.create_dir(None, "Jones").unwrap();
    let a = other
        .upload(Some(&smith.id), "a.jpg", b"a", &hash(b"a"), None)
        .unwrap();
    let b = other
        .upload(Some(&smith.id), "b.jpg", b"b", &hash(b"b"), None)
        .unwrap();
    other
        .upload(Some(&jones.id), "c.jpg", b"c", &hash(b"c"), None)
        .unwrap();
    other
        .move_node(&a.id, Some(&jones.id), "a-moved.jpg")
        .unwrap();
    other
        .upload(
            Some(&smith.id),
            "b.jpg",
            b"b2",
            &hash(b"b2"),
            Some(&(b.id.clone(), hash(b"b"))),
        )
        .unwrap();
    other.snapshot().unwrap();
    other
        .move_node(&smith.id, Some(&jones.id), "Smith 2026")
        .unwrap();
    let incremental = watcher.snapshot().unwrap();
    let full = HttpRemote::new(&api.base, &token)
        .unwrap()
        .snapshot()
        .unwrap();
    assert_eq!(incremental, full);
    assert_eq!(incremental.len(), 5, "2 folders, a, b2, c: {incremental:?}");
    let paths: std::collections::BTreeSet<String> = incremental
        .nodes
        .keys()
        .filter_map(|id| incremental.path(id))
        .collect();
    assert!(
        paths.contains("Jones/Smith 2026/b.jpg") && paths.contains("Jones/a-moved.jpg"),
        "{paths:?}"
    );
}

#[test]
fn a_batch_runs_concurrently_and_never_sends_the_same_content_twice() {
    use photopro_sync::progress::Meter;
    use photopro_sync::{BatchIo, TransferDone, TransferJob};
    struct Io {
        contents: Vec<Vec<u8>>,
        done: Vec<Option<Result<TransferDone, SyncError>>>,
    }
    impl BatchIo for Io {
        fn read(&mut self, job: usize) -> Result<Vec<u8>, SyncError> {
            Ok(self.contents[job].clone())
        }
        fn done(
            &mut self,
            job: usize,
            outcome: Result<TransferDone, SyncError>,
        ) -> Result<(), SyncError> {
            self.done[job] = Some(outcome);
            Ok(())
        }
    }
    let api = LiveApi::start();
    let token = api.device("Studio Mac", None);
    let meter = Meter::new();
    let mut remote = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_meter(meter.clone());
    remote.snapshot().unwrap();
    // 24 files; the last 4 repeat the content of the first 4 (the same photo in two galleries).
    let contents: Vec<Vec<u8>> = (0..24u8)
        .map(|i| vec![i % 20; 256 * 1024 + (i % 20) as usize])
        .collect();
    let jobs: Vec<TransferJob> = contents
        .iter()
        .enumerate()
        .map(|(i, bytes)| TransferJob::Upload {
            path: format!("IMG_{i:02}.jpg"),
            parent: None,
            name: format!("IMG_{i:02}.jpg"),
            hash: HashKind::Sha256.of_bytes(bytes),
            size: bytes.len() as u64,
            replaces: None,
            modified: None,
        })
        .collect();
    meter.begin_pass(
        jobs.len() as u64,
        contents.iter().map(|c| c.len() as u64).sum(),
    );
    let mut io = Io {
        contents: contents.clone(),
        done: vec![None; 24],
    };
    remote.transfer_batch(&jobs, &mut io).unwrap();
    let mut sent_total = 0;
    for (i, outcome) in io.done.iter().enumerate() {
        match outcome {
            Some(Ok(TransferDone::Uploaded { node, sent })) => {
                assert_eq!(node.name, format!("IMG_{i:02}.jpg"));
                if i >= 20 {
                    assert_eq!(
                        *sent,
                        0,
                        "job {i} repeats job {}'s content: copied, not sent",
                        i - 20
                    );
                }
                sent_total += sent;
            }
            other => panic!("job {i}: {other:?}"),
        }
    }
    let unique: u64 = contents[..20].iter().map(|c| c.len() as u64).sum();
    assert_eq!(sent_total, unique);
    assert_eq!(remote.bytes_sent, unique);
    let progress = meter.snapshot();
    // The progress counts the same bytes as the pass summary: copies move
    // nothing, so they leave the total (before: "of 24 files' bytes" in the
    // progress, 20 files' bytes in the summary).
    assert_eq!(progress.bytes_total, unique);
    assert_eq!(
        (
            progress.files_done,
            progress.bytes_done,
            progress.in_flight.len()
        ),
        (24, progress.bytes_total, 0)
    );
    assert_eq!(remote.snapshot().unwrap().len(), 24);
}

#[test]
fn an_upload_limit_holds_the_rate_down() {
    let api = LiveApi::start();
    let token = api.device("Studio Mac", None);
    let meter = photopro_sync::progress::Meter::new();
    meter.set_limits(1 << 20, 0);
    let mut remote = HttpRemote::new(&api.base, &token)
        .unwrap()
        .with_meter(meter);
    remote.snapshot().unwrap();
    let bytes = vec![42u8; 3 << 20];
    let hash = HashKind::Sha256.of_bytes(&bytes);
    let mut io = OneFile(bytes.clone(), None);
    let job = photopro_sync::TransferJob::Upload {
        path: "pano.jpg".into(),
        parent: None,
        name: "pano.jpg".into(),
        hash,
        size: bytes.len() as u64,
        replaces: None,
        modified: None,
    };
    let start = std::time::Instant::now();
    remote.transfer_batch(&[job], &mut io).unwrap();
    // 3 MiB at 1 MiB/s with a quarter second of burst cannot take less than 2.75 s.
    assert!(
        start.elapsed() >= Duration::from_millis(2700),
        "{:?}",
        start.elapsed()
    );
    assert!(matches!(io.1, Some(Ok(_))), "{:?}", io.1);

    struct OneFile(
        Vec<u8>,
        Option<Result<photopro_sync::TransferDone, SyncError>>,
    );
    impl photopro_sync::BatchIo for OneFile {
        fn read(&mut self, _: usize) -> Result<Vec<u8>, SyncError> {
            Ok(self.0.clone())
        }
        fn done(
            &mut self,
            _: usize,
            outcome: Result<photopro_sync::TransferDone, SyncError>,
        ) -> Result<(), SyncError> {
            self.1 = Some(outcome);
            Ok(())
        }
    }
}

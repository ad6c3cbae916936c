//! One contract, two implementations: every `LocalFs` behaviour the engine
//! relies on is checked against the in-memory file system of the simulation
//! and the real disk.

use photopro_sync::disk::DiskFs;
use photopro_sync::engine::{Engine, EngineConfig};
use photopro_sync::memory::{FixedClock, MemFs, MemRemote, MemStore};
use photopro_sync::model::{Kind, LocalTree};
use photopro_sync::{LocalFs, SyncError};
use std::time::Duration;

/// What a test does as "the user", outside the engine.
trait Fixture {
    fn fs(&mut self) -> &mut dyn LocalFs;
    fn user_write(&mut self, rel: &str, content: &str);
    fn user_mkdir(&mut self, rel: &str);
    fn user_content(&self, rel: &str) -> Option<String>;
    /// Contents moved to the trash so far.
    fn trashed(&self) -> Vec<String>;
}

struct Memory(MemFs);

impl Memory {
    fn parent_and_name(&self, rel: &str) -> (Option<u64>, String) {
        match rel.rsplit_once('/') {
            None => (None, rel.to_string()),
            Some((dir, name)) => {
                let listing = self.0.clone().snapshot().unwrap();
                let id = listing
                    .nodes
                    .values()
                    .find(|n| listing.path(n.id).as_deref() == Some(dir))
                    .map(|n| n.id);
                (id, name.to_string())
            }
        }
    }
}

impl Fixture for Memory {
    fn fs(&mut self) -> &mut dyn LocalFs {
        &mut self.0
    }
    fn user_write(&mut self, rel: &str, content: &str) {
        let (parent, name) = self.parent_and_name(rel);
        let existing = self
            .0
            .clone()
            .snapshot()
            .unwrap()
            .nodes
            .values()
            .find(|n| n.parent == parent && n.name == name)
            .map(|n| n.id);
        match existing {
            Some(id) => {
                self.0.user_modify(id, content);
            }
            None => {
                self.0.user_create_file(parent, &name, content).unwrap();
            }
        }
    }
    fn user_mkdir(&mut self, rel: &str) {
        let (parent, name) = self.parent_and_name(rel);
        self.0.user_create_dir(parent, &name).unwrap();
    }
    fn user_content(&self, rel: &str) -> Option<String> {
        self.0.listing().get(rel).cloned().flatten()
    }
    fn trashed(&self) -> Vec<String> {
        self.0.trash.clone()
    }
}

struct Disk {
    dir: tempfile::TempDir,
    fs: DiskFs,
}

impl Disk {
    fn new() -> Disk {
        let dir = tempfile::tempdir().unwrap();
        let fs = DiskFs::new(dir.path().join("sync"), dir.path().join("trash"))
            .with_settle_time(Duration::ZERO);
        std::fs::create_dir_all(dir.path().join("sync")).unwrap();
        Disk { dir, fs }
    }
}

impl Fixture for Disk {
    fn fs(&mut self) -> &mut dyn LocalFs {
        &mut self.fs
    }
    fn user_write(&mut self, rel: &str, content: &str) {
        std::fs::write(self.dir.path().join("sync").join(rel), content).unwrap();
    }
    fn user_mkdir(&mut self, rel: &str) {
        std::fs::create_dir(self.dir.path().join("sync").join(rel)).unwrap();
    }
    fn user_content(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.path().join("sync").join(rel)).ok()
    }
    fn trashed(&self) -> Vec<String> {
        self.fs
            .trash_entries()
            .iter()
            .map(|e| {
                let name = e.original.rsplit('/').next().unwrap();
                std::fs::read_to_string(self.dir.path().join("trash").join(&e.id).join(name))
                    .unwrap()
            })
            .collect()
    }
}

fn find(tree: &LocalTree, path: &str) -> (u64, Option<String>) {
    let node = tree
        .nodes
        .values()
        .find(|n| tree.path(n.id).as_deref() == Some(path))
        .unwrap_or_else(|| panic!("{path} missing"));
    (node.id, node.hash.clone())
}

fn contract(fixture: &mut dyn Fixture) {
    fixture.user_mkdir("Smith");
    fixture.user_write("Smith/a.jpg", "alpha");
    fixture.user_write("b.jpg", "bravo");
    let tree = fixture.fs().snapshot().unwrap();
    assert_eq!(tree.len(), 3);
    let (smith, _) = find(&tree, "Smith");
    let (a, a_hash) = find(&tree, "Smith/a.jpg");
    let (b, b_hash) = find(&tree, "b.jpg");
    assert_eq!(tree.get(&a).unwrap().parent, Some(smith));
    assert_eq!(tree.get(&smith).unwrap().kind, Kind::Dir);
    let a_hash = a_hash.unwrap();
    let b_hash = b_hash.unwrap();
    assert_ne!(a_hash, b_hash);

    // read verifies the hash.
    assert_eq!(fixture.fs().read(a, &a_hash).unwrap(), b"alpha");
    assert!(matches!(
        fixture.fs().read(a, &b_hash),
        Err(SyncError::Precondition(_))
    ));

    // New files never clobber.
    let err = fixture
        .fs()
        .write_new_file(None, "b.jpg", b"other", &a_hash)
        .unwrap_err();
    assert!(matches!(err, SyncError::Precondition(_)), "{err:?}");
    assert_eq!(fixture.user_content("b.jpg").as_deref(), Some("bravo"));
    let c = fixture
        .fs()
        .write_new_file(Some(smith), "c.jpg", b"charlie", &"ignored".to_string());
    assert!(c.is_ok());
    assert_eq!(
        fixture.user_content("Smith/c.jpg").as_deref(),
        Some("charlie")
    );
    assert!(matches!(
        fixture.fs().create_dir(None, "Smith"),
        Err(SyncError::Precondition(_))
    ));

    // Renames keep identity and never clobber.
    assert!(matches!(
        fixture.fs().rename(b, Some(smith), "a.jpg"),
        Err(SyncError::Precondition(_))
    ));
    fixture
        .fs()
        .rename(b, Some(smith), "b-renamed.jpg")
        .unwrap();
    let tree = fixture.fs().snapshot().unwrap();
    assert_eq!(
        find(&tree, "Smith/b-renamed.jpg").0,
        b,
        "a rename keeps the id"
    );

    // Replace only the version we were told about.
    fixture.user_write("Smith/a.jpg", "alpha edited by the user");
    let tree = fixture.fs().snapshot().unwrap();
    let (a, a_edited) = find(&tree, "Smith/a.jpg");
    assert!(matches!(
        fixture
            .fs()
            .replace_file(a, &a_hash, b"from remote", &"x".into()),
        Err(SyncError::Precondition(_))
    ));
    assert_eq!(
        fixture.user_content("Smith/a.jpg").as_deref(),
        Some("alpha edited by the user")
    );
    fixture
        .fs()
        .replace_file(a, &a_edited.clone().unwrap(), b"from remote", &"x".into())
        .unwrap();
    assert_eq!(
        fixture.user_content("Smith/a.jpg").as_deref(),
        Some("from remote")
    );

    // Trash: files only at the expected version, folders only when empty, content recoverable.
    let tree = fixture.fs().snapshot().unwrap();
    let (b, b_now) = find(&tree, "Smith/b-renamed.jpg");
    assert!(matches!(
        fixture.fs().trash(b, Some(&"wrong".to_string())),
        Err(SyncError::Precondition(_))
    ));
    fixture.fs().trash(b, b_now.as_ref()).unwrap();
    assert!(
        matches!(
            fixture.fs().trash(smith, None),
            Err(SyncError::Precondition(_))
        ),
        "non-empty folder"
    );
    assert!(fixture.trashed().contains(&"bravo".to_string()));
    fixture.user_mkdir("Empty");
    let tree = fixture.fs().snapshot().unwrap();
    let (empty, _) = find(&tree, "Empty");
    fixture.fs().trash(empty, None).unwrap();
    assert!(fixture
        .fs()
        .snapshot()
        .unwrap()
        .nodes
        .values()
        .all(|n| n.name != "Empty" && n.name != "b-renamed.jpg"));
}

#[test]
fn memory_fs_meets_the_contract() {
    contract(&mut Memory(MemFs::new()));
}

#[test]
fn disk_fs_meets_the_contract() {
    contract(&mut Disk::new());
}

#[test]
fn two_sync_folders_on_disk_converge_through_a_remote() {
    let mut remote =
        MemRemote::new().with_hasher(|bytes| photopro_media::content_hash(bytes).to_hex());
    let mut a = Disk::new();
    let mut b = Disk::new();
    let (mut store_a, mut store_b) = (MemStore::default(), MemStore::default());
    std::fs::create_dir_all(a.dir.path().join("sync/2026/Smith Residence")).unwrap();
    std::fs::copy(
        std::path::PathBuf::from(std::env::var("PHOTOPRO_SHARED_PHOTOS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/photos").to_string()
        }))
        .join("dji-phantom3/DJI_0018.JPG"),
        a.dir.path().join("sync/2026/Smith Residence/DJI_0018.JPG"),
    )
    .unwrap();
    let run = |fs: &mut DiskFs, store: &mut MemStore, remote: &mut MemRemote, name: &str| {
        Engine::new(EngineConfig::new(name), store, FixedClock(1_795_651_200))
            .unwrap()
            .sync_once(fs, remote)
            .unwrap()
    };
    let first = run(&mut a.fs, &mut store_a, &mut remote, "A");
    assert_eq!(first.uploads, 1, "{first:?} {:?}", remote.listing());
    assert_eq!(run(&mut b.fs, &mut store_b, &mut remote, "B").downloads, 1);
    let original =
        std::fs::read(a.dir.path().join("sync/2026/Smith Residence/DJI_0018.JPG")).unwrap();
    assert_eq!(
        std::fs::read(b.dir.path().join("sync/2026/Smith Residence/DJI_0018.JPG")).unwrap(),
        original
    );

    // Rename the gallery on B: one move, no bytes.
    std::fs::rename(
        b.dir.path().join("sync/2026/Smith Residence"),
        b.dir.path().join("sync/2026/Smith"),
    )
    .unwrap();
    let renamed = run(&mut b.fs, &mut store_b, &mut remote, "B");
    assert_eq!((renamed.moves, renamed.uploads), (1, 0));
    run(&mut a.fs, &mut store_a, &mut remote, "A");
    assert!(a.dir.path().join("sync/2026/Smith/DJI_0018.JPG").is_file());

    // A file still being written (modified just now) is not uploaded.
    let mut settling = DiskFs::new(a.dir.path().join("sync"), a.dir.path().join("trash"))
        .with_settle_time(Duration::from_secs(3600));
    std::fs::write(
        a.dir.path().join("sync/2026/export-in-progress.jpg"),
        b"partial",
    )
    .unwrap();
    let report = Engine::new(EngineConfig::new("A"), &mut store_a, FixedClock(0))
        .unwrap()
        .sync_once(&mut settling, &mut remote)
        .unwrap();
    assert_eq!(report.uploads, 0);
    assert!(!remote.listing().contains_key("2026/export-in-progress.jpg"));

    // Delete on A: B's copy goes to B's trash and can be restored.
    std::fs::remove_file(a.dir.path().join("sync/2026/Smith/DJI_0018.JPG")).unwrap();
    run(&mut a.fs, &mut store_a, &mut remote, "A");
    run(&mut b.fs, &mut store_b, &mut remote, "B");
    assert!(!b.dir.path().join("sync/2026/Smith/DJI_0018.JPG").exists());
    let entries = b.fs.trash_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].original, "2026/Smith/DJI_0018.JPG");
    let restored = b.fs.restore(&entries[0].id).unwrap();
    assert_eq!(std::fs::read(restored).unwrap(), original);
}

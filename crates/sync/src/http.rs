//! The PhotoProOS Storage remote: HTTP to the hosted API, bytes straight to
//! the object store through the presigned URLs the API hands out. The client
//! never holds object-store credentials.
//!
//! Node ids are the API's asset and folder ids (UUIDs); a file's hash is its
//! SHA-256 (pair with `DiskFs::with_hash(HashKind::Sha256)`), which the store
//! verifies on upload.
//!
//! Multipart uploads (large files) are journaled part by part when a resume
//! directory is set: after a crash or a lost connection the next attempt asks
//! the API for fresh URLs of the same reservation and sends only the parts the
//! store does not have yet — interrupted at 80 %, it resumes at 80 %.
//!
//! Uploads and downloads of a batch run several at once (8 files, and 4 parts
//! of one large file, by default), with byte progress and bandwidth limits
//! through a [`Meter`]. A new version replaces the old one atomically (the API
//! trashes the old asset in the transaction that completes the new one), and
//! content the organization already stores is never sent again: `upload_known`
//! asks the API for a server-side copy first.

use crate::model::*;
use crate::names::name_key;
use crate::progress::{Direction, Meter, MeteredRead, TransferId};
use crate::{BatchIo, Remote, SyncError, TransferDone, TransferJob};
use photopro_wire as wire;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct HttpRemote {
    conn: Conn,
    /// The last snapshot (plus this client's changes since), indexed for the
    /// contract's name and emptiness checks.
    observed: Observed,
    /// Content the organization stores (live or trashed) as of the last
    /// snapshot, plus what this client stored since: only for these is the
    /// content-addressed copy worth asking for.
    known: std::collections::HashSet<Hash>,
    /// Everything the organization has (live and trashed) as of `mirror.cursor`,
    /// kept current from the change journal.
    mirror: Option<Mirror>,
    /// Assets that came back from the trash (restored by some device, or
    /// re-created from trashed content by this one): counted as restores.
    restores: std::collections::HashSet<RemoteId>,
    full_listing_due: bool,
    /// Transfers run at once by `transfer_batch`.
    parallel: usize,
    /// Upload bytes held in memory at once by `transfer_batch` (a single
    /// larger file still goes, alone).
    memory_budget: u64,
    /// Bytes sent to the object store by this client (for progress and tests).
    pub bytes_sent: u64,
    /// Test seam: fail with a transient error after this many parts are sent
    /// (a single-part upload's one PUT counts as a part), as a crash or a
    /// dropped connection would.
    pub fail_after_parts: Option<usize>,
}

/// What a transfer thread needs: cheap to clone, `Send`.
#[derive(Clone)]
struct Conn {
    base: String,
    token: String,
    client: Client,
    /// Where multipart uploads in flight are journaled, so a restart resumes
    /// them at the part where they stopped instead of from zero.
    resume_dir: Option<std::path::PathBuf>,
    meter: Option<Meter>,
    /// Parts sent at once within one multipart upload.
    part_parallel: usize,
    sent: Arc<AtomicU64>,
    /// Parts that may still be sent before the test seam cuts the connection.
    parts_left: Option<Arc<AtomicUsize>>,
    /// Serializes journal writes of parts finishing together.
    journal: Arc<Mutex<()>>,
}

/// The remote tree with indexes for the checks every operation makes:
/// whether a name is taken in a folder, whether a folder is empty.
#[derive(Default)]
struct Observed {
    nodes: std::collections::HashMap<RemoteId, RemoteNode>,
    names: std::collections::HashMap<(Option<RemoteId>, String), Vec<RemoteId>>,
    children: std::collections::HashMap<RemoteId, usize>,
}

impl Observed {
    fn from_nodes(nodes: Vec<RemoteNode>) -> Observed {
        let mut observed = Observed::default();
        for node in nodes {
            observed.insert(node);
        }
        observed
    }

    fn get(&self, id: &RemoteId) -> Option<&RemoteNode> {
        self.nodes.get(id)
    }

    fn insert(&mut self, node: RemoteNode) {
        self.remove(&node.id);
        self.names
            .entry((node.parent.clone(), name_key(&node.name)))
            .or_default()
            .push(node.id.clone());
        if let Some(parent) = &node.parent {
            *self.children.entry(parent.clone()).or_default() += 1;
        }
        self.nodes.insert(node.id.clone(), node);
    }

    fn remove(&mut self, id: &RemoteId) -> Option<RemoteNode> {
        let node = self.nodes.remove(id)?;
        let key = (node.parent.clone(), name_key(&node.name));
        if let Some(ids) = self.names.get_mut(&key) {
            ids.retain(|other| other != id);
            if ids.is_empty() {
                self.names.remove(&key);
            }
        }
        if let Some(parent) = &node.parent {
            if let Some(count) = self.children.get_mut(parent) {
                *count -= 1;
                if *count == 0 {
                    self.children.remove(parent);
                }
            }
        }
        Some(node)
    }

    fn name_taken(&self, parent: Option<&RemoteId>, name: &str, except: Option<&RemoteId>) -> bool {
        self.names
            .get(&(parent.cloned(), name_key(name)))
            .is_some_and(|ids| ids.iter().any(|id| Some(id) != except))
    }

    fn has_children(&self, id: &RemoteId) -> bool {
        self.children.contains_key(id)
    }
}

/// What the mirror keeps of an asset: a third of a `wire::Asset`'s memory,
/// which matters for a library of a million photos.
struct MirrorAsset {
    folder: Option<uuid::Uuid>,
    name: NameRef,
    size: u64,
    sha256: [u8; 32],
    modified: Option<i64>,
    trashed: bool,
}

/// Where an asset's name lies in [`NameArena`].
#[derive(Debug, Clone, Copy)]
struct NameRef {
    start: u32,
    len: u32,
}

/// The mirror's asset names packed into one buffer: one allocation instead
/// of one small block per asset. An idle daemon's long-lived memory must not
/// be a hundred thousand small blocks allocated in the middle of a large
/// pass: each pins the page it sits on after the pass's own memory is freed,
/// and the allocator cannot give those pages back (the daemon held ~90 MB
/// more after a 100,000-file first sync than after a restart; BENCHMARKS.md).
#[derive(Default)]
struct NameArena {
    text: String,
    /// Bytes of `text` no asset refers to any more (renamed or removed).
    garbage: usize,
}

impl NameArena {
    fn push(&mut self, name: &str) -> NameRef {
        let start = self.text.len();
        self.text.push_str(name);
        NameRef {
            start: u32::try_from(start).expect("asset names under 4 GiB in all"),
            len: name.len() as u32,
        }
    }

    fn get(&self, name: NameRef) -> &str {
        &self.text[name.start as usize..(name.start + name.len) as usize]
    }

    fn release(&mut self, name: NameRef) {
        self.garbage += name.len as usize;
    }
}

/// The organization's folders and assets as the API last reported them.
struct Mirror {
    cursor: String,
    folders: std::collections::HashMap<String, wire::Folder>,
    assets: std::collections::HashMap<uuid::Uuid, MirrorAsset>,
    names: NameArena,
}

impl Mirror {
    fn new(cursor: String, folders: std::collections::HashMap<String, wire::Folder>) -> Mirror {
        Mirror {
            cursor,
            folders,
            assets: Default::default(),
            names: NameArena::default(),
        }
    }

    fn insert(&mut self, asset: &wire::Asset) {
        let mut sha256 = [0u8; 32];
        // The API validates hashes as 64 lowercase hex digits.
        let _ = hex::decode_to_slice(&asset.content_sha256, &mut sha256);
        let name = match self.assets.get(&asset.id) {
            Some(old) if self.names.get(old.name) == asset.name => old.name,
            Some(old) => {
                let old = old.name;
                self.names.release(old);
                self.names.push(&asset.name)
            }
            None => self.names.push(&asset.name),
        };
        self.assets.insert(
            asset.id,
            MirrorAsset {
                folder: asset.folder_id,
                name,
                size: asset.size_bytes,
                sha256,
                modified: asset.modified_at,
                trashed: asset.trashed_at.is_some(),
            },
        );
    }

    fn remove(&mut self, id: &uuid::Uuid) {
        if let Some(old) = self.assets.remove(id) {
            self.names.release(old.name);
        }
        self.compact_names();
    }

    fn name(&self, asset: &MirrorAsset) -> &str {
        self.names.get(asset.name)
    }

    /// Rewrite the names once most of the buffer is garbage (after many
    /// renames and deletions), so it stays proportional to the library.
    fn compact_names(&mut self) {
        if self.names.garbage < 1 << 20 || self.names.garbage * 2 < self.names.text.len() {
            return;
        }
        let mut compact = NameArena {
            text: String::with_capacity(self.names.text.len() - self.names.garbage),
            garbage: 0,
        };
        for asset in self.assets.values_mut() {
            asset.name = compact.push(self.names.get(asset.name));
        }
        self.names = compact;
    }
}

/// The journal of one upload in flight, keyed by content hash: its
/// reservation, and for multipart the parts stored so far.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct ResumeRecord {
    reservation_id: String,
    /// Part number → ETag of the parts the store has acknowledged.
    parts: std::collections::BTreeMap<u32, String>,
    /// A single-part upload: nothing of it resumes but the reservation, which
    /// a retry reuses instead of holding the file's bytes a second time.
    #[serde(default)]
    single: bool,
    /// Where the reservation puts the file ([`Placement::key`]); a
    /// single-part reservation is reused only for the same place.
    #[serde(default)]
    placement: Option<String>,
}

fn transport(error: reqwest::Error) -> SyncError {
    if error.is_connect() {
        SyncError::Unavailable(format!("cannot reach the PhotoProOS Storage API: {error}"))
    } else {
        SyncError::Transient {
            message: error.to_string(),
            retry_after_ms: None,
        }
    }
}

/// Where an upload or a copy goes, and what it carries besides the bytes.
struct Placement<'a> {
    parent: Option<&'a RemoteId>,
    name: &'a str,
    replaces: Option<&'a (RemoteId, Hash)>,
    /// The file's modification time (Unix ms), restored on other devices.
    modified: Option<i64>,
}

/// Run a transfer thread's work so that it always reports: a panic becomes
/// an error for that one job instead of a batch waiting forever.
fn reported(
    work: impl FnOnce() -> Result<TransferDone, SyncError>,
) -> Result<TransferDone, SyncError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(SyncError::Io(
            "a transfer thread failed unexpectedly".into(),
        ))
    })
}

/// The `replaces` member of a reserve or copy request.
impl Placement<'_> {
    /// The folder, name and replaced version, as one comparable string.
    fn key(&self) -> String {
        format!(
            "{:?}\u{0}{}\u{0}{:?}",
            self.parent, self.name, self.replaces
        )
    }
}

fn replaces_body(replaces: Option<&(RemoteId, Hash)>) -> serde_json::Value {
    match replaces {
        Some((asset_id, content_sha256)) => {
            serde_json::json!({ "asset_id": asset_id, "content_sha256": content_sha256 })
        }
        None => serde_json::Value::Null,
    }
}

/// Sort an HTTP failure into what the engine should do about it.
fn classify(response: Response) -> SyncError {
    let status = response.status();
    let retry_after_ms = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|seconds| seconds * 1000);
    let body: Option<wire::ErrorBody> = response.json().ok();
    let message = body
        .as_ref()
        .map(|b| format!("{}: {}", b.error, b.message))
        .unwrap_or_else(|| status.to_string());
    match status {
        s if body.as_ref().is_some_and(|b| b.error == "quota_exceeded")
            || s == StatusCode::INSUFFICIENT_STORAGE =>
        {
            SyncError::StorageFull(message)
        }
        StatusCode::TOO_MANY_REQUESTS => SyncError::Transient {
            message,
            retry_after_ms,
        },
        s if s.is_server_error() => SyncError::Transient {
            message,
            retry_after_ms,
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            SyncError::Unavailable(format!("not signed in: {message}"))
        }
        StatusCode::NOT_FOUND | StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => {
            SyncError::Precondition(message)
        }
        StatusCode::BAD_REQUEST
        | StatusCode::PAYLOAD_TOO_LARGE
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::URI_TOO_LONG => SyncError::Refused(message),
        _ => SyncError::Precondition(message),
    }
}

impl HttpRemote {
    pub fn new(base_url: &str, token: &str) -> Result<HttpRemote, SyncError> {
        let client = Client::builder()
            .timeout(Duration::from_secs(300))
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|e| SyncError::Unavailable(e.to_string()))?;
        Ok(HttpRemote {
            conn: Conn {
                base: base_url.trim_end_matches('/').to_string(),
                token: token.to_string(),
                client,
                resume_dir: None,
                meter: None,
                part_parallel: 4,
                sent: Arc::new(AtomicU64::new(0)),
                parts_left: None,
                journal: Arc::new(Mutex::new(())),
            },
            observed: Observed::default(),
            known: Default::default(),
            mirror: None,
            restores: Default::default(),
            full_listing_due: false,
            parallel: 8,
            memory_budget: 256 << 20,
            bytes_sent: 0,
            fail_after_parts: None,
        })
    }

    /// Journal multipart uploads under `dir` so they survive restarts.
    pub fn with_resume_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.conn.resume_dir = Some(dir.into());
        self
    }

    /// Report byte progress to `meter` and honour its bandwidth limits.
    pub fn with_meter(mut self, meter: Meter) -> Self {
        self.conn.meter = Some(meter);
        self
    }

    /// Files transferred at once (default 8) and parts of one large upload
    /// sent at once (default 4).
    pub fn with_parallelism(mut self, files: usize, parts: usize) -> Self {
        self.parallel = files.max(1);
        self.conn.part_parallel = parts.max(1);
        self
    }

    /// The API's change cursor: when it moves, another device changed something.
    pub fn latest_cursor(&self) -> Result<String, SyncError> {
        let cursor: wire::Cursor = self
            .conn
            .send(self.conn.client.get(self.conn.url("/v1/changes/latest")))?;
        Ok(cursor.cursor)
    }

    /// Make the next snapshot a full listing (the daemon's periodic safety net).
    pub fn force_full_listing(&mut self) {
        self.full_listing_due = true;
    }

    /// Every folder and asset (live and trashed), with the journal cursor
    /// taken *before* listing so that no change made meanwhile is missed
    /// (replaying one is harmless: changes carry full states).
    fn list_everything(&self) -> Result<Mirror, SyncError> {
        let cursor = self.latest_cursor()?;
        let folders: wire::FolderList = self.send(self.client().get(self.url("/v1/folders")))?;
        let mut mirror = Mirror::new(
            cursor,
            folders
                .folders
                .into_iter()
                .map(|f| (f.id.to_string(), f))
                .collect(),
        );
        let mut after: Option<String> = None;
        loop {
            let mut request = self
                .client()
                .get(self.url("/v1/assets"))
                .query(&[("limit", "1000")]);
            if let Some(after) = &after {
                request = request.query(&[("after", after.as_str())]);
            }
            let page: wire::AssetPage = self.send(request)?;
            for asset in &page.assets {
                mirror.insert(asset);
            }
            match page.next_after {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        Ok(mirror)
    }

    /// Apply the journal since `mirror.cursor`. `false`: the API no longer has
    /// those changes (`cursor_reset`), list everything instead.
    fn catch_up(
        &self,
        mirror: &mut Mirror,
        restored: &mut Vec<RemoteId>,
    ) -> Result<bool, SyncError> {
        loop {
            let response = self
                .client()
                .get(self.url("/v1/changes"))
                .query(&[("cursor", mirror.cursor.as_str()), ("limit", "1000")])
                .bearer_auth(&self.conn.token)
                .send()
                .map_err(transport)?;
            if response.status() == StatusCode::GONE {
                return Ok(false);
            }
            if !response.status().is_success() {
                return Err(classify(response));
            }
            let page: wire::ChangePage = response.json().map_err(|e| SyncError::Transient {
                message: format!("bad response: {e}"),
                retry_after_ms: None,
            })?;
            for change in page.changes {
                match change {
                    wire::Change::AssetUpserted { asset, .. } => {
                        let was_trashed = mirror.assets.get(&asset.id).is_some_and(|a| a.trashed);
                        if was_trashed && asset.trashed_at.is_none() {
                            restored.push(asset.id.to_string());
                        }
                        mirror.insert(&asset);
                    }
                    wire::Change::AssetDeleted { asset_id, .. } => {
                        mirror.remove(&asset_id);
                    }
                    wire::Change::FolderUpserted { folder, .. } => {
                        mirror.folders.insert(folder.id.to_string(), folder);
                    }
                    wire::Change::FolderDeleted { folder_id, .. } => {
                        mirror.folders.remove(&folder_id.to_string());
                    }
                }
            }
            mirror.cursor = page.cursor;
            if !page.has_more {
                return Ok(true);
            }
        }
    }

    /// Before a call: arm the test seam and remember the counters.
    fn arm(&mut self) {
        self.conn.parts_left = self.fail_after_parts.map(|n| Arc::new(AtomicUsize::new(n)));
    }

    /// After a call: carry the thread-shared counter over to the public field.
    fn settle(&mut self) {
        self.bytes_sent = self.conn.sent.load(Ordering::Relaxed);
    }

    fn name_taken(&self, parent: Option<&RemoteId>, name: &str, except: Option<&RemoteId>) -> bool {
        self.observed.name_taken(parent, name, except)
    }

    /// Drop what is only needed from one snapshot to the end of its pass
    /// (an idle daemon keeps only the mirror of the remote).
    pub fn release_pass_memory(&mut self) {
        self.observed = Observed::default();
        self.known = Default::default();
        self.restores = Default::default();
    }

    /// Whether the organization holds `hash` only in its trash (no live
    /// asset has it): storing it again is a restore.
    fn only_in_trash(&self, hash: &Hash) -> bool {
        let Some(mirror) = &self.mirror else {
            return false;
        };
        let mut wanted = [0u8; 32];
        if hex::decode_to_slice(hash, &mut wanted).is_err() {
            return false;
        }
        let mut trashed = false;
        for asset in mirror.assets.values().filter(|a| a.sha256 == wanted) {
            if !asset.trashed {
                return false;
            }
            trashed = true;
        }
        trashed
    }

    fn asset_node(asset: &wire::Asset) -> RemoteNode {
        RemoteNode {
            id: asset.id.to_string(),
            parent: asset.folder_id.map(|f| f.to_string()),
            name: asset.name.clone(),
            kind: Kind::File,
            hash: Some(asset.content_sha256.clone()),
            size: asset.size_bytes,
        }
    }

    fn folder_node(folder: &wire::Folder) -> RemoteNode {
        RemoteNode {
            id: folder.id.to_string(),
            parent: folder.parent_id.map(|f| f.to_string()),
            name: folder.name.clone(),
            kind: Kind::Dir,
            hash: None,
            size: 0,
        }
    }

    /// Remote ids go back to the API as they came (UUID text).
    fn parse_uuid(id: Option<&RemoteId>) -> Result<Option<String>, SyncError> {
        Ok(id.cloned())
    }

    fn url(&self, path: &str) -> String {
        self.conn.url(path)
    }

    fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<T, SyncError> {
        self.conn.send(request)
    }

    fn client(&self) -> &Client {
        &self.conn.client
    }
}

impl Conn {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<T, SyncError> {
        let response = request.bearer_auth(&self.token).send().map_err(transport)?;
        if !response.status().is_success() {
            return Err(classify(response));
        }
        response.json().map_err(|e| SyncError::Transient {
            message: format!("bad response: {e}"),
            retry_after_ms: None,
        })
    }

    fn resume_path(&self, hash: &Hash) -> Option<std::path::PathBuf> {
        self.resume_dir
            .as_ref()
            .map(|dir| dir.join(format!("{hash}.json")))
    }

    fn load_resume(&self, hash: &Hash) -> Option<ResumeRecord> {
        let bytes = std::fs::read(self.resume_path(hash)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn save_resume(&self, hash: &Hash, record: &ResumeRecord) {
        if let Some(path) = self.resume_path(hash) {
            let _guard = self.journal.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let temp = path.with_extension("tmp");
            if std::fs::write(&temp, serde_json::to_vec(record).expect("serializes")).is_ok() {
                let _ = std::fs::rename(temp, path);
            }
        }
    }

    fn forget_resume(&self, hash: &Hash) {
        if let Some(path) = self.resume_path(hash) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// A reservation for these bytes: the journaled one if the API still holds
    /// it (with fresh URLs and the parts already stored), else a new one.
    fn reservation_for(
        &self,
        to: &Placement<'_>,
        size: u64,
        hash: &Hash,
    ) -> Result<(wire::Reservation, ResumeRecord), SyncError> {
        let placement = to.key();
        let journaled = self.load_resume(hash);
        if let Some(stale) = journaled
            .as_ref()
            .filter(|record| record.single && record.placement.as_ref() != Some(&placement))
        {
            // Reserved for another place (the file was renamed or moved since
            // the failed attempt): give those bytes back now, not in 2 h. If
            // the API is unreachable, the next start cancels it.
            self.cancel_quietly(&stale.reservation_id);
            self.forget_resume(hash);
        }
        if let Some(mut record) = self
            .load_resume(hash)
            .filter(|record| !record.single || record.placement.as_ref() == Some(&placement))
        {
            let status: Result<wire::UploadStatus, SyncError> = self.send(
                self.client
                    .get(self.url(&format!("/v1/uploads/{}", record.reservation_id))),
            );
            match status {
                Ok(status) if status.reservation.size_bytes == size => {
                    // The store's list is the truth, not this journal: a part
                    // the store acknowledged may not have survived a crash of
                    // the store (it is sent again), and one whose answer was
                    // lost may be there (it is not).
                    let journaled = std::mem::take(&mut record.parts);
                    for part in status.uploaded_parts {
                        let etag = part
                            .etag
                            .or_else(|| journaled.get(&part.part_number).cloned());
                        if let Some(etag) = etag {
                            record.parts.insert(part.part_number, etag);
                        }
                    }
                    return Ok((status.reservation, record));
                }
                // Expired, completed or unknown: start over.
                Ok(_) | Err(SyncError::Precondition(_) | SyncError::Refused(_)) => {
                    self.forget_resume(hash)
                }
                Err(other) => return Err(other),
            }
        }
        let request = serde_json::json!({
            "size_bytes": size,
            "content_sha256": hash,
            "name": to.name,
            "folder_id": to.parent,
            "replaces": replaces_body(to.replaces),
            "modified_at": to.modified,
        });
        let reservation: wire::Reservation =
            self.send(self.client.post(self.url("/v1/uploads")).json(&request))?;
        let single = matches!(reservation.upload, wire::UploadPlan::Single { .. });
        let record = ResumeRecord {
            reservation_id: reservation.reservation_id.to_string(),
            parts: Default::default(),
            single,
            placement: Some(placement),
        };
        if single {
            // Journaled before the PUT: a retry after it fails reuses this
            // reservation instead of holding the bytes again.
            self.save_resume(hash, &record);
        }
        Ok((reservation, record))
    }

    /// `DELETE /v1/uploads/{id}`, best effort: a reservation this client
    /// gives up. If it fails the reservation stays until the next start
    /// cancels it (or it expires).
    fn cancel_quietly(&self, reservation_id: &str) {
        let _ = self
            .client
            .delete(self.url(&format!("/v1/uploads/{reservation_id}")))
            .bearer_auth(&self.token)
            .send();
    }

    /// PUT one body to a presigned URL: metered and paced when a bandwidth
    /// limit is set, as one buffer otherwise. The caller reads the status
    /// (an expired URL and an existing key have their own answers).
    fn put_raw(
        &self,
        url: &str,
        headers: &[wire::HeaderPair],
        body: Vec<u8>,
        transfer: Option<TransferId>,
    ) -> Result<Response, SyncError> {
        let len = body.len() as u64;
        // Slow uplinks: a large body may take longer than the client's default
        // timeout; allow at least 64 KiB/s.
        let mut put = self
            .client
            .put(url)
            .timeout(Duration::from_secs(300).max(Duration::from_secs(len / 65_536)));
        for header in headers {
            put = put.header(&header.name, &header.value);
        }
        put = match (&self.meter, transfer) {
            (Some(meter), Some(id)) if meter.is_limited(Direction::Upload) => {
                let reader = MeteredRead::new(std::io::Cursor::new(body), meter.clone(), id);
                put.body(reqwest::blocking::Body::sized(reader, len))
            }
            _ => put.body(body),
        };
        let response = put.send().map_err(transport)?;
        if !response.status().is_success() {
            return Ok(response);
        }
        self.sent.fetch_add(len, Ordering::Relaxed);
        if let (Some(meter), Some(id)) = (&self.meter, transfer) {
            if !meter.is_limited(Direction::Upload) {
                meter.moved(id, len);
            }
        }
        Ok(response)
    }

    /// Send the bytes through a reservation and complete it. The name and
    /// `replaces` preconditions are the caller's (see `HttpRemote::upload`).
    fn upload_bytes(
        &self,
        to: &Placement<'_>,
        bytes: Vec<u8>,
        hash: &Hash,
        transfer: Option<TransferId>,
    ) -> Result<(wire::Asset, u64), SyncError> {
        let (reservation, record) = self.reservation_for(to, bytes.len() as u64, hash)?;
        let (completed_parts, sent) = match &reservation.upload {
            wire::UploadPlan::Single { url, headers } => {
                let len = bytes.len() as u64;
                self.put_single(&reservation, url, headers, bytes, transfer)?;
                (Vec::new(), len)
            }
            wire::UploadPlan::Multipart {
                part_size_bytes,
                parts,
            } => self.upload_parts(
                &reservation,
                &bytes,
                *part_size_bytes,
                parts,
                hash,
                record,
                transfer,
            )?,
        };
        // The API creates the new asset and trashes the replaced version in one
        // transaction, re-checking that version first.
        let multipart = !completed_parts.is_empty();
        let complete = wire::CompleteRequest {
            parts: completed_parts,
        };
        let asset: wire::Asset = self
            .send(
                self.client
                    .post(self.url(&format!(
                        "/v1/uploads/{}/complete",
                        reservation.reservation_id
                    )))
                    .json(&complete),
            )
            .map_err(|error| match error {
                // The store lacks a part this client believed stored (the
                // store crashed after acknowledging it): the reservation
                // stays open and the next attempt resumes from the store's
                // own list of parts — a retry, not a file to give up on.
                SyncError::Refused(message) if multipart => SyncError::Transient {
                    message,
                    retry_after_ms: None,
                },
                other => other,
            })?;
        self.forget_resume(hash);
        Ok((asset, sent))
    }

    /// The one PUT of a single-part upload. Its URL lives minutes: when the
    /// store says it expired (403), a fresh one comes from
    /// `GET /v1/uploads/{id}`. The URL only creates the key (`If-None-Match:
    /// *`), so 412 means an earlier attempt already stored the bytes:
    /// completion verifies them.
    fn put_single(
        &self,
        reservation: &wire::Reservation,
        url: &str,
        headers: &[wire::HeaderPair],
        bytes: Vec<u8>,
        transfer: Option<TransferId>,
    ) -> Result<(), SyncError> {
        self.test_seam()?;
        let response = self.put_raw(url, headers, bytes.clone(), transfer)?;
        let response = if response.status() == StatusCode::FORBIDDEN {
            let status: wire::UploadStatus = self.send(
                self.client
                    .get(self.url(&format!("/v1/uploads/{}", reservation.reservation_id))),
            )?;
            let wire::UploadPlan::Single { url, headers } = &status.reservation.upload else {
                return Err(SyncError::Precondition(
                    "the reservation changed from single-part to multipart".into(),
                ));
            };
            self.put_raw(url, headers, bytes, transfer)?
        } else {
            response
        };
        match response.status() {
            s if s.is_success() || s == StatusCode::PRECONDITION_FAILED => Ok(()),
            _ => Err(classify(response)),
        }
    }

    /// The test seam: a connection that dies after N bodies (parts, or the
    /// one body of a single-part upload) were sent.
    fn test_seam(&self) -> Result<(), SyncError> {
        if let Some(left) = &self.parts_left {
            if left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_err()
            {
                return Err(SyncError::Transient {
                    message: "connection lost mid-upload (test seam)".into(),
                    retry_after_ms: None,
                });
            }
        }
        Ok(())
    }

    /// A presigned URL for one part, bound to the SHA-256 of its bytes
    /// (`POST /v1/uploads/{id}/parts`); asked for just before the part is
    /// sent, so it is always fresh.
    fn part_url(
        &self,
        reservation: &wire::Reservation,
        part_number: u32,
        body: &[u8],
    ) -> Result<wire::PartUpload, SyncError> {
        use sha2::Digest as _;
        let request = wire::PartUrlsRequest {
            parts: vec![wire::PartChecksum {
                part_number,
                content_sha256: hex::encode(sha2::Sha256::digest(body)),
            }],
        };
        let urls: wire::PartUrls = self.send(
            self.client
                .post(self.url(&format!("/v1/uploads/{}/parts", reservation.reservation_id)))
                .json(&request),
        )?;
        urls.parts
            .into_iter()
            .find(|part| part.part_number == part_number && part.url.is_some())
            .ok_or_else(|| SyncError::Transient {
                message: format!("the API gave no URL for part {part_number}"),
                retry_after_ms: None,
            })
    }

    /// The parts of a multipart upload, `part_parallel` at a time, each
    /// journaled as the store acknowledges it; parts already journaled are
    /// skipped.
    #[allow(clippy::too_many_arguments)]
    fn upload_parts(
        &self,
        reservation: &wire::Reservation,
        bytes: &[u8],
        part_size: u64,
        parts: &[wire::PartUpload],
        hash: &Hash,
        record: ResumeRecord,
        transfer: Option<TransferId>,
    ) -> Result<(Vec<wire::CompletedPart>, u64), SyncError> {
        self.save_resume(hash, &record);
        // Parts stored by an earlier run are not sent again: they leave this
        // pass's total instead of counting as moved, so the progress and the
        // pass summary both show the bytes this run sends.
        let resumed: u64 = parts
            .iter()
            .filter(|p| record.parts.contains_key(&p.part_number))
            .map(|p| p.size_bytes)
            .sum();
        if let (Some(meter), Some(id)) = (&self.meter, transfer) {
            meter.skipped(id, resumed);
        }
        let todo: Vec<&wire::PartUpload> = parts
            .iter()
            .filter(|p| !record.parts.contains_key(&p.part_number))
            .collect();
        let sending: u64 = todo.iter().map(|p| p.size_bytes).sum();
        let record = Mutex::new(record);
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<SyncError>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..self.part_parallel.min(todo.len()) {
                scope.spawn(|| loop {
                    if failure.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                        return;
                    }
                    let Some(part) = todo.get(next.fetch_add(1, Ordering::SeqCst)) else {
                        return;
                    };
                    let result = self.upload_part(reservation, bytes, part_size, part, transfer);
                    match result {
                        Ok(etag) => {
                            let mut record = record.lock().unwrap_or_else(|p| p.into_inner());
                            record.parts.insert(part.part_number, etag);
                            self.save_resume(hash, &record);
                        }
                        Err(error) => {
                            failure
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(error);
                            return;
                        }
                    }
                });
            }
        });
        if let Some(error) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(error);
        }
        let record = record.into_inner().unwrap_or_else(|p| p.into_inner());
        let completed = parts
            .iter()
            .map(|p| wire::CompletedPart {
                part_number: p.part_number,
                etag: record
                    .parts
                    .get(&p.part_number)
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        Ok((completed, sending))
    }

    fn upload_part(
        &self,
        reservation: &wire::Reservation,
        bytes: &[u8],
        part_size: u64,
        part: &wire::PartUpload,
        transfer: Option<TransferId>,
    ) -> Result<String, SyncError> {
        self.test_seam()?;
        let start = ((part.part_number as u64 - 1) * part_size) as usize;
        let end = (start + part.size_bytes as usize).min(bytes.len());
        let body = &bytes[start..end];
        let signed = self.part_url(reservation, part.part_number, body)?;
        let url = signed.url.as_deref().unwrap_or_default();
        let mut response = self.put_raw(url, &signed.headers, body.to_vec(), transfer)?;
        if response.status() == StatusCode::FORBIDDEN {
            // Expired while waiting its turn: one fresh URL, once.
            let signed = self.part_url(reservation, part.part_number, body)?;
            let url = signed.url.as_deref().unwrap_or_default();
            response = self.put_raw(url, &signed.headers, body.to_vec(), transfer)?;
        }
        if !response.status().is_success() {
            return Err(classify(response));
        }
        Ok(response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string())
    }

    /// The content-addressed shortcut: `POST /v1/assets/copy` makes a new
    /// asset from content the organization already stores; `None` when the
    /// API answers `content_unknown`.
    fn upload_known(
        &self,
        to: &Placement<'_>,
        hash: &Hash,
    ) -> Result<Option<wire::Asset>, SyncError> {
        let body = serde_json::json!({
            "content_sha256": hash,
            "folder_id": to.parent,
            "name": to.name,
            "replaces": replaces_body(to.replaces),
            "modified_at": to.modified,
        });
        let response = self
            .client
            .post(self.url("/v1/assets/copy"))
            .json(&body)
            .bearer_auth(&self.token)
            .send()
            .map_err(transport)?;
        if response.status() == StatusCode::NOT_FOUND {
            let body: Option<wire::ErrorBody> = response.json().ok();
            return match body {
                Some(body) if body.error == "content_unknown" => Ok(None),
                Some(body) => Err(SyncError::Precondition(format!(
                    "{}: {}",
                    body.error, body.message
                ))),
                None => Err(SyncError::Precondition("not found".into())),
            };
        }
        if !response.status().is_success() {
            return Err(classify(response));
        }
        response.json().map(Some).map_err(|e| SyncError::Transient {
            message: format!("bad response: {e}"),
            retry_after_ms: None,
        })
    }

    fn download(
        &self,
        id: &RemoteId,
        hash: &Hash,
        transfer: Option<TransferId>,
    ) -> Result<Vec<u8>, SyncError> {
        use std::io::Read;
        let download: wire::Download = self.send(
            self.client
                .get(self.url(&format!("/v1/assets/{id}/download"))),
        )?;
        let response = self.client.get(&download.url).send().map_err(transport)?;
        if !response.status().is_success() {
            return Err(classify(response));
        }
        let mut bytes = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
        let read = match (&self.meter, transfer) {
            (Some(meter), Some(t)) => {
                MeteredRead::new(response, meter.clone(), t).read_to_end(&mut bytes)
            }
            _ => {
                let mut response = response;
                response.read_to_end(&mut bytes)
            }
        };
        read.map_err(|e| SyncError::Transient {
            message: format!("download of {id} cut off: {e}"),
            retry_after_ms: None,
        })?;
        if &crate::disk::HashKind::Sha256.of_bytes(&bytes) != hash {
            return Err(SyncError::Corrupt(format!(
                "download of {id} does not match its SHA-256"
            )));
        }
        Ok(bytes)
    }
}

impl Remote for HttpRemote {
    /// The first call lists everything; later calls apply the API's change
    /// journal since the last cursor (a few small requests instead of a full
    /// listing of a library of a million photos), falling back to a full
    /// listing when the journal says `cursor_reset`.
    fn snapshot(&mut self) -> Result<RemoteTree, SyncError> {
        let mut restored = Vec::new();
        let mirror = match self.mirror.take() {
            Some(mut mirror) if !self.full_listing_due => {
                match self.catch_up(&mut mirror, &mut restored)? {
                    true => mirror,
                    false => self.list_everything()?,
                }
            }
            _ => self.list_everything()?,
        };
        self.restores.extend(restored);
        self.full_listing_due = false;
        let live_folders: std::collections::HashSet<&str> = mirror
            .folders
            .iter()
            .filter(|(_, f)| f.trashed_at.is_none())
            .map(|(id, _)| id.as_str())
            .collect();
        let mut nodes: Vec<RemoteNode> = mirror
            .folders
            .values()
            .filter(|f| f.trashed_at.is_none())
            .map(Self::folder_node)
            .collect();
        let mut known = std::collections::HashSet::new();
        for (id, asset) in &mirror.assets {
            let hash = hex::encode(asset.sha256);
            // An asset in a trashed folder is not live either.
            if !asset.trashed
                && asset
                    .folder
                    .is_none_or(|f| live_folders.contains(f.to_string().as_str()))
            {
                nodes.push(RemoteNode {
                    id: id.to_string(),
                    parent: asset.folder.map(|f| f.to_string()),
                    name: mirror.name(asset).to_string(),
                    kind: Kind::File,
                    hash: Some(hash.clone()),
                    size: asset.size,
                });
            }
            known.insert(hash);
        }
        self.observed = Observed::from_nodes(nodes.clone());
        self.known = known;
        self.mirror = Some(mirror);
        Ok(RemoteTree::from_nodes(nodes))
    }

    fn create_dir(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
    ) -> Result<RemoteNode, SyncError> {
        if self.name_taken(parent, name, None) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        let body = serde_json::json!({ "parent_id": Self::parse_uuid(parent)?, "name": name });
        let folder: wire::Folder =
            self.send(self.client().post(self.url("/v1/folders")).json(&body))?;
        let node = Self::folder_node(&folder);
        self.observed.insert(node.clone());
        Ok(node)
    }

    fn upload_known(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        hash: &Hash,
        replaces: Option<&(RemoteId, Hash)>,
    ) -> Result<Option<RemoteNode>, SyncError> {
        if self.name_taken(parent, name, replaces.map(|r| &r.0)) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        if !self.known.contains(hash) {
            return Ok(None);
        }
        let Some(asset) = self.conn.upload_known(
            &Placement {
                parent,
                name,
                replaces,
                modified: None,
            },
            hash,
        )?
        else {
            return Ok(None);
        };
        if let Some((old, _)) = replaces {
            self.observed.remove(old);
        }
        let node = Self::asset_node(&asset);
        self.observed.insert(node.clone());
        Ok(Some(node))
    }

    fn upload(
        &mut self,
        parent: Option<&RemoteId>,
        name: &str,
        bytes: &[u8],
        hash: &Hash,
        replaces: Option<&(RemoteId, Hash)>,
    ) -> Result<RemoteNode, SyncError> {
        if self.name_taken(parent, name, replaces.map(|r| &r.0)) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        self.arm();
        let result = self.conn.upload_bytes(
            &Placement {
                parent,
                name,
                replaces,
                modified: None,
            },
            bytes.to_vec(),
            hash,
            None,
        );
        self.settle();
        let (asset, _sent) = result?;
        if let Some((old, _)) = replaces {
            self.observed.remove(old);
        }
        self.known.insert(hash.clone());
        let node = Self::asset_node(&asset);
        self.observed.insert(node.clone());
        Ok(node)
    }

    fn move_node(
        &mut self,
        id: &RemoteId,
        parent: Option<&RemoteId>,
        name: &str,
    ) -> Result<RemoteNode, SyncError> {
        let current = self
            .observed
            .get(id)
            .cloned()
            .ok_or_else(|| SyncError::Precondition(format!("{id} not observed")))?;
        if self.name_taken(parent, name, Some(id)) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        let kind = if current.kind == Kind::Dir {
            "folders"
        } else {
            "assets"
        };
        let mut node = current.clone();
        if current.parent.as_ref() != parent {
            let body = serde_json::json!({ "parent_id": Self::parse_uuid(parent)? });
            node = match current.kind {
                Kind::Dir => Self::folder_node(
                    &self.send(
                        self.client()
                            .post(self.url(&format!("/v1/{kind}/{id}/move")))
                            .json(&body),
                    )?,
                ),
                Kind::File => Self::asset_node(
                    &self.send(
                        self.client()
                            .post(self.url(&format!("/v1/{kind}/{id}/move")))
                            .json(&body),
                    )?,
                ),
            };
        }
        if current.name != name {
            let body = serde_json::json!({ "name": name });
            node = match current.kind {
                Kind::Dir => Self::folder_node(
                    &self.send(
                        self.client()
                            .patch(self.url(&format!("/v1/{kind}/{id}")))
                            .json(&body),
                    )?,
                ),
                Kind::File => Self::asset_node(
                    &self.send(
                        self.client()
                            .patch(self.url(&format!("/v1/{kind}/{id}")))
                            .json(&body),
                    )?,
                ),
            };
        }
        self.observed.insert(node.clone());
        Ok(node)
    }

    fn trash(&mut self, id: &RemoteId, hash: Option<&Hash>) -> Result<(), SyncError> {
        let current = self
            .observed
            .get(id)
            .cloned()
            .ok_or_else(|| SyncError::Precondition(format!("{id} not observed")))?;
        match current.kind {
            Kind::Dir => {
                if self.observed.has_children(id) {
                    return Err(SyncError::Precondition("folder is not empty".into()));
                }
                let _: wire::Folder =
                    self.send(self.client().delete(self.url(&format!("/v1/folders/{id}"))))?;
            }
            Kind::File => {
                let asset: wire::Asset =
                    self.send(self.client().get(self.url(&format!("/v1/assets/{id}"))))?;
                if Some(&asset.content_sha256) != hash || asset.trashed_at.is_some() {
                    return Err(SyncError::Precondition(
                        "remote version changed meanwhile".into(),
                    ));
                }
                let _: wire::Asset =
                    self.send(self.client().delete(self.url(&format!("/v1/assets/{id}"))))?;
            }
        }
        self.observed.remove(id);
        Ok(())
    }

    fn download(&mut self, id: &RemoteId, hash: &Hash) -> Result<Vec<u8>, SyncError> {
        self.conn.download(id, hash, None)
    }

    fn meter(&self) -> Option<&Meter> {
        self.conn.meter.as_ref()
    }

    fn is_restore(&self, id: &RemoteId) -> bool {
        self.restores.contains(id)
    }

    /// Up to `parallel` transfers at once, each on its own thread, with at
    /// most `memory_budget` bytes of uploads held at once. Jobs with the same
    /// content never run together: the later one waits and then finds the
    /// content stored (the content-addressed shortcut), so it is not sent twice.
    fn transfer_batch(
        &mut self,
        jobs: &[TransferJob],
        io: &mut dyn BatchIo,
    ) -> Result<(), SyncError> {
        self.arm();
        let (results_tx, results) =
            std::sync::mpsc::channel::<(usize, Result<TransferDone, SyncError>)>();
        let mut waiting: std::collections::VecDeque<usize> = (0..jobs.len()).collect();
        let mut running: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
        // Uploads of content the organization holds only in its trash: restores.
        let mut from_trash: std::collections::HashSet<usize> = Default::default();
        let mut stopped: Option<SyncError> = None;
        let outcome = std::thread::scope(|scope| {
            loop {
                // Start what fits.
                while stopped.is_none() && running.len() < self.parallel {
                    let busy: std::collections::HashSet<&Hash> =
                        running.keys().map(|&i| jobs[i].hash()).collect();
                    let held: u64 = running.values().sum();
                    let Some(position) =
                        waiting.iter().position(|&i| !busy.contains(jobs[i].hash()))
                    else {
                        break;
                    };
                    let i = waiting[position];
                    let size = jobs[i].size();
                    if !running.is_empty() && held + size > self.memory_budget {
                        break;
                    }
                    waiting.remove(position);
                    let conn = self.conn.clone();
                    let tx = results_tx.clone();
                    let transfer = conn
                        .meter
                        .as_ref()
                        .map(|m| m.start(jobs[i].direction(), jobs[i].path(), size));
                    match &jobs[i] {
                        TransferJob::Upload {
                            parent,
                            name,
                            hash,
                            replaces,
                            modified,
                            ..
                        } => {
                            if self.name_taken(
                                parent.as_ref(),
                                name,
                                replaces.as_ref().map(|r| &r.0),
                            ) {
                                if let (Some(m), Some(t)) = (&conn.meter, transfer) {
                                    m.finish(t, false);
                                }
                                if let Err(stop) = io.done(
                                    i,
                                    Err(SyncError::Precondition(format!("{name} is taken"))),
                                ) {
                                    stopped = Some(stop);
                                }
                                continue;
                            }
                            let bytes = match io.read(i) {
                                Ok(bytes) => bytes,
                                Err(error) => {
                                    if let (Some(m), Some(t)) = (&conn.meter, transfer) {
                                        m.finish(t, false);
                                    }
                                    if let Err(stop) = io.done(i, Err(error)) {
                                        stopped = Some(stop);
                                    }
                                    continue;
                                }
                            };
                            let (parent, name, hash, replaces, modified) = (
                                parent.clone(),
                                name.clone(),
                                hash.clone(),
                                replaces.clone(),
                                *modified,
                            );
                            let maybe_known = self.known.contains(&hash);
                            if maybe_known && self.only_in_trash(&hash) {
                                from_trash.insert(i);
                            }
                            running.insert(i, size);
                            scope.spawn(move || {
                                let result = reported(|| {
                                    let to = Placement {
                                        parent: parent.as_ref(),
                                        name: &name,
                                        replaces: replaces.as_ref(),
                                        modified,
                                    };
                                    let known = if maybe_known {
                                        conn.upload_known(&to, &hash)
                                    } else {
                                        Ok(None)
                                    };
                                    known.and_then(|known| match known {
                                        Some(asset) => {
                                            // Nothing goes over the wire: not part of the pass's bytes.
                                            if let (Some(m), Some(t)) = (&conn.meter, transfer) {
                                                m.skipped(t, size);
                                            }
                                            Ok(TransferDone::Uploaded {
                                                node: Self::asset_node(&asset),
                                                sent: 0,
                                            })
                                        }
                                        None => {
                                            let (asset, sent) =
                                                conn.upload_bytes(&to, bytes, &hash, transfer)?;
                                            Ok(TransferDone::Uploaded {
                                                node: Self::asset_node(&asset),
                                                sent,
                                            })
                                        }
                                    })
                                });
                                if let (Some(m), Some(t)) = (&conn.meter, transfer) {
                                    m.finish(t, result.is_ok());
                                }
                                let _ = tx.send((i, result));
                            });
                        }
                        TransferJob::Download { id, hash, .. } => {
                            let (id, hash) = (id.clone(), hash.clone());
                            let modified = uuid::Uuid::parse_str(&id)
                                .ok()
                                .and_then(|uuid| {
                                    self.mirror.as_ref().and_then(|m| m.assets.get(&uuid))
                                })
                                .and_then(|a| a.modified);
                            running.insert(i, 0);
                            scope.spawn(move || {
                                let result = reported(|| {
                                    conn.download(&id, &hash, transfer)
                                        .map(|bytes| TransferDone::Downloaded { bytes, modified })
                                });
                                if let (Some(m), Some(t)) = (&conn.meter, transfer) {
                                    m.finish(t, result.is_ok());
                                }
                                let _ = tx.send((i, result));
                            });
                        }
                    }
                }
                if running.is_empty() {
                    return stopped.take().map_or(Ok(()), Err);
                }
                let (i, result) = results.recv().expect("a transfer thread always reports");
                running.remove(&i);
                if let Ok(TransferDone::Uploaded { node, sent: 0 }) = &result {
                    if from_trash.contains(&i) {
                        self.restores.insert(node.id.clone());
                    }
                }
                if let Ok(TransferDone::Uploaded { node, .. }) = &result {
                    self.known.insert(jobs[i].hash().clone());
                    if let TransferJob::Upload {
                        replaces: Some((old, _)),
                        ..
                    } = &jobs[i]
                    {
                        self.observed.remove(old);
                    }
                    self.observed.insert(node.clone());
                }
                if let Err(stop) = io.done(i, result) {
                    stopped.get_or_insert(stop);
                }
            }
        });
        self.settle();
        outcome
    }
}

/// What [`HttpRemote::settle_leftover_reservations`] did with this device's
/// open reservations from an earlier run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftoverReservations {
    /// Journaled multipart uploads, kept: the next pass resumes them where they stopped.
    pub resumable: usize,
    /// Reservations nothing can resume (single-part uploads, journaled or
    /// not, and multipart ones whose journal is lost), cancelled.
    pub cancelled: usize,
    /// The bytes those held against the cap, free again.
    pub cancelled_bytes: u64,
}

impl HttpRemote {
    /// At start, before any pass: this device's open reservations left by a
    /// run that was killed or crashed. Multipart ones with a resume journal are kept
    /// (the next pass resumes them at the part where they stopped); every
    /// other one is cancelled at once, so it stops holding quota (it would
    /// until its expiry, up to 24 h for multipart). Must not run while this
    /// process has uploads in flight: they would look like leftovers.
    pub fn settle_leftover_reservations(&self) -> Result<LeftoverReservations, SyncError> {
        let open: wire::OpenUploadList = self.conn.send(
            self.conn
                .client
                .get(self.conn.url("/v1/uploads?state=open")),
        )?;
        let journaled = self.journaled_reservations();
        let mut report = LeftoverReservations::default();
        for upload in open.uploads {
            let journal = journaled.get(&upload.reservation_id.to_string());
            if upload.multipart && journal.is_some() {
                report.resumable += 1;
                continue;
            }
            // A single PUT resumes nothing (the bytes go again anyway): its
            // journal entry goes with the reservation.
            if let Some(path) = journal {
                let _ = std::fs::remove_file(path);
            }
            let response = self
                .conn
                .client
                .delete(
                    self.conn
                        .url(&format!("/v1/uploads/{}", upload.reservation_id)),
                )
                .bearer_auth(&self.conn.token)
                .send()
                .map_err(transport)?;
            match response.status() {
                // Cancelled now; or settled meanwhile (completed, expired): fine either way.
                status if status.is_success() => {
                    report.cancelled += 1;
                    report.cancelled_bytes += upload.size_bytes;
                }
                StatusCode::NOT_FOUND | StatusCode::CONFLICT | StatusCode::GONE => {}
                _ => return Err(classify(response)),
            }
        }
        Ok(report)
    }

    /// The reservation ids the resume journal holds, with their entries' files.
    fn journaled_reservations(&self) -> std::collections::HashMap<String, std::path::PathBuf> {
        let Some(dir) = &self.conn.resume_dir else {
            return Default::default();
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Default::default();
        };
        entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .filter_map(|path| {
                let record = serde_json::from_slice::<ResumeRecord>(&std::fs::read(&path).ok()?);
                Some((record.ok()?.reservation_id, path))
            })
            .collect()
    }

    /// Bytes that still fit under the organization's cap (limit minus used
    /// and reserved), from `GET /v1/usage`. The daemon polls this while the
    /// storage is full, so a raised cap or freed space is noticed within one
    /// poll rather than at the next periodic pass.
    pub fn free_bytes(&self) -> Result<u64, SyncError> {
        let usage: wire::Usage = self
            .conn
            .send(self.conn.client.get(self.conn.url("/v1/usage")))?;
        Ok(usage
            .limit_bytes
            .saturating_sub(usage.used_bytes)
            .saturating_sub(usage.reserved_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(id: u128, name: &str) -> wire::Asset {
        wire::Asset {
            id: uuid::Uuid::from_u128(id),
            folder_id: None,
            name: name.into(),
            size_bytes: 1,
            content_sha256: "ab".repeat(32),
            storage_class: wire::StorageClass::Standard,
            created_at: 0,
            updated_at: 0,
            trashed_at: None,
            modified_at: None,
        }
    }

    #[test]
    fn mirror_names_survive_renames_removals_and_compaction() {
        let mut mirror = Mirror::new(String::new(), Default::default());
        let long = "x".repeat(200);
        for i in 0..20_000u128 {
            mirror.insert(&asset(i, &format!("{long}-{i}.jpg")));
        }
        // Renames keep the latest name; unchanged names are not stored twice.
        mirror.insert(&asset(7, "Café.jpg"));
        let before = mirror.names.text.len();
        mirror.insert(&asset(8, &format!("{long}-8.jpg")));
        assert_eq!(
            mirror.names.text.len(),
            before,
            "same name: nothing appended"
        );
        // Removing most assets compacts the buffer to what is still named.
        for i in 100..20_000u128 {
            mirror.remove(&uuid::Uuid::from_u128(i));
        }
        assert_eq!(mirror.assets.len(), 100);
        let live: usize = mirror.assets.values().map(|a| a.name.len as usize).sum();
        assert!(
            mirror.names.text.len() < 2 * live + (1 << 20),
            "compacted: {} bytes for {live} live",
            mirror.names.text.len()
        );
        let id7 = &mirror.assets[&uuid::Uuid::from_u128(7)];
        assert_eq!(mirror.name(id7), "Café.jpg");
        let id42 = &mirror.assets[&uuid::Uuid::from_u128(42)];
        assert_eq!(mirror.name(id42), format!("{long}-42.jpg"));
    }
}

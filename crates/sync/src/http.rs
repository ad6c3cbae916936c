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
    full_listing_due: bool,
    /// Transfers run at once by `transfer_batch`.
    parallel: usize,
    /// Upload bytes held in memory at once by `transfer_batch` (a single
    /// larger file still goes, alone).
    memory_budget: u64,
    /// Bytes sent to the object store by this client (for progress and tests).
    pub bytes_sent: u64,
    /// Test seam: fail with a transient error after this many parts are sent,
    /// as a crash or a dropped connection would.
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
        self.names.entry((node.parent.clone(), name_key(&node.name))).or_default().push(node.id.clone());
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
    name: Box<str>,
    size: u64,
    sha256: [u8; 32],
    modified: Option<i64>,
    trashed: bool,
}

impl From<&wire::Asset> for MirrorAsset {
    fn from(asset: &wire::Asset) -> Self {
        let mut sha256 = [0u8; 32];
        // The API validates hashes as 64 lowercase hex digits.
        let _ = hex::decode_to_slice(&asset.content_sha256, &mut sha256);
        MirrorAsset {
            folder: asset.folder_id,
            name: asset.name.as_str().into(),
            size: asset.size_bytes,
            sha256,
            modified: asset.modified_at,
            trashed: asset.trashed_at.is_some(),
        }
    }
}

/// The organization's folders and assets as the API last reported them.
struct Mirror {
    cursor: String,
    folders: std::collections::HashMap<String, wire::Folder>,
    assets: std::collections::HashMap<uuid::Uuid, MirrorAsset>,
}

/// The journal of one multipart upload in flight, keyed by content hash.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct ResumeRecord {
    reservation_id: String,
    /// Part number → ETag of the parts the store has acknowledged.
    parts: std::collections::BTreeMap<u32, String>,
}

fn transport(error: reqwest::Error) -> SyncError {
    if error.is_connect() {
        SyncError::Unavailable(format!("cannot reach the PhotoProOS Storage API: {error}"))
    } else {
        SyncError::Transient { message: error.to_string(), retry_after_ms: None }
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
fn reported(work: impl FnOnce() -> Result<TransferDone, SyncError>) -> Result<TransferDone, SyncError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err(SyncError::Io("a transfer thread failed unexpectedly".into())))
}

/// The `replaces` member of a reserve or copy request.
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
    let message = body.as_ref().map(|b| format!("{}: {}", b.error, b.message)).unwrap_or_else(|| status.to_string());
    match status {
        s if body.as_ref().is_some_and(|b| b.error == "quota_exceeded") || s == StatusCode::INSUFFICIENT_STORAGE => {
            SyncError::StorageFull(message)
        }
        StatusCode::TOO_MANY_REQUESTS => SyncError::Transient { message, retry_after_ms },
        s if s.is_server_error() => SyncError::Transient { message, retry_after_ms },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SyncError::Unavailable(format!("not signed in: {message}")),
        StatusCode::NOT_FOUND | StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => SyncError::Precondition(message),
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
        let cursor: wire::Cursor = self.conn.send(self.conn.client.get(self.conn.url("/v1/changes/latest")))?;
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
        let mut mirror = Mirror {
            cursor,
            folders: folders.folders.into_iter().map(|f| (f.id.to_string(), f)).collect(),
            assets: Default::default(),
        };
        let mut after: Option<String> = None;
        loop {
            let mut request = self.client().get(self.url("/v1/assets")).query(&[("limit", "1000")]);
            if let Some(after) = &after {
                request = request.query(&[("after", after.as_str())]);
            }
            let page: wire::AssetPage = self.send(request)?;
            mirror.assets.extend(page.assets.iter().map(|a| (a.id, MirrorAsset::from(a))));
            match page.next_after {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        Ok(mirror)
    }

    /// Apply the journal since `mirror.cursor`. `false`: the API no longer has
    /// those changes (`cursor_reset`), list everything instead.
    fn catch_up(&self, mirror: &mut Mirror) -> Result<bool, SyncError> {
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
            let page: wire::ChangePage = response
                .json()
                .map_err(|e| SyncError::Transient { message: format!("bad response: {e}"), retry_after_ms: None })?;
            for change in page.changes {
                match change {
                    wire::Change::AssetUpserted { asset, .. } => {
                        mirror.assets.insert(asset.id, MirrorAsset::from(&asset));
                    }
                    wire::Change::AssetDeleted { asset_id, .. } => {
                        mirror.assets.remove(&asset_id);
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

    fn send<T: serde::de::DeserializeOwned>(&self, request: reqwest::blocking::RequestBuilder) -> Result<T, SyncError> {
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

    fn send<T: serde::de::DeserializeOwned>(&self, request: reqwest::blocking::RequestBuilder) -> Result<T, SyncError> {
        let response = request.bearer_auth(&self.token).send().map_err(transport)?;
        if !response.status().is_success() {
            return Err(classify(response));
        }
        response.json().map_err(|e| SyncError::Transient { message: format!("bad response: {e}"), retry_after_ms: None })
    }

    fn resume_path(&self, hash: &Hash) -> Option<std::path::PathBuf> {
        self.resume_dir.as_ref().map(|dir| dir.join(format!("{hash}.json")))
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
    fn reservation_for(&self, to: &Placement<'_>, size: u64, hash: &Hash) -> Result<(wire::Reservation, ResumeRecord), SyncError> {
        if let Some(mut record) = self.load_resume(hash) {
            let status: Result<wire::UploadStatus, SyncError> =
                self.send(self.client.get(self.url(&format!("/v1/uploads/{}", record.reservation_id))));
            match status {
                Ok(status) if status.reservation.size_bytes == size => {
                    for part in status.uploaded_parts {
                        if let Some(etag) = part.etag {
                            record.parts.entry(part.part_number).or_insert(etag);
                        }
                    }
                    return Ok((status.reservation, record));
                }
                // Expired, completed or unknown: start over.
                Ok(_) | Err(SyncError::Precondition(_)) => self.forget_resume(hash),
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
        let reservation: wire::Reservation = self.send(self.client.post(self.url("/v1/uploads")).json(&request))?;
        let record = ResumeRecord { reservation_id: reservation.reservation_id.to_string(), parts: Default::default() };
        Ok((reservation, record))
    }

    /// PUT one body to a presigned URL: metered and paced when a bandwidth
    /// limit is set, as one buffer otherwise.
    fn put(
        &self,
        url: &str,
        headers: &[wire::HeaderPair],
        body: Vec<u8>,
        transfer: Option<TransferId>,
    ) -> Result<Response, SyncError> {
        let len = body.len() as u64;
        // Slow uplinks: a large body may take longer than the client's default
        // timeout; allow at least 64 KiB/s.
        let mut put = self.client.put(url).timeout(Duration::from_secs(300).max(Duration::from_secs(len / 65_536)));
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
            return Err(classify(response));
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
    fn upload_bytes(&self, to: &Placement<'_>, bytes: Vec<u8>, hash: &Hash, transfer: Option<TransferId>) -> Result<wire::Asset, SyncError> {
        let (reservation, record) = self.reservation_for(to, bytes.len() as u64, hash)?;
        let completed_parts = match &reservation.upload {
            wire::UploadPlan::Single { url, headers } => {
                self.put(url, headers, bytes, transfer)?;
                Vec::new()
            }
            wire::UploadPlan::Multipart { part_size_bytes, parts } => {
                self.upload_parts(&bytes, *part_size_bytes, parts, hash, record, transfer)?
            }
        };
        // The API creates the new asset and trashes the replaced version in one
        // transaction, re-checking that version first.
        let complete = wire::CompleteRequest { parts: completed_parts };
        let asset: wire::Asset = self
            .send(self.client.post(self.url(&format!("/v1/uploads/{}/complete", reservation.reservation_id))).json(&complete))?;
        self.forget_resume(hash);
        Ok(asset)
    }

    /// The parts of a multipart upload, `part_parallel` at a time, each
    /// journaled as the store acknowledges it; parts already journaled are
    /// skipped.
    fn upload_parts(
        &self,
        bytes: &[u8],
        part_size: u64,
        parts: &[wire::PartUpload],
        hash: &Hash,
        record: ResumeRecord,
        transfer: Option<TransferId>,
    ) -> Result<Vec<wire::CompletedPart>, SyncError> {
        self.save_resume(hash, &record);
        if let (Some(meter), Some(id)) = (&self.meter, transfer) {
            // Parts stored by an earlier run count as done.
            let resumed: u64 = parts.iter().filter(|p| record.parts.contains_key(&p.part_number)).map(|p| p.size_bytes).sum();
            meter.moved(id, resumed);
        }
        let todo: Vec<&wire::PartUpload> = parts.iter().filter(|p| !record.parts.contains_key(&p.part_number)).collect();
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
                    let result = self.upload_part(bytes, part_size, part, transfer);
                    match result {
                        Ok(etag) => {
                            let mut record = record.lock().unwrap_or_else(|p| p.into_inner());
                            record.parts.insert(part.part_number, etag);
                            self.save_resume(hash, &record);
                        }
                        Err(error) => {
                            failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
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
        Ok(parts
            .iter()
            .map(|p| wire::CompletedPart {
                part_number: p.part_number,
                etag: record.parts.get(&p.part_number).cloned().unwrap_or_default(),
            })
            .collect())
    }

    fn upload_part(
        &self,
        bytes: &[u8],
        part_size: u64,
        part: &wire::PartUpload,
        transfer: Option<TransferId>,
    ) -> Result<String, SyncError> {
        if let Some(left) = &self.parts_left {
            // The test seam: a connection that dies after N parts.
            if left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
                return Err(SyncError::Transient {
                    message: "connection lost mid-upload (test seam)".into(),
                    retry_after_ms: None,
                });
            }
        }
        let start = ((part.part_number as u64 - 1) * part_size) as usize;
        let end = (start + part.size_bytes as usize).min(bytes.len());
        let response = self.put(&part.url, &[], bytes[start..end].to_vec(), transfer)?;
        Ok(response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string())
    }

    /// The content-addressed shortcut: `POST /v1/assets/copy` makes a new
    /// asset from content the organization already stores; `None` when the
    /// API answers `content_unknown`.
    fn upload_known(&self, to: &Placement<'_>, hash: &Hash) -> Result<Option<wire::Asset>, SyncError> {
        let body = serde_json::json!({
            "content_sha256": hash,
            "folder_id": to.parent,
            "name": to.name,
            "replaces": replaces_body(to.replaces),
            "modified_at": to.modified,
        });
        let response =
            self.client.post(self.url("/v1/assets/copy")).json(&body).bearer_auth(&self.token).send().map_err(transport)?;
        if response.status() == StatusCode::NOT_FOUND {
            let body: Option<wire::ErrorBody> = response.json().ok();
            return match body {
                Some(body) if body.error == "content_unknown" => Ok(None),
                Some(body) => Err(SyncError::Precondition(format!("{}: {}", body.error, body.message))),
                None => Err(SyncError::Precondition("not found".into())),
            };
        }
        if !response.status().is_success() {
            return Err(classify(response));
        }
        response
            .json()
            .map(Some)
            .map_err(|e| SyncError::Transient { message: format!("bad response: {e}"), retry_after_ms: None })
    }

    fn download(&self, id: &RemoteId, hash: &Hash, transfer: Option<TransferId>) -> Result<Vec<u8>, SyncError> {
        use std::io::Read;
        let download: wire::Download = self.send(self.client.get(self.url(&format!("/v1/assets/{id}/download"))))?;
        let response = self.client.get(&download.url).send().map_err(transport)?;
        if !response.status().is_success() {
            return Err(classify(response));
        }
        let mut bytes = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
        let read = match (&self.meter, transfer) {
            (Some(meter), Some(t)) => MeteredRead::new(response, meter.clone(), t).read_to_end(&mut bytes),
            _ => {
                let mut response = response;
                response.read_to_end(&mut bytes)
            }
        };
        read.map_err(|e| SyncError::Transient { message: format!("download of {id} cut off: {e}"), retry_after_ms: None })?;
        if &crate::disk::HashKind::Sha256.of_bytes(&bytes) != hash {
            return Err(SyncError::Corrupt(format!("download of {id} does not match its SHA-256")));
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
        let mirror = match self.mirror.take() {
            Some(mut mirror) if !self.full_listing_due => match self.catch_up(&mut mirror)? {
                true => mirror,
                false => self.list_everything()?,
            },
            _ => self.list_everything()?,
        };
        self.full_listing_due = false;
        let live_folders: std::collections::HashSet<&str> =
            mirror.folders.iter().filter(|(_, f)| f.trashed_at.is_none()).map(|(id, _)| id.as_str()).collect();
        let mut nodes: Vec<RemoteNode> =
            mirror.folders.values().filter(|f| f.trashed_at.is_none()).map(Self::folder_node).collect();
        let mut known = std::collections::HashSet::new();
        for (id, asset) in &mirror.assets {
            let hash = hex::encode(asset.sha256);
            // An asset in a trashed folder is not live either.
            if !asset.trashed && asset.folder.is_none_or(|f| live_folders.contains(f.to_string().as_str())) {
                nodes.push(RemoteNode {
                    id: id.to_string(),
                    parent: asset.folder.map(|f| f.to_string()),
                    name: asset.name.to_string(),
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

    fn create_dir(&mut self, parent: Option<&RemoteId>, name: &str) -> Result<RemoteNode, SyncError> {
        if self.name_taken(parent, name, None) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        let body = serde_json::json!({ "parent_id": Self::parse_uuid(parent)?, "name": name });
        let folder: wire::Folder = self.send(self.client().post(self.url("/v1/folders")).json(&body))?;
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
        let Some(asset) = self.conn.upload_known(&Placement { parent, name, replaces, modified: None }, hash)? else {
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
        let result = self.conn.upload_bytes(&Placement { parent, name, replaces, modified: None }, bytes.to_vec(), hash, None);
        self.settle();
        let asset = result?;
        if let Some((old, _)) = replaces {
            self.observed.remove(old);
        }
        self.known.insert(hash.clone());
        let node = Self::asset_node(&asset);
        self.observed.insert(node.clone());
        Ok(node)
    }

    fn move_node(&mut self, id: &RemoteId, parent: Option<&RemoteId>, name: &str) -> Result<RemoteNode, SyncError> {
        let current = self.observed.get(id).cloned().ok_or_else(|| SyncError::Precondition(format!("{id} not observed")))?;
        if self.name_taken(parent, name, Some(id)) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        let kind = if current.kind == Kind::Dir { "folders" } else { "assets" };
        let mut node = current.clone();
        if current.parent.as_ref() != parent {
            let body = serde_json::json!({ "parent_id": Self::parse_uuid(parent)? });
            node = match current.kind {
                Kind::Dir => {
                    Self::folder_node(&self.send(self.client().post(self.url(&format!("/v1/{kind}/{id}/move"))).json(&body))?)
                }
                Kind::File => {
                    Self::asset_node(&self.send(self.client().post(self.url(&format!("/v1/{kind}/{id}/move"))).json(&body))?)
                }
            };
        }
        if current.name != name {
            let body = serde_json::json!({ "name": name });
            node = match current.kind {
                Kind::Dir => {
                    Self::folder_node(&self.send(self.client().patch(self.url(&format!("/v1/{kind}/{id}"))).json(&body))?)
                }
                Kind::File => {
                    Self::asset_node(&self.send(self.client().patch(self.url(&format!("/v1/{kind}/{id}"))).json(&body))?)
                }
            };
        }
        self.observed.insert(node.clone());
        Ok(node)
    }

    fn trash(&mut self, id: &RemoteId, hash: Option<&Hash>) -> Result<(), SyncError> {
        let current = self.observed.get(id).cloned().ok_or_else(|| SyncError::Precondition(format!("{id} not observed")))?;
        match current.kind {
            Kind::Dir => {
                if self.observed.has_children(id) {
                    return Err(SyncError::Precondition("folder is not empty".into()));
                }
                let _: wire::Folder = self.send(self.client().delete(self.url(&format!("/v1/folders/{id}"))))?;
            }
            Kind::File => {
                let asset: wire::Asset = self.send(self.client().get(self.url(&format!("/v1/assets/{id}"))))?;
                if Some(&asset.content_sha256) != hash || asset.trashed_at.is_some() {
                    return Err(SyncError::Precondition("remote version changed meanwhile".into()));
                }
                let _: wire::Asset = self.send(self.client().delete(self.url(&format!("/v1/assets/{id}"))))?;
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

    /// Up to `parallel` transfers at once, each on its own thread, with at
    /// most `memory_budget` bytes of uploads held at once. Jobs with the same
    /// content never run together: the later one waits and then finds the
    /// content stored (the content-addressed shortcut), so it is not sent twice.
    fn transfer_batch(&mut self, jobs: &[TransferJob], io: &mut dyn BatchIo) -> Result<(), SyncError> {
        self.arm();
        let (results_tx, results) = std::sync::mpsc::channel::<(usize, Result<TransferDone, SyncError>)>();
        let mut waiting: std::collections::VecDeque<usize> = (0..jobs.len()).collect();
        let mut running: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
        let mut stopped: Option<SyncError> = None;
        let outcome = std::thread::scope(|scope| {
            loop {
                // Start what fits.
                while stopped.is_none() && running.len() < self.parallel {
                    let busy: std::collections::HashSet<&Hash> = running.keys().map(|&i| jobs[i].hash()).collect();
                    let held: u64 = running.values().sum();
                    let Some(position) = waiting.iter().position(|&i| !busy.contains(jobs[i].hash())) else {
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
                    let transfer = conn.meter.as_ref().map(|m| m.start(jobs[i].direction(), jobs[i].path(), size));
                    match &jobs[i] {
                        TransferJob::Upload { parent, name, hash, replaces, modified, .. } => {
                            if self.name_taken(parent.as_ref(), name, replaces.as_ref().map(|r| &r.0)) {
                                if let (Some(m), Some(t)) = (&conn.meter, transfer) {
                                    m.finish(t, false);
                                }
                                if let Err(stop) = io.done(i, Err(SyncError::Precondition(format!("{name} is taken")))) {
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
                            let (parent, name, hash, replaces, modified) =
                                (parent.clone(), name.clone(), hash.clone(), replaces.clone(), *modified);
                            let maybe_known = self.known.contains(&hash);
                            running.insert(i, size);
                            scope.spawn(move || {
                                let result = reported(|| {
                                    let to = Placement { parent: parent.as_ref(), name: &name, replaces: replaces.as_ref(), modified };
                                    let known = if maybe_known { conn.upload_known(&to, &hash) } else { Ok(None) };
                                    known.and_then(|known| match known {
                                        Some(asset) => Ok(TransferDone::Uploaded { node: Self::asset_node(&asset), sent: 0 }),
                                        None => {
                                            let sent = bytes.len() as u64;
                                            let asset = conn.upload_bytes(&to, bytes, &hash, transfer)?;
                                            Ok(TransferDone::Uploaded { node: Self::asset_node(&asset), sent })
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
                                .and_then(|uuid| self.mirror.as_ref().and_then(|m| m.assets.get(&uuid)))
                                .and_then(|a| a.modified);
                            running.insert(i, 0);
                            scope.spawn(move || {
                                let result = reported(|| {
                                    conn.download(&id, &hash, transfer).map(|bytes| TransferDone::Downloaded { bytes, modified })
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
                if let Ok(TransferDone::Uploaded { node, .. }) = &result {
                    self.known.insert(jobs[i].hash().clone());
                    if let TransferJob::Upload { replaces: Some((old, _)), .. } = &jobs[i] {
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

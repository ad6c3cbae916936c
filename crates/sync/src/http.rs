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
//! Differences from the contract worth knowing: the API has no atomic
//! "replace", so an upload that supersedes a version trashes the old asset
//! right after completing the new one (a crash in between leaves both, which
//! the planner resolves as a conflict: nothing is lost); and it has no
//! content-addressed copy yet, so `upload_known` always answers `None`.

use crate::model::*;
use crate::names::name_key;
use crate::{Remote, SyncError};
use photopro_wire as wire;
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use std::time::Duration;

pub struct HttpRemote {
    base: String,
    token: String,
    client: Client,
    /// The last snapshot, for the contract's name and emptiness checks.
    tree: RemoteTree,
    /// Where multipart uploads in flight are journaled, so a restart resumes
    /// them at the part where they stopped instead of from zero.
    resume_dir: Option<std::path::PathBuf>,
    /// Bytes sent to the object store by this client (for progress and tests).
    pub bytes_sent: u64,
    /// Test seam: fail with a transient error after this many parts are sent,
    /// as a crash or a dropped connection would.
    pub fail_after_parts: Option<usize>,
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
            .build()
            .map_err(|e| SyncError::Unavailable(e.to_string()))?;
        Ok(HttpRemote {
            base: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            client,
            tree: RemoteTree::new(),
            resume_dir: None,
            bytes_sent: 0,
            fail_after_parts: None,
        })
    }

    /// Journal multipart uploads under `dir` so they survive restarts.
    pub fn with_resume_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.resume_dir = Some(dir.into());
        self
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
    fn reservation_for(&self, parent: Option<&RemoteId>, name: &str, size: u64, hash: &Hash) -> Result<(wire::Reservation, ResumeRecord), SyncError> {
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
            "name": name,
            "folder_id": Self::parse_uuid(parent)?,
        });
        let reservation: wire::Reservation = self.send(self.client.post(self.url("/v1/uploads")).json(&request))?;
        let record = ResumeRecord { reservation_id: reservation.reservation_id.to_string(), parts: Default::default() };
        Ok((reservation, record))
    }

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

    fn name_taken(&self, parent: Option<&RemoteId>, name: &str, except: Option<&RemoteId>) -> bool {
        let key = name_key(name);
        self.tree.nodes.values().any(|n| Some(&n.id) != except && n.parent.as_ref() == parent && name_key(&n.name) == key)
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
}

impl Remote for HttpRemote {
    fn snapshot(&mut self) -> Result<RemoteTree, SyncError> {
        let folders: wire::FolderList = self.send(self.client.get(self.url("/v1/folders")))?;
        let live_folders: std::collections::HashSet<String> =
            folders.folders.iter().filter(|f| f.trashed_at.is_none()).map(|f| f.id.to_string()).collect();
        let mut nodes: Vec<RemoteNode> =
            folders.folders.iter().filter(|f| f.trashed_at.is_none()).map(Self::folder_node).collect();
        let mut after: Option<String> = None;
        loop {
            let mut request = self.client.get(self.url("/v1/assets")).query(&[("limit", "1000")]);
            if let Some(after) = &after {
                request = request.query(&[("after", after.as_str())]);
            }
            let page: wire::AssetPage = self.send(request)?;
            for asset in page.assets.iter().filter(|a| a.trashed_at.is_none()) {
                // An asset in a trashed folder is not live either.
                if asset.folder_id.is_none_or(|f| live_folders.contains(&f.to_string())) {
                    nodes.push(Self::asset_node(asset));
                }
            }
            match page.next_after {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        self.tree = RemoteTree::from_nodes(nodes);
        Ok(self.tree.clone())
    }

    fn create_dir(&mut self, parent: Option<&RemoteId>, name: &str) -> Result<RemoteNode, SyncError> {
        if self.name_taken(parent, name, None) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        let body = serde_json::json!({ "parent_id": Self::parse_uuid(parent)?, "name": name });
        let folder: wire::Folder = self.send(self.client.post(self.url("/v1/folders")).json(&body))?;
        let node = Self::folder_node(&folder);
        self.tree.nodes.insert(node.id.clone(), node.clone());
        Ok(node)
    }

    fn upload_known(&mut self, _parent: Option<&RemoteId>, _name: &str, _hash: &Hash, _replaces: Option<&(RemoteId, Hash)>) -> Result<Option<RemoteNode>, SyncError> {
        Ok(None)
    }

    fn upload(&mut self, parent: Option<&RemoteId>, name: &str, bytes: &[u8], hash: &Hash, replaces: Option<&(RemoteId, Hash)>) -> Result<RemoteNode, SyncError> {
        if self.name_taken(parent, name, replaces.map(|r| &r.0)) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        if let Some((old, old_hash)) = replaces {
            let current: wire::Asset = self.send(self.client.get(self.url(&format!("/v1/assets/{old}"))))?;
            if current.trashed_at.is_some() || &current.content_sha256 != old_hash {
                return Err(SyncError::Precondition("remote version changed meanwhile".into()));
            }
        }
        let (reservation, mut record) = self.reservation_for(parent, name, bytes.len() as u64, hash)?;
        let mut completed_parts = Vec::new();
        match &reservation.upload {
            wire::UploadPlan::Single { url, headers } => {
                let mut put = self.client.put(url).body(bytes.to_vec());
                for header in headers {
                    put = put.header(&header.name, &header.value);
                }
                let response = put.send().map_err(transport)?;
                if !response.status().is_success() {
                    return Err(classify(response));
                }
                self.bytes_sent += bytes.len() as u64;
            }
            wire::UploadPlan::Multipart { part_size_bytes, parts } => {
                self.save_resume(hash, &record);
                let mut sent_parts = 0;
                for part in parts {
                    if let Some(etag) = record.parts.get(&part.part_number) {
                        // Already in the store from an earlier, interrupted run.
                        completed_parts.push(wire::CompletedPart { part_number: part.part_number, etag: etag.clone() });
                        continue;
                    }
                    if self.fail_after_parts == Some(sent_parts) {
                        return Err(SyncError::Transient { message: "connection lost mid-upload (test seam)".into(), retry_after_ms: None });
                    }
                    let start = ((part.part_number as u64 - 1) * part_size_bytes) as usize;
                    let end = (start + part.size_bytes as usize).min(bytes.len());
                    let response = self.client.put(&part.url).body(bytes[start..end].to_vec()).send().map_err(transport)?;
                    if !response.status().is_success() {
                        return Err(classify(response));
                    }
                    self.bytes_sent += (end - start) as u64;
                    sent_parts += 1;
                    let etag = response
                        .headers()
                        .get(reqwest::header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    record.parts.insert(part.part_number, etag.clone());
                    self.save_resume(hash, &record);
                    completed_parts.push(wire::CompletedPart { part_number: part.part_number, etag });
                }
            }
        }
        let complete = wire::CompleteRequest { parts: completed_parts };
        let asset: wire::Asset = self.send(
            self.client.post(self.url(&format!("/v1/uploads/{}/complete", reservation.reservation_id))).json(&complete),
        )?;
        self.forget_resume(hash);
        if let Some((old, _)) = replaces {
            // Not atomic with the completion (see the module documentation).
            let _: wire::Asset = self.send(self.client.delete(self.url(&format!("/v1/assets/{old}"))))?;
            self.tree.nodes.remove(old);
        }
        let node = Self::asset_node(&asset);
        self.tree.nodes.insert(node.id.clone(), node.clone());
        Ok(node)
    }

    fn move_node(&mut self, id: &RemoteId, parent: Option<&RemoteId>, name: &str) -> Result<RemoteNode, SyncError> {
        let current = self.tree.get(id).cloned().ok_or_else(|| SyncError::Precondition(format!("{id} not observed")))?;
        if self.name_taken(parent, name, Some(id)) {
            return Err(SyncError::Precondition(format!("{name} is taken")));
        }
        let kind = if current.kind == Kind::Dir { "folders" } else { "assets" };
        let mut node = current.clone();
        if current.parent.as_ref() != parent {
            let body = serde_json::json!({ "parent_id": Self::parse_uuid(parent)? });
            node = match current.kind {
                Kind::Dir => Self::folder_node(&self.send(self.client.post(self.url(&format!("/v1/{kind}/{id}/move"))).json(&body))?),
                Kind::File => Self::asset_node(&self.send(self.client.post(self.url(&format!("/v1/{kind}/{id}/move"))).json(&body))?),
            };
        }
        if current.name != name {
            let body = serde_json::json!({ "name": name });
            node = match current.kind {
                Kind::Dir => Self::folder_node(&self.send(self.client.patch(self.url(&format!("/v1/{kind}/{id}"))).json(&body))?),
                Kind::File => Self::asset_node(&self.send(self.client.patch(self.url(&format!("/v1/{kind}/{id}"))).json(&body))?),
            };
        }
        self.tree.nodes.insert(node.id.clone(), node.clone());
        Ok(node)
    }

    fn trash(&mut self, id: &RemoteId, hash: Option<&Hash>) -> Result<(), SyncError> {
        let current = self.tree.get(id).cloned().ok_or_else(|| SyncError::Precondition(format!("{id} not observed")))?;
        match current.kind {
            Kind::Dir => {
                if self.tree.nodes.values().any(|n| n.parent.as_ref() == Some(id)) {
                    return Err(SyncError::Precondition("folder is not empty".into()));
                }
                let _: wire::Folder = self.send(self.client.delete(self.url(&format!("/v1/folders/{id}"))))?;
            }
            Kind::File => {
                let asset: wire::Asset = self.send(self.client.get(self.url(&format!("/v1/assets/{id}"))))?;
                if Some(&asset.content_sha256) != hash || asset.trashed_at.is_some() {
                    return Err(SyncError::Precondition("remote version changed meanwhile".into()));
                }
                let _: wire::Asset = self.send(self.client.delete(self.url(&format!("/v1/assets/{id}"))))?;
            }
        }
        self.tree.nodes.remove(id);
        Ok(())
    }

    fn download(&mut self, id: &RemoteId, hash: &Hash) -> Result<Vec<u8>, SyncError> {
        let download: wire::Download = self.send(self.client.get(self.url(&format!("/v1/assets/{id}/download"))))?;
        let response = self.client.get(&download.url).send().map_err(transport)?;
        if !response.status().is_success() {
            return Err(classify(response));
        }
        let bytes = response.bytes().map_err(transport)?.to_vec();
        if &crate::disk::HashKind::Sha256.of_bytes(&bytes) != hash {
            return Err(SyncError::Corrupt(format!("download of {id} does not match its SHA-256")));
        }
        Ok(bytes)
    }
}

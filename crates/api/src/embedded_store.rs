//! The embedded store's backend: `s3s_fs::FileSystem` made as strict as R2
//! for everything the API relies on. `s3s-fs` alone writes a PUT's bytes
//! before it checks their checksum (a refused PUT still replaces the object),
//! ignores part checksums, reports no part ETags, drops a multipart upload
//! when completion names a missing part, and answers 403 for an unknown
//! upload. This wrapper delegates to it and fixes exactly those:
//!
//! - PUT and UploadPart: every checksum declared in a header (SHA-256, CRC,
//!   Content-MD5) is checked as the body streams in; on a mismatch the stream
//!   fails before `s3s-fs` renames its temporary file into place, so nothing
//!   is stored (400 `BadDigest`). The verified SHA-256 is kept beside the
//!   object and returned by HEAD.
//! - `If-None-Match: *` on PUT and CompleteMultipartUpload is atomic per key:
//!   a second conditional write of a key that exists or is being written gets
//!   412.
//! - ListParts reports each part's ETag (and SHA-256 when one was declared);
//!   CompleteMultipartUpload checks order, presence, ETags and sizes before
//!   touching anything, so a refused completion leaves the upload intact.
//! - An unknown upload ID is 404 `NoSuchUpload` (ListParts, UploadPart,
//!   Complete, Abort), as on S3 and R2.
//!
//! Checksums sent as aws-chunked trailers are left to `s3s-fs` (the API never
//! sends them: presigned URLs carry the checksum as a signed header).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use futures_core::Stream;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::stream::{ByteStream, RemainingLength};
use s3s::{s3_error, S3Request, S3Response, S3Result, StdError, S3};

/// `s3s_fs::FileSystem` with R2's strictness (see the module docs).
pub struct StrictFileSystem {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
    /// Keys (bucket, key) with a conditional write in flight.
    writing: Arc<Mutex<HashSet<(String, String)>>>,
}

impl StrictFileSystem {
    pub fn new(root: &Path) -> std::io::Result<StrictFileSystem> {
        let inner =
            s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let root = std::env::current_dir()?.join(root).canonicalize()?;
        Ok(StrictFileSystem {
            inner,
            root,
            writing: Arc::default(),
        })
    }

    /// Claims a key for a conditional write: 412 if another one is writing it.
    fn claim(&self, bucket: &str, key: &str) -> S3Result<Claim> {
        let entry = (bucket.to_string(), key.to_string());
        let mut writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if !writing.insert(entry.clone()) {
            return Err(s3_error!(
                PreconditionFailed,
                "another conditional write of this key is in progress"
            ));
        }
        Ok(Claim {
            writing: self.writing.clone(),
            entry,
        })
    }

    fn upload_exists(&self, upload_id: &str) -> bool {
        uuid::Uuid::parse_str(upload_id)
            .is_ok_and(|id| self.root.join(format!(".upload-{id}.json")).is_file())
    }

    fn require_upload(&self, upload_id: &str) -> S3Result<()> {
        if self.upload_exists(upload_id) {
            Ok(())
        } else {
            Err(s3_error!(
                NoSuchUpload,
                "the multipart upload does not exist"
            ))
        }
    }

    fn part_path(&self, upload_id: &str, part_number: i32) -> PathBuf {
        self.root
            .join(format!(".upload_id-{upload_id}.part-{part_number}"))
    }

    fn part_info_path(&self, upload_id: &str, part_number: i32) -> PathBuf {
        self.root
            .join(format!(".photopro-part.{upload_id}.{part_number}.json"))
    }

    fn load_part_info(&self, upload_id: &str, part_number: i32) -> Option<PartInfo> {
        let bytes = std::fs::read(self.part_info_path(upload_id, part_number)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn save_part_info(&self, upload_id: &str, part_number: i32, info: &PartInfo) -> S3Result<()> {
        let path = self.part_info_path(upload_id, part_number);
        let temp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(info).map_err(|e| s3_error!(e, InternalError))?;
        std::fs::write(&temp, bytes).map_err(|e| s3_error!(e, InternalError))?;
        std::fs::rename(&temp, &path).map_err(|e| s3_error!(e, InternalError))?;
        Ok(())
    }

    /// Removes this upload's part records and any part files left behind.
    fn forget_upload(&self, upload_id: &str) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        let info_prefix = format!(".photopro-part.{upload_id}.");
        let part_prefix = format!(".upload_id-{upload_id}.part-");
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(&info_prefix) || name.starts_with(&part_prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// What the wrapper remembers about a stored part.
#[derive(serde::Serialize, serde::Deserialize)]
struct PartInfo {
    /// The MD5 hex (unquoted) `s3s-fs` answered as the part's ETag.
    etag: String,
    #[serde(default)]
    checksum_sha256: Option<String>,
}

/// A claimed key, released when dropped.
struct Claim {
    writing: Arc<Mutex<HashSet<(String, String)>>>,
    entry: (String, String),
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.writing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.entry);
    }
}

/// Checksums a request declares in its headers.
#[derive(Default, Clone)]
struct Declared {
    checksum: Checksum,
    content_md5: Option<String>,
}

impl Declared {
    fn is_empty(&self) -> bool {
        self.content_md5.is_none()
            && self.checksum.checksum_crc32.is_none()
            && self.checksum.checksum_crc32c.is_none()
            && self.checksum.checksum_sha1.is_none()
            && self.checksum.checksum_sha256.is_none()
            && self.checksum.checksum_crc64nvme.is_none()
    }

    fn hasher(&self) -> ChecksumHasher {
        let c = &self.checksum;
        ChecksumHasher {
            crc32: c.checksum_crc32.as_ref().map(|_| Default::default()),
            crc32c: c.checksum_crc32c.as_ref().map(|_| Default::default()),
            sha1: c.checksum_sha1.as_ref().map(|_| Default::default()),
            sha256: c.checksum_sha256.as_ref().map(|_| Default::default()),
            crc64nvme: c.checksum_crc64nvme.as_ref().map(|_| Default::default()),
        }
    }

    /// Which declared checksum the bytes do not match, if any.
    fn mismatch(&self, computed: &Checksum, md5: Option<[u8; 16]>) -> Option<&'static str> {
        let c = &self.checksum;
        let pairs = [
            ("CRC32", &c.checksum_crc32, &computed.checksum_crc32),
            ("CRC32C", &c.checksum_crc32c, &computed.checksum_crc32c),
            ("SHA-1", &c.checksum_sha1, &computed.checksum_sha1),
            ("SHA-256", &c.checksum_sha256, &computed.checksum_sha256),
            (
                "CRC64NVME",
                &c.checksum_crc64nvme,
                &computed.checksum_crc64nvme,
            ),
        ];
        for (name, declared, got) in pairs {
            if declared.is_some() && declared != got {
                return Some(name);
            }
        }
        if let (Some(declared), Some(md5)) = (&self.content_md5, md5) {
            let got = base64::engine::general_purpose::STANDARD.encode(md5);
            if *declared != got {
                return Some("Content-MD5");
            }
        }
        None
    }
}

/// The body of a PUT or part, checked as it streams: when the declared
/// checksums do not match, the last poll is an error instead of the end of
/// the stream, so `s3s-fs` never moves its temporary file into place.
struct Verified {
    body: StreamingBlob,
    declared: Declared,
    hasher: Option<ChecksumHasher>,
    md5: Option<Md5>,
    refused: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the body does not match its declared {0} checksum")]
struct DigestMismatch(&'static str);

impl Stream for Verified {
    type Item = Result<Bytes, StdError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if let Some(hasher) = &mut this.hasher {
                    hasher.update(&bytes);
                }
                if let Some(md5) = &mut this.md5 {
                    md5.update(&bytes);
                }
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(None) => {
                let Some(hasher) = this.hasher.take() else {
                    return Poll::Ready(None);
                };
                let md5 = this.md5.take().map(|md5| {
                    let mut out = [0u8; 16];
                    out.copy_from_slice(md5.finalize().as_ref());
                    out
                });
                match this.declared.mismatch(&hasher.finalize(), md5) {
                    None => Poll::Ready(None),
                    Some(name) => {
                        this.refused.store(true, Ordering::SeqCst);
                        Poll::Ready(Some(Err(Box::new(DigestMismatch(name)))))
                    }
                }
            }
            other => other,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.body.size_hint()
    }
}

impl ByteStream for Verified {
    fn remaining_length(&self) -> RemainingLength {
        self.body.remaining_length()
    }
}

/// Wraps `body` so it fails on a checksum mismatch; the flag says whether it did.
fn verified(
    body: Option<StreamingBlob>,
    declared: &Declared,
) -> (Option<StreamingBlob>, Arc<AtomicBool>) {
    let refused = Arc::new(AtomicBool::new(false));
    if declared.is_empty() {
        return (body, refused);
    }
    let body = body.map(|body| {
        StreamingBlob::new(Verified {
            body,
            declared: declared.clone(),
            hasher: Some(declared.hasher()),
            md5: declared.content_md5.as_ref().map(|_| Md5::default()),
            refused: refused.clone(),
        })
    });
    (body, refused)
}

fn bad_digest(name: &str) -> s3s::S3Error {
    s3_error!(
        BadDigest,
        "the body does not match its declared {name} checksum; nothing was stored"
    )
}

fn unquote(etag: &str) -> &str {
    etag.trim().trim_start_matches("W/").trim_matches('"')
}

#[async_trait::async_trait]
impl S3 for StrictFileSystem {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.inner.copy_object(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.inner.delete_bucket(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.inner.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.inner.delete_objects(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.inner.get_bucket_location(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.inner.get_object(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.inner.head_object(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.inner.list_buckets(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.inner.list_objects(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.inner.list_objects_v2(req).await
    }

    async fn put_object(
        &self,
        mut req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let input = &mut req.input;
        let _claim = match &input.if_none_match {
            Some(condition) if condition.is_any() => Some(self.claim(&input.bucket, &input.key)?),
            _ => None,
        };
        let declared = Declared {
            checksum: Checksum {
                checksum_crc32: input.checksum_crc32.clone(),
                checksum_crc32c: input.checksum_crc32c.clone(),
                checksum_sha1: input.checksum_sha1.clone(),
                checksum_sha256: input.checksum_sha256.clone(),
                checksum_crc64nvme: input.checksum_crc64nvme.clone(),
                ..Default::default()
            },
            content_md5: input.content_md5.clone(),
        };
        let (body, refused) = verified(input.body.take(), &declared);
        input.body = body;
        match self.inner.put_object(req).await {
            Err(_) if refused.load(Ordering::SeqCst) => Err(bad_digest(declared_name(&declared))),
            other => other,
        }
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.inner.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        mut req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.require_upload(&req.input.upload_id)?;
        let upload_id = req.input.upload_id.clone();
        let part_number = req.input.part_number;
        let input = &mut req.input;
        let declared = Declared {
            checksum: Checksum {
                checksum_crc32: input.checksum_crc32.clone(),
                checksum_crc32c: input.checksum_crc32c.clone(),
                checksum_sha1: input.checksum_sha1.clone(),
                checksum_sha256: input.checksum_sha256.clone(),
                checksum_crc64nvme: input.checksum_crc64nvme.clone(),
                ..Default::default()
            },
            content_md5: input.content_md5.clone(),
        };
        let (body, refused) = verified(input.body.take(), &declared);
        input.body = body;
        // A refused part must not leave an older part of that number looking current.
        let _ = std::fs::remove_file(self.part_info_path(&upload_id, part_number));
        let mut response = match self.inner.upload_part(req).await {
            Err(_) if refused.load(Ordering::SeqCst) => {
                return Err(bad_digest(declared_name(&declared)))
            }
            other => other?,
        };
        let etag = response
            .output
            .e_tag
            .as_ref()
            .map(|etag| unquote(etag.value()).to_string())
            .unwrap_or_default();
        self.save_part_info(
            &upload_id,
            part_number,
            &PartInfo {
                etag,
                checksum_sha256: declared.checksum.checksum_sha256.clone(),
            },
        )?;
        response.output.checksum_sha256 = declared.checksum.checksum_sha256;
        Ok(response)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.require_upload(&req.input.upload_id)?;
        let upload_id = req.input.upload_id.clone();
        let part_number = req.input.part_number;
        let response = self.inner.upload_part_copy(req).await?;
        let etag = response
            .output
            .copy_part_result
            .as_ref()
            .and_then(|result| result.e_tag.as_ref())
            .map(|etag| unquote(etag.value()).to_string())
            .unwrap_or_default();
        self.save_part_info(
            &upload_id,
            part_number,
            &PartInfo {
                etag,
                checksum_sha256: None,
            },
        )?;
        Ok(response)
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.require_upload(&req.input.upload_id)?;
        let upload_id = req.input.upload_id.clone();
        let mut response = self.inner.list_parts(req).await?;
        if let Some(parts) = &mut response.output.parts {
            for part in parts.iter_mut() {
                let Some(number) = part.part_number else {
                    continue;
                };
                if let Some(info) = self.load_part_info(&upload_id, number) {
                    part.e_tag = Some(ETag::Strong(info.etag));
                    part.checksum_sha256 = info.checksum_sha256;
                }
            }
            parts.sort_by_key(|part| part.part_number);
        }
        Ok(response)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = &req.input;
        self.require_upload(&input.upload_id)?;
        let _claim = match &input.if_none_match {
            Some(condition) if condition.is_any() => Some(self.claim(&input.bucket, &input.key)?),
            _ => None,
        };
        // Everything is checked before anything changes: a refusal leaves the upload as it was.
        let listed = input
            .multipart_upload
            .as_ref()
            .and_then(|upload| upload.parts.as_ref())
            .filter(|parts| !parts.is_empty())
            .ok_or_else(|| s3_error!(InvalidPart, "list at least one part"))?;
        let mut previous = 0;
        for (index, part) in listed.iter().enumerate() {
            let number = part
                .part_number
                .ok_or_else(|| s3_error!(InvalidPart, "a listed part has no number"))?;
            if number <= previous {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "list the parts in ascending order"
                ));
            }
            previous = number;
            let size = std::fs::metadata(self.part_path(&input.upload_id, number))
                .map_err(|_| s3_error!(InvalidPart, "part {number} has not been uploaded"))?
                .len();
            let stored = self
                .load_part_info(&input.upload_id, number)
                .ok_or_else(|| s3_error!(InvalidPart, "part {number} has not been uploaded"))?;
            let claimed = part.e_tag.as_ref().map(|etag| unquote(etag.value()));
            if claimed != Some(stored.etag.as_str()) {
                return Err(s3_error!(
                    InvalidPart,
                    "part {number}'s ETag does not match the stored part"
                ));
            }
            if index + 1 < listed.len() && size < 5 * 1024 * 1024 {
                return Err(s3_error!(
                    EntityTooSmall,
                    "part {number} is smaller than 5 MiB"
                ));
            }
        }
        let upload_id = input.upload_id.clone();
        let response = self.inner.complete_multipart_upload(req).await?;
        self.forget_upload(&upload_id);
        Ok(response)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.require_upload(&req.input.upload_id)?;
        let upload_id = req.input.upload_id.clone();
        let response = self.inner.abort_multipart_upload(req).await?;
        self.forget_upload(&upload_id);
        Ok(response)
    }
}

/// The name of the first declared checksum, for messages.
fn declared_name(declared: &Declared) -> &'static str {
    let c = &declared.checksum;
    if c.checksum_sha256.is_some() {
        "SHA-256"
    } else if c.checksum_crc32.is_some() {
        "CRC32"
    } else if c.checksum_crc32c.is_some() {
        "CRC32C"
    } else if c.checksum_sha1.is_some() {
        "SHA-1"
    } else if c.checksum_crc64nvme.is_some() {
        "CRC64NVME"
    } else {
        "Content-MD5"
    }
}

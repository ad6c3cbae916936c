//! The object store: any S3-compatible endpoint through aws-sdk-s3 (R2 in
//! production, an embedded s3s-fs or SeaweedFS locally and in tests).
//!
//! Only this module knows the SDK. Presigned URLs are signed with the API's
//! clock as their start time so expiry is testable without sleeping.

use std::time::Duration;

use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::{ChecksumMode, CompletedMultipartUpload, CompletedPart, MetadataDirective};
use aws_sdk_s3::Client;
use base64::Engine as _;
use photopro_wire::{HeaderPair, StorageClass};

use crate::clock::to_system_time;
use crate::error::{Error, Result};

/// Where the objects live. For R2: endpoint `https://<account>.r2.cloudflarestorage.com`,
/// region `auto`, path-style addressing.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    pub force_path_style: bool,
    /// Whether the store supports storage classes (s3s-fs does not).
    pub supports_storage_classes: bool,
}

/// What HEAD says about an object.
#[derive(Debug, Clone)]
pub struct ObjectHead {
    pub size_bytes: u64,
    pub checksum_sha256: Option<String>,
    pub storage_class: Option<String>,
}

/// A presigned request for the client.
#[derive(Debug, Clone)]
pub struct Presigned {
    pub url: String,
    pub headers: Vec<HeaderPair>,
}

#[derive(Debug, Clone)]
pub struct ObjectStore {
    client: Client,
    bucket: String,
    supports_storage_classes: bool,
}

impl ObjectStore {
    pub fn new(config: &StoreConfig) -> ObjectStore {
        let credentials = Credentials::new(
            &config.access_key_id,
            &config.secret_access_key,
            None,
            None,
            "photopro-api",
        );
        let sdk_config = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .credentials_provider(credentials)
            .region(Region::new(config.region.clone()))
            .endpoint_url(&config.endpoint)
            .force_path_style(config.force_path_style)
            // Newer SDKs add CRC32 checksums to every PUT by default, which would be baked into
            // presigned URLs (and R2 rejects some). We ask for checksums explicitly instead.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        ObjectStore {
            client: Client::from_conf(sdk_config),
            bucket: config.bucket.clone(),
            supports_storage_classes: config.supports_storage_classes,
        }
    }

    pub fn supports_storage_classes(&self) -> bool {
        self.supports_storage_classes
    }

    /// Creates the bucket if it does not exist (embedded and test stores only).
    pub async fn ensure_bucket(&self) -> Result<()> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| Error::store("create bucket", e))?;
        Ok(())
    }

    fn presigning(start: i64, ttl_seconds: i64) -> Result<PresigningConfig> {
        PresigningConfig::builder()
            .start_time(to_system_time(start))
            .expires_in(Duration::from_secs(
                ttl_seconds.clamp(1, 7 * 24 * 3600) as u64
            ))
            .build()
            .map_err(|e| Error::Internal(format!("presigning config: {e}")))
    }

    /// A presigned PUT bound to the exact size and SHA-256 of the content, so
    /// the URL cannot store anything else even if it is replayed, and
    /// conditional (`If-None-Match: *`, signed): it can only create the key,
    /// never overwrite it, so a completed object is write-once.
    pub async fn presign_put(
        &self,
        key: &str,
        size_bytes: u64,
        sha256: &[u8; 32],
        start: i64,
        ttl_seconds: i64,
    ) -> Result<Presigned> {
        let checksum = base64::engine::general_purpose::STANDARD.encode(sha256);
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(size_bytes as i64)
            .checksum_sha256(checksum)
            .if_none_match("*")
            .presigned(Self::presigning(start, ttl_seconds)?)
            .await
            .map_err(|e| Error::store("presign put", e))?;
        Ok(presigned(&request))
    }

    pub async fn create_multipart(&self, key: &str) -> Result<String> {
        let output = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::store("create multipart upload", e))?;
        output
            .upload_id
            .ok_or_else(|| Error::store("create multipart upload", "no upload id"))
    }

    /// A presigned UploadPart bound to the part's exact size and SHA-256
    /// (a signed header the store checks before it keeps the part).
    #[allow(clippy::too_many_arguments)]
    pub async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        size_bytes: u64,
        sha256: &[u8; 32],
        start: i64,
        ttl_seconds: i64,
    ) -> Result<Presigned> {
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number as i32)
            .content_length(size_bytes as i64)
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(sha256))
            .presigned(Self::presigning(start, ttl_seconds)?)
            .await
            .map_err(|e| Error::store("presign part", e))?;
        Ok(presigned(&request))
    }

    /// Completes a multipart upload. A store-side refusal (wrong or missing
    /// parts, bad ETags) is the client's mistake: a 400 it can correct.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<()> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(number, etag)| {
                        CompletedPart::builder()
                            .part_number(*number as i32)
                            .e_tag(etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(service) => Error::BadRequest(format!(
                    "the store refused to assemble the parts ({}): check part numbers and ETags",
                    service.meta().code().unwrap_or("error")
                )),
                None => Error::store("complete multipart upload", e),
            })?;
        Ok(())
    }

    /// Aborts a multipart upload; an upload that is already gone is fine.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<()> {
        match self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_upload()) => Ok(()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(()),
            Err(e) => Err(Error::store("abort multipart upload", e)),
        }
    }

    /// How many parts a multipart upload holds; `None` when the upload does not exist.
    pub async fn stored_part_count(&self, key: &str, upload_id: &str) -> Result<Option<usize>> {
        Ok(self
            .stored_parts(key, upload_id)
            .await?
            .map(|parts| parts.len()))
    }

    /// The parts (number, size, ETag if the store reports it) a multipart
    /// upload holds; `None` when the upload does not exist. Pages are followed.
    pub async fn stored_parts(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<Option<Vec<(u32, u64, Option<String>)>>> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let output = match self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.clone())
                .send()
                .await
            {
                Ok(output) => output,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.meta().code() == Some("NoSuchUpload")) =>
                {
                    return Ok(None)
                }
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                    return Ok(None)
                }
                Err(e) => return Err(Error::store("list parts", e)),
            };
            for part in output.parts() {
                if let Some(number) = part.part_number() {
                    let size = part.size().unwrap_or(0).max(0) as u64;
                    parts.push((number as u32, size, part.e_tag().map(str::to_string)));
                }
            }
            match (output.is_truncated(), output.next_part_number_marker()) {
                (Some(true), Some(next)) if marker.as_deref() != Some(next) => {
                    marker = Some(next.to_string())
                }
                _ => break,
            }
        }
        parts.sort();
        Ok(Some(parts))
    }

    /// Reads the object back and hashes it (streaming, constant memory):
    /// its size and SHA-256, or `None` when it does not exist. The proof the
    /// API relies on when the store reports no whole-object checksum.
    pub async fn read_sha256(&self, key: &str) -> Result<Option<(u64, [u8; 32])>> {
        use sha2::Digest as _;
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) if is_missing(e.raw_response().map(|r| r.status().as_u16()), e.code()) => {
                return Ok(None)
            }
            Err(e) => return Err(Error::store("read object back", e)),
        };
        let mut body = output.body;
        let mut hasher = sha2::Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| Error::store("read object back", e))?
        {
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((size, hasher.finalize().into())))
    }

    /// HEAD the object; `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectHead>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(output) => Ok(Some(ObjectHead {
                size_bytes: output.content_length.unwrap_or(0).max(0) as u64,
                checksum_sha256: output.checksum_sha256.clone(),
                storage_class: output.storage_class.map(|class| class.as_str().to_string()),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(Error::store("head object", e)),
        }
    }

    /// Deletes the object; deleting a missing object succeeds (S3 semantics).
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::store("delete object", e))?;
        Ok(())
    }

    /// Changes the storage class by copying the object onto itself. The
    /// directive must be REPLACE: not every store accepts COPY for a self-copy.
    pub async fn set_storage_class(&self, key: &str, class: StorageClass) -> Result<()> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::store("head object before copy", e))?;
        let mut copy = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(format!("{}/{}", self.bucket, key))
            .metadata_directive(MetadataDirective::Replace)
            .storage_class(class.as_s3().into())
            .set_metadata(head.metadata.clone());
        if let Some(content_type) = head.content_type() {
            copy = copy.content_type(content_type);
        }
        copy.send()
            .await
            .map_err(|e| Error::store("copy object", e))?;
        Ok(())
    }

    /// Copies `source` to `target` inside the bucket, server-side: one
    /// CopyObject up to `max_single_bytes`, else a multipart upload assembled
    /// from part copies of `part_bytes` (a few at a time), aborted on failure.
    /// Returns `false` when the source does not exist.
    pub async fn copy_object(
        &self,
        source: &str,
        target: &str,
        size_bytes: u64,
        max_single_bytes: u64,
        part_bytes: u64,
    ) -> Result<bool> {
        let copy_source = format!("{}/{}", self.bucket, source);
        if size_bytes <= max_single_bytes {
            let mut copy = self
                .client
                .copy_object()
                .bucket(&self.bucket)
                .key(target)
                .copy_source(&copy_source);
            if self.supports_storage_classes {
                // The new asset starts in Standard whatever the source's class.
                copy = copy.storage_class(StorageClass::Standard.as_s3().into());
            }
            return match copy.send().await {
                Ok(_) => Ok(true),
                Err(e) if is_missing(e.raw_response().map(|r| r.status().as_u16()), e.code()) => {
                    Ok(false)
                }
                Err(e) => Err(Error::store("copy object", e)),
            };
        }

        let upload_id = self.create_multipart(target).await?;
        match self
            .copy_parts(&copy_source, target, &upload_id, size_bytes, part_bytes)
            .await
        {
            Ok(Some(parts)) => match self.complete_multipart(target, &upload_id, &parts).await {
                Ok(()) => Ok(true),
                Err(error) => {
                    let _ = self.abort_multipart(target, &upload_id).await;
                    Err(Error::store("complete multipart copy", error))
                }
            },
            outcome => {
                self.abort_multipart(target, &upload_id).await?;
                outcome.map(|_| false)
            }
        }
    }

    /// The part copies of a multipart copy; `None` when the source is missing.
    async fn copy_parts(
        &self,
        copy_source: &str,
        target: &str,
        upload_id: &str,
        size_bytes: u64,
        part_bytes: u64,
    ) -> Result<Option<Vec<(u32, String)>>> {
        const AT_ONCE: usize = 4;
        let ranges: Vec<(u32, u64, u64)> = (0..size_bytes.div_ceil(part_bytes))
            .map(|index| {
                let start = index * part_bytes;
                let end = (start + part_bytes).min(size_bytes) - 1;
                (index as u32 + 1, start, end)
            })
            .collect();
        let mut parts = Vec::with_capacity(ranges.len());
        for batch in ranges.chunks(AT_ONCE) {
            let mut copies = tokio::task::JoinSet::new();
            for &(number, start, end) in batch {
                let request = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(target)
                    .upload_id(upload_id)
                    .part_number(number as i32)
                    .copy_source(copy_source)
                    .copy_source_range(format!("bytes={start}-{end}"));
                copies.spawn(async move { (number, request.send().await) });
            }
            while let Some(joined) = copies.join_next().await {
                let (number, result) =
                    joined.map_err(|e| Error::Internal(format!("part copy task: {e}")))?;
                match result {
                    Ok(output) => {
                        let etag = output
                            .copy_part_result
                            .and_then(|result| result.e_tag)
                            .ok_or_else(|| Error::store("upload part copy", "no ETag"))?;
                        parts.push((number, etag));
                    }
                    Err(e)
                        if is_missing(e.raw_response().map(|r| r.status().as_u16()), e.code()) =>
                    {
                        return Ok(None)
                    }
                    Err(e) => return Err(Error::store("upload part copy", e)),
                }
            }
        }
        parts.sort();
        Ok(Some(parts))
    }

    pub async fn presign_get(&self, key: &str, start: i64, ttl_seconds: i64) -> Result<Presigned> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Self::presigning(start, ttl_seconds)?)
            .await
            .map_err(|e| Error::store("presign get", e))?;
        Ok(presigned(&request))
    }

    /// One page (up to 1,000) of the objects under `prefix` (ListObjectsV2),
    /// and the token of the next page if there is one. For the orphan sweep.
    pub async fn list_page(
        &self,
        prefix: &str,
        continuation: Option<String>,
    ) -> Result<(Vec<ListedObject>, Option<String>)> {
        let output = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_continuation_token(continuation.clone())
            .send()
            .await
            .map_err(|e| Error::store("list objects", e))?;
        let objects = output
            .contents()
            .iter()
            .filter_map(|object| {
                Some(ListedObject {
                    key: object.key()?.to_string(),
                    size_bytes: object.size().unwrap_or(0).max(0) as u64,
                    last_modified: object.last_modified().map(|t| t.secs()),
                })
            })
            .collect();
        let next = match (output.is_truncated(), output.next_continuation_token()) {
            (Some(true), Some(next)) if continuation.as_deref() != Some(next) => {
                Some(next.to_string())
            }
            _ => None,
        };
        Ok((objects, next))
    }

    /// The multipart uploads in progress under `prefix` (ListMultipartUploads,
    /// all pages): `(key, upload id, initiated at)`. `None` when the store
    /// does not implement the call (the embedded s3s-fs store does not).
    pub async fn list_multipart_uploads(
        &self,
        prefix: &str,
    ) -> Result<Option<Vec<(String, String, Option<i64>)>>> {
        let mut uploads = Vec::new();
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            let output = match self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(markers.0.clone())
                .set_upload_id_marker(markers.1.clone())
                .send()
                .await
            {
                Ok(output) => output,
                Err(e)
                    if e.raw_response().is_some_and(|r| r.status().as_u16() == 501)
                        || e.code() == Some("NotImplemented") =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(Error::store("list multipart uploads", e)),
            };
            for upload in output.uploads() {
                if let (Some(key), Some(upload_id)) = (upload.key(), upload.upload_id()) {
                    uploads.push((
                        key.to_string(),
                        upload_id.to_string(),
                        upload.initiated().map(|t| t.secs()),
                    ));
                }
            }
            let next = (
                output.next_key_marker().map(str::to_string),
                output.next_upload_id_marker().map(str::to_string),
            );
            if output.is_truncated() != Some(true) || next.0.is_none() || next == markers {
                return Ok(Some(uploads));
            }
            markers = next;
        }
    }
}

/// An object as listed: its key, size and last modification (Unix seconds).
#[derive(Debug, Clone)]
pub struct ListedObject {
    pub key: String,
    pub size_bytes: u64,
    pub last_modified: Option<i64>,
}

/// Whether a failed request means "no such object" (a 404 or `NoSuchKey`).
fn is_missing(status: Option<u16>, code: Option<&str>) -> bool {
    status == Some(404) || code == Some("NoSuchKey")
}

fn presigned(request: &aws_sdk_s3::presigning::PresignedRequest) -> Presigned {
    Presigned {
        url: request.uri().to_string(),
        headers: request
            .headers()
            .map(|(name, value)| HeaderPair {
                name: name.to_string(),
                value: value.to_string(),
            })
            .collect(),
    }
}

//! One store conformance suite, run against the embedded store (s3s-fs with
//! the strict wrapper) and SeaweedFS: the answers the API relies on are the
//! same on both. Raw aws-sdk-s3 calls, no API in between. SeaweedFS tests
//! fail (they do not skip) when `weed` is not installed.

use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumMode, CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use base64::Engine as _;
use photopro_api::embedded::EmbeddedStore;
use photopro_api::store::{ObjectStore, StoreConfig};
use sha2::{Digest, Sha256};

use crate::support::{bytes, seaweedfs, STORE_ACCESS_KEY, STORE_SECRET_KEY};

/// Runs a conformance case against both stores, as two tests.
macro_rules! both_stores {
    ($($case:ident),* $(,)?) => { $(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                let store = super::Store::embedded().await;
                super::$case(&store).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn seaweedfs() {
                let store = super::Store::seaweedfs().await;
                super::$case(&store).await
            }
        }
    )* };
}

both_stores!(
    a_put_with_a_wrong_checksum_stores_nothing,
    a_refused_put_leaves_the_existing_object_alone,
    if_none_match_refuses_an_existing_key,
    head_returns_the_sha256_the_put_declared,
    a_part_with_a_wrong_checksum_is_refused,
    completing_with_a_missing_part_fails_and_the_upload_survives,
    aborting_an_unknown_upload_is_not_found,
);

pub struct Store {
    pub client: Client,
    pub config: StoreConfig,
    _embedded: Option<(EmbeddedStore, tempfile::TempDir)>,
}

impl Store {
    pub async fn embedded() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let embedded = EmbeddedStore::start(dir.path(), 0, STORE_ACCESS_KEY, STORE_SECRET_KEY)
            .await
            .unwrap();
        let config = embedded.config.clone();
        ObjectStore::new(&config).ensure_bucket().await.unwrap();
        Store {
            client: raw_client(&config),
            config,
            _embedded: Some((embedded, dir)),
        }
    }

    pub async fn seaweedfs() -> Store {
        let config = tokio::task::spawn_blocking(|| seaweedfs().clone())
            .await
            .unwrap();
        Store {
            client: raw_client(&config),
            config,
            _embedded: None,
        }
    }

    fn bucket(&self) -> &str {
        &self.config.bucket
    }

    /// A key no other test uses.
    fn key(&self, what: &str) -> String {
        format!("conformance/{what}/{}", uuid::Uuid::new_v4())
    }

    async fn put(
        &self,
        key: &str,
        data: &[u8],
        sha256_of: Option<&[u8]>,
        if_none_match: bool,
    ) -> Result<(), (u16, String)> {
        let mut put = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .body(ByteStream::from(data.to_vec()));
        if let Some(content) = sha256_of {
            put = put.checksum_sha256(b64_sha256(content));
        }
        if if_none_match {
            put = put.if_none_match("*");
        }
        put.send().await.map(|_| ()).map_err(|e| {
            use aws_sdk_s3::error::ProvideErrorMetadata;
            (
                e.raw_response().map_or(0, |r| r.status().as_u16()),
                e.code().unwrap_or_default().to_string(),
            )
        })
    }

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let output = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .ok()?;
        Some(output.body.collect().await.unwrap().to_vec())
    }

    async fn create_upload(&self, key: &str) -> String {
        self.client
            .create_multipart_upload()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap()
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        data: &[u8],
        sha256_of: &[u8],
    ) -> Result<String, u16> {
        self.client
            .upload_part()
            .bucket(self.bucket())
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_sha256(b64_sha256(sha256_of))
            .body(ByteStream::from(data.to_vec()))
            .send()
            .await
            .map(|output| output.e_tag.unwrap_or_default())
            .map_err(|e| e.raw_response().map_or(0, |r| r.status().as_u16()))
    }
}

fn raw_client(config: &StoreConfig) -> Client {
    let credentials = Credentials::new(
        &config.access_key_id,
        &config.secret_access_key,
        None,
        None,
        "conformance",
    );
    Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .credentials_provider(credentials)
            .region(Region::new(config.region.clone()))
            .endpoint_url(&config.endpoint)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build(),
    )
}

fn b64_sha256(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))
}

async fn a_put_with_a_wrong_checksum_stores_nothing(store: &Store) {
    let key = store.key("bad-digest");
    let declared = bytes(4096, 1);
    let sent = bytes(4096, 2);
    let refused = store.put(&key, &sent, Some(&declared), false).await;
    assert!(
        matches!(&refused, Err((400, code)) if code == "BadDigest"),
        "{refused:?}"
    );
    assert_eq!(store.get(&key).await, None, "nothing is stored");
}

async fn a_refused_put_leaves_the_existing_object_alone(store: &Store) {
    let key = store.key("bad-digest-existing");
    let original = bytes(4096, 3);
    store
        .put(&key, &original, Some(&original), false)
        .await
        .unwrap();
    let other = bytes(4096, 4);
    let refused = store.put(&key, &other, Some(&original), false).await;
    assert!(matches!(&refused, Err((400, _))), "{refused:?}");
    assert_eq!(store.get(&key).await.as_deref(), Some(original.as_slice()));
}

async fn if_none_match_refuses_an_existing_key(store: &Store) {
    let key = store.key("if-none-match");
    let first = bytes(2048, 5);
    store.put(&key, &first, Some(&first), true).await.unwrap();
    let second = bytes(2048, 6);
    let refused = store.put(&key, &second, Some(&second), true).await;
    assert!(matches!(&refused, Err((412, _))), "{refused:?}");
    assert_eq!(store.get(&key).await.as_deref(), Some(first.as_slice()));
}

async fn head_returns_the_sha256_the_put_declared(store: &Store) {
    let key = store.key("head-checksum");
    let data = bytes(3000, 7);
    store.put(&key, &data, Some(&data), false).await.unwrap();
    let head = store
        .client
        .head_object()
        .bucket(store.bucket())
        .key(&key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_sha256(), Some(b64_sha256(&data).as_str()));
    assert_eq!(head.content_length(), Some(3000));
}

async fn a_part_with_a_wrong_checksum_is_refused(store: &Store) {
    let key = store.key("bad-part");
    let upload_id = store.create_upload(&key).await;
    let part = bytes(5 << 20, 8);
    let other = bytes(5 << 20, 9);
    let refused = store.upload_part(&key, &upload_id, 1, &other, &part).await;
    assert!(matches!(refused, Err(400)), "{refused:?}");
    let listed = store
        .client
        .list_parts()
        .bucket(store.bucket())
        .key(&key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert!(listed.parts().is_empty(), "the refused part is not kept");
    store
        .upload_part(&key, &upload_id, 1, &part, &part)
        .await
        .unwrap();
    let listed = store
        .client
        .list_parts()
        .bucket(store.bucket())
        .key(&key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts().len(), 1);
    assert!(
        listed.parts()[0].e_tag().is_some(),
        "ListParts reports ETags"
    );
}

async fn completing_with_a_missing_part_fails_and_the_upload_survives(store: &Store) {
    let key = store.key("missing-part");
    let upload_id = store.create_upload(&key).await;
    let one = bytes(5 << 20, 10);
    let two = bytes(1 << 20, 11);
    let etag_one = store
        .upload_part(&key, &upload_id, 1, &one, &one)
        .await
        .unwrap();
    let complete = |parts: Vec<(i32, String)>| {
        store
            .client
            .complete_multipart_upload()
            .bucket(store.bucket())
            .key(&key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(
                        parts
                            .into_iter()
                            .map(|(n, etag)| {
                                CompletedPart::builder().part_number(n).e_tag(etag).build()
                            })
                            .collect(),
                    ))
                    .build(),
            )
            .send()
    };
    let missing = complete(vec![
        (1, etag_one.clone()),
        (2, "\"0123456789abcdef0123456789abcdef\"".into()),
    ])
    .await;
    let status = missing
        .as_ref()
        .err()
        .and_then(|e| e.raw_response())
        .map(|r| r.status().as_u16());
    assert!(matches!(status, Some(400..=499)), "{status:?}");
    // The upload is still there: the missing part can be sent and the upload completed.
    let etag_two = store
        .upload_part(&key, &upload_id, 2, &two, &two)
        .await
        .unwrap();
    complete(vec![(1, etag_one), (2, etag_two)]).await.unwrap();
    let mut whole = one.clone();
    whole.extend_from_slice(&two);
    assert_eq!(store.get(&key).await, Some(whole));
}

async fn aborting_an_unknown_upload_is_not_found(store: &Store) {
    let key = store.key("abort-unknown");
    let upload_id = store.create_upload(&key).await;
    store
        .client
        .abort_multipart_upload()
        .bucket(store.bucket())
        .key(&key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    let again = store
        .client
        .abort_multipart_upload()
        .bucket(store.bucket())
        .key(&key)
        .upload_id(&upload_id)
        .send()
        .await;
    let status = again
        .as_ref()
        .err()
        .and_then(|e| e.raw_response())
        .map(|r| r.status().as_u16());
    // S3 and R2: 404 NoSuchUpload; the API's ObjectStore::abort_multipart treats it as done.
    assert!(again.is_ok() || status == Some(404), "{status:?}");
    ObjectStore::new(&store.config)
        .abort_multipart(&key, &upload_id)
        .await
        .expect("the API's abort accepts an upload that is already gone");
}

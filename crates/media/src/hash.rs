//! Dropbox's `content_hash`: SHA-256 over the concatenated SHA-256 digests of
//! each 4 MiB block of the file. One hash serves both remotes (PhotoProOS
//! Storage and Dropbox) and lets a block-level upload verify itself.

use sha2::{Digest, Sha256};
use std::io::Read;

/// Dropbox hashes files in blocks of exactly this many bytes.
pub const BLOCK_SIZE: usize = 4 * 1024 * 1024;

/// A 32-byte content hash, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

impl std::fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

impl std::fmt::Display for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Streaming hasher: feed bytes in any chunking, get the same hash.
#[derive(Clone, Default)]
pub struct ContentHasher {
    overall: Sha256,
    block: Sha256,
    block_filled: usize,
}

impl ContentHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = BLOCK_SIZE - self.block_filled;
            let take = room.min(data.len());
            self.block.update(&data[..take]);
            self.block_filled += take;
            data = &data[take..];
            if self.block_filled == BLOCK_SIZE {
                let digest = std::mem::take(&mut self.block).finalize();
                self.overall.update(digest);
                self.block_filled = 0;
            }
        }
    }

    pub fn finish(mut self) -> ContentHash {
        // A trailing partial block counts; an empty file hashes zero blocks.
        if self.block_filled > 0 {
            let digest = self.block.finalize();
            self.overall.update(digest);
        }
        ContentHash(self.overall.finalize().into())
    }
}

/// Hash a whole in-memory buffer.
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    let mut hasher = ContentHasher::new();
    hasher.update(bytes);
    hasher.finish()
}

/// Hash everything a reader yields, reading in block-sized chunks.
pub fn content_hash_reader(mut reader: impl Read) -> std::io::Result<ContentHash> {
    let mut hasher = ContentHasher::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward reference: split into 4 MiB blocks, hash each,
    /// hash the concatenation of the digests.
    fn reference(bytes: &[u8]) -> [u8; 32] {
        let mut concatenated = Vec::new();
        for block in bytes.chunks(BLOCK_SIZE) {
            concatenated.extend_from_slice(&Sha256::digest(block));
        }
        Sha256::digest(&concatenated).into()
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 13)) as u8)
            .collect()
    }

    #[test]
    fn matches_reference_at_block_boundaries() {
        const MIB: usize = 1024 * 1024;
        for len in [0, 1, 4 * MIB - 1, 4 * MIB, 4 * MIB + 1, 9 * MIB] {
            let data = pattern(len);
            assert_eq!(content_hash(&data).0, reference(&data), "size {len}");
            let streamed = content_hash_reader(std::io::Cursor::new(&data)).unwrap();
            assert_eq!(streamed.0, reference(&data), "streamed size {len}");
        }
    }

    #[test]
    fn empty_file_is_sha256_of_nothing() {
        // Zero blocks: the outer hash is SHA-256 of the empty string.
        assert_eq!(
            content_hash(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_round_trips() {
        let hash = content_hash(b"photo");
        assert_eq!(ContentHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(ContentHash::from_hex("zz"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// Invariant: the hash does not depend on how the bytes are chunked.
        #[test]
        fn chunking_does_not_change_the_hash(len in 0usize..(BLOCK_SIZE * 2 + 7), cuts in proptest::collection::vec(0usize..BLOCK_SIZE * 3, 0..6)) {
            let data = pattern(len);
            let mut hasher = ContentHasher::new();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(len)).collect();
            cuts.sort();
            let mut start = 0;
            for cut in cuts { hasher.update(&data[start..cut]); start = cut; }
            hasher.update(&data[start..]);
            proptest::prop_assert_eq!(hasher.finish().0, reference(&data));
        }
    }
}

//! Tokens and pairing codes. Only SHA-256 hashes are stored, so a database
//! leak yields no usable credential; tokens are 256 random bits, so a plain
//! hash (no salt, no stretching) is enough.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Prefix that makes device tokens recognizable in logs and secret scanners.
pub const DEVICE_TOKEN_PREFIX: &str = "ppd_";

/// The alphabet of pairing codes: no 0/O, 1/I/L, so codes survive being read aloud.
const PAIRING_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("random: {e}")))?;
    Ok(bytes)
}

pub fn new_device_token() -> Result<String> {
    let bytes: [u8; 32] = random_bytes()?;
    Ok(format!(
        "{DEVICE_TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A pairing code like `K7QX-M2RD` (about 40 bits; codes live minutes and are single-use).
pub fn new_pairing_code() -> Result<String> {
    let bytes: [u8; 8] = random_bytes()?;
    let chars: String = bytes
        .iter()
        .map(|b| PAIRING_ALPHABET[*b as usize % PAIRING_ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

/// Normalizes what a user typed (case, dashes, spaces) before hashing.
pub fn normalize_pairing_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Compares two secrets' hashes in constant time.
pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Pulls the token out of `Authorization: Bearer <token>`.
pub fn bearer(header: Option<&str>) -> Result<&str> {
    let value = header.ok_or(Error::Unauthorized)?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or(Error::Unauthorized)?
        .trim();
    if token.is_empty() || token.len() > 200 {
        return Err(Error::Unauthorized);
    }
    Ok(token)
}

//! Compact data shards for the browser: u8 labels and pixels of a few thousand images per file,
//! plus a manifest with each shard's split, count and sha256.
//!
//! Shard layout: the magic `FMS1`, a split byte (0 train, 1 test), three zero bytes, a
//! little-endian `u32` image count, the labels, then the pixels (784 per image).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::{DataError, Dataset, IMAGE_PIXELS};

const MAGIC: &[u8; 4] = b"FMS1";
const HEADER_BYTES: usize = 12;
/// Images per shard: about 3 MB, small enough for quick retries.
pub const IMAGES_PER_SHARD: usize = 4_000;

/// Which official file a shard comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardSplit {
    /// The 60,000 training images (validation is split off later).
    Train,
    /// The 10,000 test images.
    Test,
}

/// One manifest entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// File name inside the data directory.
    pub file: String,
    /// Split the images belong to.
    pub split: ShardSplit,
    /// Images in the shard.
    pub count: usize,
    /// Hex sha256 of the file.
    pub sha256: String,
}

/// The list of shards, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version (1).
    pub version: u32,
    /// Shards in load order.
    pub shards: Vec<ShardEntry>,
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Encodes images `set` as one shard.
pub fn encode_shard(split: ShardSplit, set: &Dataset) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + set.len() * (IMAGE_PIXELS + 1));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[matches!(split, ShardSplit::Test) as u8, 0, 0, 0]);
    out.extend_from_slice(&(set.len() as u32).to_le_bytes());
    out.extend_from_slice(set.labels());
    for i in 0..set.len() {
        out.extend_from_slice(set.image(i));
    }
    out
}

/// Splits the training and test sets into shards and their manifest.
pub fn make_shards(train: &Dataset, test: &Dataset) -> (Manifest, Vec<(String, Vec<u8>)>) {
    let mut files = Vec::new();
    let mut shards = Vec::new();
    for (split, set, prefix) in [
        (ShardSplit::Train, train, "train"),
        (ShardSplit::Test, test, "test"),
    ] {
        for (n, start) in (0..set.len()).step_by(IMAGES_PER_SHARD).enumerate() {
            let part = set.slice(start..start + IMAGES_PER_SHARD);
            let bytes = encode_shard(split, &part);
            let file = format!("{prefix}-{n:03}.fms");
            shards.push(ShardEntry {
                file: file.clone(),
                split,
                count: part.len(),
                sha256: sha256_hex(&bytes),
            });
            files.push((file, bytes));
        }
    }
    (Manifest { version: 1, shards }, files)
}

/// Checks a downloaded shard against its manifest entry and parses it.
pub fn decode_shard(
    name: &str,
    bytes: &[u8],
    expected_sha256: &str,
) -> Result<(ShardSplit, Dataset), DataError> {
    let bad = |reason: String| DataError::Invalid {
        file: name.to_string(),
        reason,
    };
    if !expected_sha256.is_empty() && !sha256_hex(bytes).eq_ignore_ascii_case(expected_sha256) {
        return Err(bad(
            "checksum mismatch: the file is corrupt or incomplete; retry the download".into(),
        ));
    }
    if bytes.len() < HEADER_BYTES || &bytes[..4] != MAGIC {
        return Err(bad("not a Fashion-MNIST shard (bad signature)".into()));
    }
    let split = match bytes[4] {
        0 => ShardSplit::Train,
        1 => ShardSplit::Test,
        other => return Err(bad(format!("unknown split byte {other}"))),
    };
    // Reserved: the encoder writes zeros, so anything else is damage (or a newer format).
    if bytes[5..8] != [0, 0, 0] {
        return Err(bad(format!(
            "reserved header bytes 5-7 are {:?}, expected zeros",
            &bytes[5..8]
        )));
    }
    let count = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    // Checked: on wasm32 (the page) a forged count would wrap to the file's length.
    let expected = count
        .checked_mul(IMAGE_PIXELS + 1)
        .and_then(|n| n.checked_add(HEADER_BYTES));
    if expected != Some(bytes.len()) {
        return Err(DataError::Truncated {
            file: name.to_string(),
            expected: expected.unwrap_or(usize::MAX),
            found: bytes.len(),
        });
    }
    let labels = bytes[HEADER_BYTES..HEADER_BYTES + count].to_vec();
    let pixels = bytes[HEADER_BYTES + count..].to_vec();
    let set = Dataset::new(pixels, labels).map_err(|e| bad(e.to_string()))?;
    Ok((split, set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: usize) -> Dataset {
        Dataset::new(
            (0..n * IMAGE_PIXELS).map(|i| (i % 251) as u8).collect(),
            (0..n).map(|i| (i % 10) as u8).collect(),
        )
        .unwrap()
    }

    #[test]
    fn shards_round_trip_with_checksums() {
        let (train, test) = (set(9_000), set(10));
        let (manifest, files) = make_shards(&train, &test);
        assert_eq!(manifest.shards.len(), 4); // 4000 + 4000 + 1000, then 10
        let mut rebuilt = Dataset::default();
        for (entry, (name, bytes)) in manifest.shards.iter().zip(&files) {
            let (split, part) = decode_shard(name, bytes, &entry.sha256).unwrap();
            assert_eq!(split, entry.split);
            assert_eq!(part.len(), entry.count);
            if split == ShardSplit::Train {
                rebuilt = rebuilt.concat(&part);
            }
        }
        assert_eq!(rebuilt, train);
    }

    #[test]
    fn corrupt_shards_are_named_in_the_error() {
        let (manifest, files) = make_shards(&set(5), &set(0));
        let (name, bytes) = &files[0];
        let sha = &manifest.shards[0].sha256;
        let mut flipped = bytes.clone();
        flipped[100] ^= 1;
        let err = decode_shard(name, &flipped, sha).unwrap_err().to_string();
        assert!(
            err.contains("train-000.fms") && err.contains("checksum"),
            "{err}"
        );
        let err = decode_shard(name, &bytes[..bytes.len() - 1], "")
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
        assert!(decode_shard("x", b"<!doctype html>", "").is_err());
    }

    /// Found by the `shards` fuzz target: a shard whose reserved header bytes were not zero
    /// decoded, so two different files gave the same images.
    #[test]
    fn reserved_header_bytes_must_be_zero() {
        let found = [70, 77, 83, 49, 1, 0, 58, 0, 0, 0, 0, 0];
        let err = decode_shard("test-000.fms", &found, "")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reserved header bytes 5-7 are [0, 58, 0], expected zeros"),
            "{err}"
        );
        let mut good = found;
        good[6] = 0;
        let (split, set) = decode_shard("test-000.fms", &good, "").unwrap();
        assert_eq!((split, set.len()), (ShardSplit::Test, 0));
    }

    #[test]
    fn a_count_that_wraps_on_32_bits_is_refused() {
        // 12 + 1,006,718,449 * 785 is 13 modulo 2^32: on wasm32 this 13-byte shard once passed
        // the length check and then panicked slicing its labels.
        let mut shard = b"FMS1\0\0\0\0".to_vec();
        shard.extend_from_slice(&1_006_718_449u32.to_le_bytes());
        shard.push(0);
        let err = decode_shard("forged.fms", &shard, "")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("forged.fms") && err.contains("truncated"),
            "{err}"
        );
    }
}

//! Data shards and their manifest: `decode_shard` as the page's `DataStore::add_shard` calls it
//! (without a checksum, with the right one and with a wrong one), and the manifest read with
//! serde as the CLI writes it (the page parses it in JavaScript and checks the same fields).
//! The whole input is tried as both.
#![no_main]

use fashion_trainer::data::{IMAGE_PIXELS, NUM_CLASSES};
use fashion_trainer::shards::{Manifest, ShardSplit, decode_shard, encode_shard, sha256_hex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let unchecked = decode_shard("shard.fms", data, "");
    if let Ok((split, set)) = &unchecked {
        assert_eq!(data.len(), 12 + set.len() * (IMAGE_PIXELS + 1));
        assert!(set.labels().iter().all(|&l| usize::from(l) < NUM_CLASSES));
        // A shard that decodes is exactly what the encoder writes for its images.
        assert_eq!(encode_shard(*split, set), data);
        assert!(matches!(split, ShardSplit::Train | ShardSplit::Test));
    }
    // The right checksum changes nothing, in either case; a wrong one is always refused.
    let sha = sha256_hex(data);
    let checked = decode_shard("shard.fms", data, &sha.to_uppercase());
    assert_eq!(
        unchecked.as_ref().map_err(|e| e.to_string()),
        checked.as_ref().map_err(|e| e.to_string())
    );
    let wrong = if sha.starts_with('0') { "1" } else { "0" }.repeat(64);
    assert!(decode_shard("shard.fms", data, &wrong).is_err());

    if let Ok(manifest) = serde_json::from_slice::<Manifest>(data) {
        let json = serde_json::to_vec(&manifest).expect("a manifest serialises");
        let back: Manifest = serde_json::from_slice(&json).expect("and reads back");
        assert_eq!(back, manifest);
    }
});

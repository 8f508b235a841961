//! IDX parsing, raw and gzipped: `maybe_gunzip`, `parse_idx_images`, `parse_idx_labels` and
//! `Dataset::from_idx`, as `load_idx_dir` calls them on the four Fashion-MNIST files.
//!
//! Input: a little-endian `u16` giving where the image file ends (modulo the length), then the
//! image file's bytes and the label file's bytes. Each part is parsed as it is (which fuzzes the
//! inflater when it starts with the gzip magic) and gzipped here, which must parse the same.
#![no_main]

use std::io::Write;

use fashion_trainer::data::{
    Dataset, IMAGE_PIXELS, NUM_CLASSES, maybe_gunzip, parse_idx_images, parse_idx_labels,
};
use libfuzzer_sys::fuzz_target;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The outcome of parsing a pair, comparable across raw and gzipped input (errors name the same
/// files, so their messages must agree too, except the ones about inflating).
fn parse(images: &[u8], labels: &[u8]) -> [Result<Vec<u8>, String>; 3] {
    let images_parsed = parse_idx_images("images", images);
    if let Ok(pixels) = &images_parsed {
        assert_eq!(pixels.len() % IMAGE_PIXELS, 0, "a partial image was parsed");
    }
    let labels_parsed = parse_idx_labels("labels", labels);
    if let Ok(labels) = &labels_parsed {
        assert!(labels.iter().all(|&l| usize::from(l) < NUM_CLASSES));
    }
    let set = Dataset::from_idx("images", images, "labels", labels);
    if let Ok(set) = &set {
        assert_eq!(Ok(set.labels()), labels_parsed.as_deref().map_err(|_| ()));
        let pixels = images_parsed
            .as_ref()
            .expect("the pair parsed, so did the images");
        assert_eq!(pixels.len(), set.len() * IMAGE_PIXELS);
        if !set.is_empty() {
            assert_eq!(
                set.image(set.len() - 1),
                &pixels[pixels.len() - IMAGE_PIXELS..]
            );
        }
    }
    [
        images_parsed.map_err(|e| e.to_string()),
        labels_parsed.map_err(|e| e.to_string()),
        set.map(|s| s.labels().to_vec()).map_err(|e| e.to_string()),
    ]
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (split, rest) = data.split_at(2);
    let at = usize::from(u16::from_le_bytes([split[0], split[1]])) % (rest.len() + 1);
    let (images, labels) = rest.split_at(at);

    // The whole input as one file: inflated or passed through, never more than it may inflate to.
    if let Ok(out) = maybe_gunzip("file", rest)
        && !is_gzip(rest)
    {
        assert_eq!(out, rest);
    }

    let raw = parse(images, labels);
    if is_gzip(images) || is_gzip(labels) {
        return;
    }
    // The same files gzipped (as the official ones are) must give the same results.
    let gzipped = parse(&gzip(images), &gzip(labels));
    assert_eq!(raw, gzipped);
});

//! The IDX files Fashion-MNIST ships in (raw or gzip): reading a folder of them, parsing and
//! checking each, and writing them (for tests and fixtures).

use std::io::Read;
use std::path::Path;

use super::{DataError, Dataset, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use crate::bounded_read::read_file;

/// IDX magic numbers: 0x00000803 for u8 rank-3 (images), 0x00000801 for u8 rank-1 (labels).
const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// Refuse to inflate more than this: the largest real file is 47 MB.
const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Returns the bytes of `raw`, inflated when it starts with the gzip magic (every member of a
/// multi-member file, as `gzip -d` does).
pub fn maybe_gunzip(file: &str, raw: &[u8]) -> Result<Vec<u8>, DataError> {
    if raw.len() < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw)
        .take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Decompress {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(DataError::Decompress {
            file: file.to_string(),
            reason: format!("inflates to more than {MAX_DECOMPRESSED_BYTES} bytes"),
        });
    }
    Ok(out)
}

fn read_u32(file: &str, bytes: &[u8], at: usize) -> Result<u32, DataError> {
    let word = bytes.get(at..at + 4).ok_or_else(|| DataError::Truncated {
        file: file.to_string(),
        expected: at + 4,
        found: bytes.len(),
    })?;
    Ok(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

fn check_magic(
    file: &str,
    bytes: &[u8],
    kind: &'static str,
    expected: u32,
) -> Result<(), DataError> {
    let found = read_u32(file, bytes, 0)?;
    if found != expected {
        return Err(DataError::BadMagic {
            file: file.to_string(),
            kind,
            found,
            expected,
        });
    }
    Ok(())
}

/// Parses an IDX image file (raw or gzip) into `count * 784` pixels.
pub fn parse_idx_images(file: &str, raw: &[u8]) -> Result<Vec<u8>, DataError> {
    let bytes = maybe_gunzip(file, raw)?;
    check_magic(file, &bytes, "images", IDX_IMAGES_MAGIC)?;
    let count = read_u32(file, &bytes, 4)? as usize;
    let rows = read_u32(file, &bytes, 8)? as usize;
    let cols = read_u32(file, &bytes, 12)? as usize;
    if rows != IMAGE_SIDE || cols != IMAGE_SIDE {
        return Err(DataError::BadDimensions {
            file: file.to_string(),
            rows,
            cols,
        });
    }
    let expected = 16 + count * IMAGE_PIXELS;
    if bytes.len() < expected {
        return Err(DataError::Truncated {
            file: file.to_string(),
            expected,
            found: bytes.len(),
        });
    }
    Ok(bytes[16..expected].to_vec())
}

/// Parses an IDX label file (raw or gzip), checking every label is a class id.
pub fn parse_idx_labels(file: &str, raw: &[u8]) -> Result<Vec<u8>, DataError> {
    let bytes = maybe_gunzip(file, raw)?;
    check_magic(file, &bytes, "labels", IDX_LABELS_MAGIC)?;
    let count = read_u32(file, &bytes, 4)? as usize;
    let expected = 8 + count;
    if bytes.len() < expected {
        return Err(DataError::Truncated {
            file: file.to_string(),
            expected,
            found: bytes.len(),
        });
    }
    let labels = bytes[8..expected].to_vec();
    check_labels(file, &labels)?;
    Ok(labels)
}

pub(super) fn check_labels(file: &str, labels: &[u8]) -> Result<(), DataError> {
    match labels.iter().position(|&l| l as usize >= NUM_CLASSES) {
        Some(index) => Err(DataError::LabelOutOfRange {
            file: file.to_string(),
            index,
            label: labels[index],
        }),
        None => Ok(()),
    }
}

/// The official file names of the four Fashion-MNIST files.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

fn read_idx_file(dir: &Path, name: &str) -> Result<(String, Vec<u8>), DataError> {
    for candidate in [format!("{name}.gz"), name.to_string()] {
        let path = dir.join(&candidate);
        if path.exists() {
            let bytes = read_file(&path, MAX_DECOMPRESSED_BYTES).map_err(|e| DataError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            return Ok((path.display().to_string(), bytes));
        }
    }
    Err(DataError::Missing {
        file: name.to_string(),
        dir: dir.display().to_string(),
    })
}

/// Loads the official training (60,000) and test (10,000) sets from a directory holding the
/// four IDX files, gzip-compressed or not.
pub fn load_idx_dir(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    let mut sets = Vec::new();
    for pair in IDX_FILES.chunks(2) {
        let (images_file, images) = read_idx_file(dir, pair[0])?;
        let (labels_file, labels) = read_idx_file(dir, pair[1])?;
        sets.push(Dataset::from_idx(
            &images_file,
            &images,
            &labels_file,
            &labels,
        )?);
    }
    let test = sets.pop().unwrap_or_default();
    let train = sets.pop().unwrap_or_default();
    Ok((train, test))
}

/// Encodes images as an IDX image file with the header fields given (they are not checked, so
/// tests can write defective files).
pub fn encode_idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
    for v in [count, rows, cols] {
        out.extend(v.to_be_bytes());
    }
    out.extend(pixels);
    out
}

/// Encodes labels as an IDX label file.
pub fn encode_idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = IDX_LABELS_MAGIC.to_be_bytes().to_vec();
    out.extend((labels.len() as u32).to_be_bytes());
    out.extend(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{encode_idx_images as idx_images, encode_idx_labels as idx_labels};

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn parses_raw_and_gzip_idx() {
        let pixels: Vec<u8> = (0..2 * IMAGE_PIXELS).map(|i| (i % 256) as u8).collect();
        let raw = idx_images(2, 28, 28, &pixels);
        assert_eq!(parse_idx_images("a", &raw).unwrap(), pixels);
        assert_eq!(parse_idx_images("a", &gzip(&raw)).unwrap(), pixels);
        let labels = idx_labels(&[3, 9]);
        assert_eq!(parse_idx_labels("l", &gzip(&labels)).unwrap(), vec![3, 9]);
        let set = Dataset::from_idx("a", &raw, "l", &labels).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(set.image(1)[0], pixels[IMAGE_PIXELS]);
    }

    #[test]
    fn truncated_file_is_an_error() {
        let raw = idx_images(3, 28, 28, &vec![0; 2 * IMAGE_PIXELS]);
        let err = parse_idx_images("imgs", &raw).unwrap_err();
        assert_eq!(
            err,
            DataError::Truncated {
                file: "imgs".into(),
                expected: 16 + 3 * IMAGE_PIXELS,
                found: 16 + 2 * IMAGE_PIXELS
            }
        );
        assert!(err.to_string().contains("truncated"));
        // A header cut short is also "truncated", not a panic.
        assert!(matches!(
            parse_idx_labels("l", &[0, 0, 8]),
            Err(DataError::Truncated { .. })
        ));
        // A gzip stream cut short fails to decompress.
        let gz = gzip(&raw);
        assert!(matches!(
            parse_idx_images("imgs.gz", &gz[..gz.len() / 2]),
            Err(DataError::Decompress { .. })
        ));
    }

    #[test]
    fn wrong_magic_is_an_error() {
        let labels = idx_labels(&[1, 2]);
        let err = parse_idx_images("x", &labels).unwrap_err();
        assert!(matches!(err, DataError::BadMagic { found: 0x801, .. }));
        assert!(err.to_string().contains("not an IDX images file"));
        let err = parse_idx_labels("y", b"GIF89a-not-idx").unwrap_err();
        assert!(matches!(err, DataError::BadMagic { .. }));
    }

    #[test]
    fn wrong_dimensions_are_an_error() {
        let raw = idx_images(1, 32, 32, &vec![0; 32 * 32]);
        assert!(matches!(
            parse_idx_images("x", &raw),
            Err(DataError::BadDimensions {
                rows: 32,
                cols: 32,
                ..
            })
        ));
    }

    #[test]
    fn label_out_of_range_is_an_error() {
        let err = parse_idx_labels("labels", &idx_labels(&[0, 9, 10, 1])).unwrap_err();
        assert_eq!(
            err,
            DataError::LabelOutOfRange {
                file: "labels".into(),
                index: 2,
                label: 10
            }
        );
    }

    #[test]
    fn count_mismatch_is_an_error() {
        let raw = idx_images(2, 28, 28, &vec![0; 2 * IMAGE_PIXELS]);
        let err = Dataset::from_idx("imgs", &raw, "lbls", &idx_labels(&[1, 2, 3])).unwrap_err();
        assert_eq!(
            err,
            DataError::CountMismatch {
                images_file: "imgs".into(),
                images: 2,
                labels_file: "lbls".into(),
                labels: 3
            }
        );
        assert_eq!(err.to_string(), "imgs has 2 images but lbls has 3 labels");
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = load_idx_dir(Path::new("/nonexistent-dir")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn multi_member_gzip_inflates_every_member() {
        use std::io::Write;
        let member = |bytes: &[u8]| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(bytes).unwrap();
            gz.finish().unwrap()
        };
        let labels = encode_idx_labels(&[1, 2, 3, 4]);
        let (head, tail) = labels.split_at(5);
        let mut joined = member(head);
        joined.extend(member(tail));
        assert_eq!(maybe_gunzip("labels.gz", &joined).unwrap(), labels);
    }
}

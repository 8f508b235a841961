//! Whole-file reads with a size cap, for every file the core reads whole (IDX data, weights,
//! results, label maps, photos): a FIFO, a device such as `/dev/zero` or a runaway file gets a
//! clear error instead of reading forever or filling the memory.

use std::fs::File;
use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// Reads the regular file at `path` whole, refusing anything else and anything over `limit`
/// bytes.
pub fn read_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    // Checked before opening: opening a FIFO for reading waits for a writer. Checked again on
    // the open file, which is what is read.
    let not_a_file = |meta: &std::fs::Metadata| {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        };
        Error::new(ErrorKind::InvalidInput, format!("{what}: expected a file"))
    };
    let before = std::fs::metadata(path)?;
    if !before.is_file() {
        return Err(not_a_file(&before));
    }
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    let too_big = || {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "the file is over the {} MiB read whole",
                limit.div_ceil(1 << 20)
            ),
        )
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    // The file can grow while it is read: take at most one byte over the limit.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_capped_and_only_of_regular_files() {
        let dir = std::env::temp_dir().join(format!("bounded-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ten.bin");
        std::fs::write(&path, [7u8; 10]).unwrap();
        assert_eq!(read_file(&path, 10).unwrap(), [7u8; 10]);
        let err = read_file(&path, 9).unwrap_err().to_string();
        assert!(err.contains("over the 1 MiB"), "{err}");
        let err = read_file(&dir, 10).unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
        #[cfg(unix)]
        {
            let err = read_file(Path::new("/dev/zero"), 10)
                .unwrap_err()
                .to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

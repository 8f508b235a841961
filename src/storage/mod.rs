//! Run and study folders on disk (native only): what `train` and `study` write, what
//! `evaluate`, `predict` and `report` read, and where the data and the catalogue are found.
//! The CLI is a thin layer over this; tests call it without spawning the binary.

mod run_folder;
mod study_folder;

pub use run_folder::{RunFolder, history_csv, load_model};
pub use study_folder::StudyFolder;

use std::path::{Path, PathBuf};

use crate::data::DataError;
use crate::products::CatalogueError;
use crate::{Error, Result};

/// The Fashion-MNIST directory: `explicit` (`--data`), else `$FASHION_MNIST_DIR`, else
/// `../shared/data/fashion-mnist`, else `data/cache` (filled by `./build.sh data`), each
/// relative to the working directory or the crate.
pub fn data_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Ok(dir) = std::env::var("FASHION_MNIST_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        PathBuf::from("../shared/data/fashion-mnist"),
        crate_dir.join("../shared/data/fashion-mnist"),
        PathBuf::from("data/cache"),
        crate_dir.join("data/cache"),
    ];
    let has_data = |d: &&PathBuf| {
        ["", ".gz"]
            .iter()
            .any(|ext| d.join(format!("t10k-labels-idx1-ubyte{ext}")).exists())
    };
    candidates.iter().find(has_data).cloned().ok_or_else(|| {
        DataError::NotFound {
            searched: candidates
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into()
    })
}

/// The product catalogue: `explicit` (`--catalogue`), else `../shared/data/fashion-products`
/// next to the working directory or the crate.
pub fn catalogue_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        PathBuf::from("../shared/data/fashion-products"),
        crate_dir.join("../shared/data/fashion-products"),
    ]
    .into_iter()
    .find(|d| d.join("styles.csv").exists())
    .ok_or_else(|| CatalogueError::NotFound.into())
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::file(path, e))
}

/// Writes a whole file.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, contents).map_err(|e| Error::file(path, e))
}

/// Reads a JSON file; a parse error names the file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_slice(&read(path)?).map_err(|e| Error::file(path, e))
}

/// Writes `value` as pretty JSON.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    write(path, to_json(value)?)
}

/// `value` as pretty JSON, as the files and `--json` outputs hold it.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::file("<json>", e))
}

/// Creates a directory and its parents.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_data_dir_wins_and_json_round_trips() {
        let dir = std::env::temp_dir().join(format!("storage-json-{}", std::process::id()));
        create_dir(&dir).unwrap();
        assert_eq!(data_dir(Some(&dir)).unwrap(), dir);
        let path = dir.join("x.json");
        write_json(&path, &vec![1, 2, 3]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), [1, 2, 3]);
        write(&path, "{oops").unwrap();
        let err = read_json::<Vec<u32>>(&path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

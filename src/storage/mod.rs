//! Run and study folders on disk (native only): what `train` and `study` write, what
//! `evaluate`, `predict` and `report` read, and where the data and the catalogue are found.
//! The CLI is a thin layer over this; tests call it without spawning the binary.

mod run_folder;
mod study_folder;

pub use run_folder::{RUN_FILES, RunFolder, history_csv, load_model};
pub use study_folder::StudyFolder;

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::bounded_read::read_file;
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

/// The largest file read whole: weights, results, label maps and photos are far smaller, and a
/// device or a runaway file must not fill the memory.
pub const MAX_READ_BYTES: u64 = 256 << 20;

/// Reads a whole regular file of at most [`MAX_READ_BYTES`] (a FIFO or `/dev/zero` is refused
/// rather than read forever).
pub fn read(path: &Path) -> Result<Vec<u8>> {
    read_file(path, MAX_READ_BYTES).map_err(|e| Error::file(path, e))
}

/// Writes a whole file atomically: to a temporary name beside it, then renamed over it, so a
/// reader (or a killed process) never sees half a file.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, contents).map_err(|e| Error::file(path, e))?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::file(path, e)
    })
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

/// A folder this process is writing. Another process that tries to lock it is refused until this
/// is dropped; the operating system releases it if the process dies, so a killed run never
/// leaves a folder locked.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

/// Locks `dir` (creating it) for this process's writes, through `dir/.lock`.
pub fn lock_folder(dir: &Path) -> Result<FolderLock> {
    create_dir(dir)?;
    let path = dir.join(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::file(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(FolderLock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(Error::file(
            dir,
            "another fashion-trainer process is writing this folder: wait for it to finish, or \
             choose another --out",
        )),
        Err(TryLockError::Error(e)) => Err(Error::file(&path, e)),
    }
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

    #[test]
    fn writes_leave_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("storage-write-{}", std::process::id()));
        create_dir(&dir).unwrap();
        write(&dir.join("a.txt"), "one").unwrap();
        write(&dir.join("a.txt"), "two").unwrap();
        assert_eq!(read(&dir.join("a.txt")).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
        let err = read(&dir).unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_locked_folder_is_refused_until_released() {
        let dir = std::env::temp_dir().join(format!("storage-lock-{}", std::process::id()));
        let lock = lock_folder(&dir).unwrap();
        let err = lock_folder(&dir).unwrap_err().to_string();
        assert!(err.contains("another fashion-trainer process"), "{err}");
        drop(lock);
        drop(lock_folder(&dir).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Fashion-MNIST as the page loads it: checksummed shards, added one by one.

use serde::Serialize;
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;

use super::{js_err, to_ts};
use crate::data::{Dataset, IMAGE_PIXELS, NUM_CLASSES};
use crate::shards::{ShardSplit, decode_shard};

/// Fashion-MNIST as loaded from shards.
#[wasm_bindgen]
#[derive(Default)]
pub struct DataStore {
    pub(super) train: Dataset,
    pub(super) test: Dataset,
}

/// Test images of one confusion-matrix cell.
#[derive(Serialize, Tsify)]
pub struct CellImages {
    /// Their indices in the test set (at most `max`).
    pub indices: Vec<usize>,
    /// Their pixels, 784 per image, in the order of `indices`.
    #[serde(with = "serde_bytes")]
    #[tsify(type = "Uint8Array")]
    pub pixels: Vec<u8>,
    /// How many test images fall in the cell in all.
    pub total: usize,
}

#[wasm_bindgen]
impl DataStore {
    /// An empty store.
    #[wasm_bindgen(constructor)]
    pub fn new() -> DataStore {
        DataStore::default()
    }

    /// Verifies a shard against its sha256 and appends its images to their split.
    #[wasm_bindgen(js_name = addShard)]
    pub fn add_shard(&mut self, name: &str, bytes: &[u8], sha256_hex: &str) -> Result<(), JsError> {
        let (split, set) = decode_shard(name, bytes, sha256_hex).map_err(js_err)?;
        let target = match split {
            ShardSplit::Train => &mut self.train,
            ShardSplit::Test => &mut self.test,
        };
        *target = std::mem::take(target).concat(&set);
        Ok(())
    }

    /// Training images loaded (60,000 when complete).
    #[wasm_bindgen(js_name = trainCount)]
    pub fn train_count(&self) -> usize {
        self.train.len()
    }

    /// Test images loaded (10,000 when complete).
    #[wasm_bindgen(js_name = testCount)]
    pub fn test_count(&self) -> usize {
        self.test.len()
    }

    /// The test images with true class `label` that `predictions` (one per test image, from
    /// `WebModel.evaluate`) put in class `predicted`: the first `max`, and how many in all.
    #[wasm_bindgen(js_name = cellImages)]
    pub fn cell_images(
        &self,
        predictions: &[u8],
        label: u8,
        predicted: u8,
        max: usize,
    ) -> Result<Ts<CellImages>, JsError> {
        if usize::from(label.max(predicted)) >= NUM_CLASSES {
            return Err(js_err(format!("no class {}", label.max(predicted))));
        }
        let cell: Vec<usize> = self
            .test
            .labels()
            .iter()
            .zip(predictions)
            .enumerate()
            .filter(|(_, (l, p))| **l == label && **p == predicted)
            .map(|(i, _)| i)
            .collect();
        let indices: Vec<usize> = cell.iter().copied().take(max).collect();
        let mut pixels = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        for &i in &indices {
            pixels.extend_from_slice(self.test.image(i));
        }
        to_ts(&CellImages {
            indices,
            pixels,
            total: cell.len(),
        })
    }
}

impl DataStore {
    /// Both sets, or an error when the shards are not all in yet.
    pub(super) fn loaded(&self) -> Result<(&Dataset, &Dataset), JsError> {
        if self.train.is_empty() || self.test.is_empty() {
            return Err(js_err("the data set is not loaded yet"));
        }
        Ok((&self.train, &self.test))
    }
}

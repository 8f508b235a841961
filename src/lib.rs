//! Train, evaluate and run LeNet-5-family Fashion-MNIST classifiers with Burn, natively and in
//! the browser. Every module here compiles for both targets except `storage` (files, native
//! only) and `web` (the wasm-bindgen facade, wasm only).
#![warn(missing_docs)]

pub mod bounded_read;
pub mod checkpoint;
pub mod clock;
pub mod data;
pub mod device;
pub mod error;
pub mod format;
pub mod insight;
pub mod interop;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod photo;
pub mod presets;
pub mod products;
pub mod report;
pub mod run;
pub mod shards;
#[cfg(not(target_family = "wasm"))]
pub mod storage;
pub mod study;
pub mod summary;
pub mod training;

pub use error::{Error, Result};
#[cfg(target_family = "wasm")]
pub mod web;

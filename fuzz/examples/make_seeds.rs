//! Writes the seeds that the library's own encoders make: tiny IDX pairs (raw and gzipped) for
//! `idx`, shards and a manifest for `shards`, a small checkpoint for `weights`, and catalogue
//! inputs for `catalogue`, from the real data in `../shared/data`. The other seeds (a trained
//! `.ftw`, a study's JSON, photos) come from the CLI and real photos; see `seeds/README.md`.
//!
//! `cargo run --release --example make_seeds -- [DATA_ROOT]` from `fuzz/` (default
//! `../../shared/data`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use burn::tensor::Device;
use fashion_trainer::checkpoint;
use fashion_trainer::data::{
    IMAGE_PIXELS, IMAGE_SIDE, encode_idx_images, encode_idx_labels, load_idx_dir,
};
use fashion_trainer::model::LeNetConfig;
use fashion_trainer::shards::{ShardSplit, encode_shard, make_shards};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("creating the seed directory");
    std::fs::write(dir.join(name), bytes).expect("writing a seed");
    println!("{} ({} bytes)", dir.join(name).display(), bytes.len());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).expect("writing to a Vec");
    enc.finish().expect("writing to a Vec")
}

/// The `idx` target's input: where the image file ends, then both files.
fn idx_pair(images: &[u8], labels: &[u8]) -> Vec<u8> {
    let mut out = (images.len() as u16).to_le_bytes().to_vec();
    out.extend_from_slice(images);
    out.extend_from_slice(labels);
    out
}

/// Polls a future that never waits (the CPU device reads back at once).
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the CPU device does not wait"),
    }
}

fn main() {
    let data = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../../shared/data".into()),
    );
    let seeds = Path::new("seeds");
    let (train, test) = load_idx_dir(&data.join("fashion-mnist")).expect("Fashion-MNIST");

    // idx: three real images with their labels; gzipped; an empty pair.
    let three = train.slice(0..3);
    let pixels: Vec<u8> = (0..3).flat_map(|i| three.image(i).to_vec()).collect();
    let side = IMAGE_SIDE as u32;
    let images = encode_idx_images(3, side, side, &pixels);
    let labels = encode_idx_labels(three.labels());
    let dir = seeds.join("idx");
    write(&dir, "three-raw", &idx_pair(&images, &labels));
    write(
        &dir,
        "three-gzip",
        &idx_pair(&gzip(&images), &gzip(&labels)),
    );
    write(
        &dir,
        "empty-raw",
        &idx_pair(
            &encode_idx_images(0, side, side, &[]),
            &encode_idx_labels(&[]),
        ),
    );
    write(
        &dir,
        "one-image-gzip",
        &idx_pair(&gzip(&images[..16 + IMAGE_PIXELS]), &gzip(&labels[..9])),
    );

    // shards: real shards of two training and one test image, and their manifest.
    let (manifest, files) = make_shards(&train.slice(0..2), &test.slice(0..1));
    let dir = seeds.join("shards");
    for (name, bytes) in &files {
        write(&dir, name, bytes);
    }
    write(
        &dir,
        "manifest.json",
        serde_json::to_string_pretty(&manifest).unwrap().as_bytes(),
    );
    write(
        &dir,
        "empty.fms",
        &encode_shard(ShardSplit::Test, &test.slice(0..0)),
    );

    // weights: the smallest architecture (one kernel per convolution), untrained.
    let config = LeNetConfig::new()
        .with_conv1_kernels(1)
        .with_conv2_kernels(1);
    let model = config.init(&Device::flex());
    let bytes = ready(checkpoint::to_bytes(&model, &config, None, "tiny")).expect("weights");
    write(&seeds.join("weights"), "tiny-untrained.ftw", &bytes);

    // catalogue: the built-in label map, the first rows of the real styles.csv, their paths.
    let styles = std::fs::read_to_string(data.join("fashion-products/styles.csv")).expect("styles");
    let rows: Vec<&str> = styles.lines().take(13).collect();
    let mut paths = vec!["catalogue/styles.csv".to_string()];
    paths.extend(
        rows[1..]
            .iter()
            .map(|r| format!("catalogue/images/{}.jpg", r.split(',').next().unwrap())),
    );
    paths.push("other/images/15970.JPG".into());
    let map = fashion_trainer::products::BUILTIN_LABEL_MAP;
    let input = format!("{map}\0{}\n\0{}\n", rows.join("\n"), paths.join("\n"));
    let dir = seeds.join("catalogue");
    write(&dir, "builtin-map-12-rows", input.as_bytes());
    let short_map =
        "articleType,class\nTshirts,T-shirt/top\nTrack Pants,1\n# a comment\nWatches,bag\n";
    let input =
        format!("{short_map}\0id,articleType\n1,Tshirts\n2,Watches\n\0styles.csv\nimages/1.jpg\n");
    write(&dir, "short-map", input.as_bytes());
}

//! Bad input against the CLI, as a user would give it: each case is one clear message (an error
//! line, or a note beside the output) and never a panic, a hang, a raw terminal escape or a
//! silent wrong answer.
//!
//! `BAD_INPUTS_TABLE=table.md cargo test --release --test bad_inputs` also writes the cases and
//! the messages they got as a Markdown table.
#![cfg(unix)]

mod common;
use common::{cli_timed, scratch};

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use burn::tensor::Device;
use fashion_trainer::checkpoint;
use fashion_trainer::data::{IMAGE_PIXELS, encode_idx_images, encode_idx_labels};
use fashion_trainer::interop::ExportFormat;
use fashion_trainer::presets::Variant;
use image::{Rgb, RgbImage};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

/// What a case must give.
enum Expect {
    /// Exit 0, with a stdout line holding this.
    Note(&'static str),
    /// A failure whose first stderr line is `error: …` holding this.
    Error(&'static str),
}
use Expect::{Error, Note};

fn png(image: RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}

/// Weights of `variant` labelled `label`.
fn weights(variant: Variant, label: &str) -> Vec<u8> {
    let config = variant.config();
    let model = config.model.init(&Device::flex());
    pollster::block_on(checkpoint::to_bytes(
        &model,
        &config.model,
        Some(&config),
        label,
    ))
    .unwrap()
}

/// The scratch folder every case's files are made in.
struct Fixtures {
    root: std::path::PathBuf,
}

impl Fixtures {
    fn at(&self, name: &str) -> String {
        self.root.join(name).to_str().unwrap().to_string()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        let path = self.root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// A data folder of 20 training and 10 test images, spoiled where `spoil` says.
    fn data(&self, name: &str, spoil: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
        let images = |n: u32| encode_idx_images(n, 28, 28, &vec![90; n as usize * IMAGE_PIXELS]);
        let files = [
            ("train-images-idx3-ubyte", images(20)),
            ("train-labels-idx1-ubyte", encode_idx_labels(&[1; 20])),
            ("t10k-images-idx3-ubyte", images(10)),
            ("t10k-labels-idx1-ubyte", encode_idx_labels(&[2; 10])),
        ];
        std::fs::create_dir_all(self.root.join(name)).unwrap();
        for (file, bytes) in files {
            if let Some(bytes) = spoil(file, bytes) {
                self.write(&format!("{name}/{file}"), bytes);
            }
        }
    }

    /// A catalogue folder: `rows` under a styles.csv header, and a photo for each id in `photos`.
    fn catalogue(&self, name: &str, header: &str, rows: &str, photos: &[&str]) {
        self.write(&format!("{name}/styles.csv"), format!("{header}\n{rows}"));
        let shirt = png(RgbImage::from_fn(40, 40, |x, y| {
            let inside = (10..30).contains(&x) && (5..35).contains(&y);
            Rgb(if inside { [40, 40, 90] } else { [250; 3] })
        }));
        std::fs::create_dir_all(self.root.join(name).join("images")).unwrap();
        for id in photos {
            self.write(&format!("{name}/images/{id}.jpg"), &shirt);
        }
    }
}

/// Makes every file the cases use; returns the lock held on `busy-run` (as another process
/// writing it would).
fn make_fixtures(f: &Fixtures) -> File {
    // Photos.
    f.write(
        "white.png",
        png(RgbImage::from_pixel(64, 48, Rgb([255; 3]))),
    );
    let stripes = |x: u32, _| Rgb([if x % 2000 < 1000 { 0 } else { 255 }; 3]);
    f.write("strip.png", png(RgbImage::from_fn(40_000_000, 1, stripes)));
    f.write(
        "wide-white.png",
        png(RgbImage::from_pixel(20_000, 2_000, Rgb([255; 3]))),
    );
    f.write("page.jpg", "<html><body>not a photo</body></html>");
    f.write("empty.png", "");
    let shirt = png(RgbImage::from_fn(40, 40, |x, _| {
        Rgb([if x < 20 { 30 } else { 240 }; 3])
    }));
    f.write("cut.png", &shirt[..shirt.len() / 2]);
    f.write("shirt.png", &shirt);
    f.write("scan.tif", b"II*\x00\x08\x00\x00\x00");
    let mut huge_bmp = b"BM".to_vec();
    for v in [0u32, 0, 54, 40, 9_000, 9_000] {
        huge_bmp.extend_from_slice(&v.to_le_bytes());
    }
    huge_bmp.extend_from_slice(&[1, 0, 24, 0]);
    huge_bmp.extend_from_slice(&[0; 24]);
    f.write("huge.bmp", huge_bmp);
    mkfifo(&f.root.join("fifo.png"));
    std::fs::create_dir_all(f.root.join("folder.png")).unwrap();
    f.write("\x1b[31mred\x1b[0m.png", "");

    // Weights.
    let base = weights(Variant::Base, "base");
    f.write("base-run/model.ftw", &base);
    let header = u32::from_le_bytes(base[4..8].try_into().unwrap()) as usize;
    let mut nan = base.clone();
    nan[8 + header..12 + header].copy_from_slice(&f32::NAN.to_le_bytes());
    f.write("nan.ftw", nan);
    f.write("cut.ftw", &base[..base.len() - 10]);
    f.write("longer.ftw", [&base[..], b"extra"].concat());
    f.write("page.ftw", "<!doctype html><title>oops</title>");
    File::create(f.root.join("huge.ftw"))
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    f.write("escape.ftw", weights(Variant::Base, "\x1b]0;owned\x07base"));
    f.write("mismatched-run/model.ftw", weights(Variant::V1, "v1"));
    let base_config = serde_json::to_string(&Variant::Base.config()).unwrap();
    f.write("mismatched-run/config.json", base_config);
    std::fs::create_dir_all(f.root.join("no-weights")).unwrap();
    // Exports (issue 15): safetensors cut short, of another architecture, of a three-layer
    // network, and an ONNX model offered as weights.
    let base_checkpoint = checkpoint::Checkpoint::from_bytes(&base).unwrap();
    let exported = ExportFormat::Safetensors.encode(&base_checkpoint).unwrap();
    f.write("cut.safetensors", &exported[..exported.len() - 50]);
    let file = SafeTensors::deserialize(&exported).unwrap();
    let narrow_fc1 = vec![0u8; 120 * 250 * 4];
    let mut other: Vec<(String, TensorView<'_>)> = file.tensors();
    other.retain(|(name, _)| name != "fc1.weight");
    other.push((
        "fc1.weight".into(),
        TensorView::new(Dtype::F32, vec![120, 250], &narrow_fc1).unwrap(),
    ));
    f.write(
        "other.safetensors",
        safetensors::serialize(other, None).unwrap(),
    );
    let mut three: Vec<(String, TensorView<'_>)> = file.tensors();
    three.retain(|(name, _)| !name.starts_with("fc2"));
    f.write(
        "three.safetensors",
        safetensors::serialize(three, None).unwrap(),
    );
    f.write(
        "model.onnx",
        ExportFormat::Onnx.encode(&base_checkpoint).unwrap(),
    );

    // Data.
    f.data("data", |_, b| Some(b));
    f.data("data-cut", |name, b| {
        Some(if name.starts_with("train-images") {
            b[..b.len() - 100].to_vec()
        } else {
            b
        })
    });
    f.data("data-magic", |name, mut b| {
        if name.starts_with("t10k-labels") {
            b[3] = 9;
        }
        Some(b)
    });
    f.data("data-label", |name, b| {
        Some(if name.starts_with("t10k-labels") {
            encode_idx_labels(&[12; 10])
        } else {
            b
        })
    });
    f.data("data-count", |name, b| {
        Some(if name.starts_with("train-labels") {
            encode_idx_labels(&[1; 19])
        } else {
            b
        })
    });
    f.data("data-tiny", |name, b| {
        Some(match name {
            "train-images-idx3-ubyte" => encode_idx_images(5, 28, 28, &[90; 5 * IMAGE_PIXELS]),
            "train-labels-idx1-ubyte" => encode_idx_labels(&[1; 5]),
            _ => b,
        })
    });
    f.data("data-missing", |name, b| {
        (!name.starts_with("t10k-labels")).then_some(b)
    });
    f.data("data-bomb", |name, b| {
        (!name.starts_with("t10k-images")).then_some(b)
    });
    let zeros = vec![0u8; (256 << 20) + 4096];
    f.write("data-bomb/t10k-images-idx3-ubyte.gz", gzip(&zeros));
    f.data("data-fifo", |name, b| {
        (!name.starts_with("t10k-images")).then_some(b)
    });
    mkfifo(&f.root.join("data-fifo/t10k-images-idx3-ubyte"));
    // Valid gzip of two members, as `cat a.gz b.gz` makes.
    f.data("data-members", |name, b| {
        (!name.starts_with("t10k-labels")).then_some(b)
    });
    let labels = encode_idx_labels(&[2; 10]);
    let two = [gzip(&labels[..6]), gzip(&labels[6..])].concat();
    f.write("data-members/t10k-labels-idx1-ubyte.gz", two);

    // Run and study folders.
    f.write("finished-run/results.json", "{}");
    f.write("finished-run/model.ftw", &base);
    std::fs::create_dir_all(f.root.join("busy-run")).unwrap();
    let held = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(f.root.join("busy-run/.lock"))
        .unwrap();
    held.try_lock().unwrap();
    f.write(
        "other-study/study.json",
        r#"{"epochs":3,"seed":42,"limit_train":null,"limit_eval":null,"variants":["base"],"refit":"best"}"#,
    );
    std::fs::create_dir_all(f.root.join("empty-study/runs")).unwrap();

    // Catalogues.
    let header = "id,gender,articleType";
    f.catalogue("cat-traversal", header, "../../secret,Men,Tshirts\n", &[]);
    f.catalogue("cat-absolute", header, "/etc/passwd,Men,Tshirts\n", &[]);
    let twice = "1,Men,Tshirts\n2,Men,Jeans\n1,Men,Shirts\n";
    f.catalogue("cat-twice", header, twice, &["1", "2"]);
    f.catalogue(
        "cat-unmapped",
        header,
        "1,Men,Watches\n2,Men,Ties\n",
        &["1", "2"],
    );
    f.catalogue("cat-columns", "id,gender,type", "1,Men,Tshirts\n", &["1"]);
    f.catalogue("cat-no-photos", header, "1,Men,Tshirts\n2,Men,Jeans\n", &[]);
    let three = "1,Men,Tshirts\n2,Men,Jeans\n3,Men,Shirts\n";
    f.catalogue("cat-odd-photos", header, three, &["1"]);
    std::fs::create_dir_all(f.root.join("cat-odd-photos/images/2.jpg")).unwrap();
    mkfifo(&f.root.join("cat-odd-photos/images/3.jpg"));
    f.catalogue(
        "cat-escape",
        header,
        "1,Men,Tshirts\n2,Men,\x1b[2JWatches\n",
        &["1"],
    );
    f.write("unknown-map.csv", "articleType,class\nTshirts,Spaceship\n");
    f.write("html-map.csv", "<html>\n");
    held
}

/// Every case: what is given, the arguments (`@name` is a fixture's path) and what must come.
#[rustfmt::skip]
const CASES: &[(&str, &[&str], Expect)] = &[
    ("a blank (all white) photo", &["predict", "--model", "@base-run", "@white.png"], Note("no object found: the photo is blank")),
    ("a 40,000,000 x 1 striped PNG (116 KB)", &["predict", "--model", "@base-run", "@strip.png"], Note("strip.png: ")),
    ("a white 20000 x 2000 PNG", &["predict", "--model", "@base-run", "@wide-white.png"], Note("no object found")),
    ("an HTML page named .jpg", &["predict", "--model", "@base-run", "@page.jpg"], Error("not an image: expected JPEG, PNG, WebP, GIF or BMP")),
    ("an empty photo file", &["predict", "--model", "@base-run", "@empty.png"], Error("the file is empty")),
    ("a PNG cut in half", &["predict", "--model", "@base-run", "@cut.png"], Error("the image could not be decoded")),
    ("a TIFF scan", &["predict", "--model", "@base-run", "@scan.tif"], Error("not supported: use JPEG, PNG, WebP, GIF or BMP")),
    ("a BMP header claiming 9000 x 9000", &["predict", "--model", "@base-run", "@huge.bmp"], Error("the limit is 40 megapixels")),
    ("a FIFO as a photo", &["predict", "--model", "@base-run", "@fifo.png"], Error("not a regular file: expected a file")),
    ("a folder as a photo", &["predict", "--model", "@base-run", "@folder.png"], Error("a folder: expected a file")),
    ("/dev/zero as a photo", &["predict", "--model", "@base-run", "/dev/zero"], Error("not a regular file")),
    ("a photo that does not exist", &["predict", "--model", "@base-run", "@nowhere.png"], Error("No such file")),
    ("a photo name with terminal escapes", &["predict", "--model", "@base-run", "@\x1b[31mred\x1b[0m.png"], Error("\\u{1b}[31mred\\u{1b}[0m.png: the file is empty")),
    ("an unknown --preprocess", &["predict", "--model", "@base-run", "--preprocess", "smart", "@shirt.png"], Error("unknown preprocessing 'smart'")),
    ("weights holding a NaN", &["predict", "--model", "@nan.ftw", "@shirt.png"], Error("holds NaN at index 0")),
    ("weights cut short", &["predict", "--model", "@cut.ftw", "@shirt.png"], Error("truncated in tensor")),
    ("weights with bytes after them", &["predict", "--model", "@longer.ftw", "@shirt.png"], Error("5 unexpected bytes after the weights")),
    ("an HTML page as weights", &["predict", "--model", "@page.ftw", "@shirt.png"], Error("not a fashion-trainer weights file")),
    ("safetensors weights cut short", &["predict", "--model", "@cut.safetensors", "@shirt.png"], Error("safetensors weights: the file is damaged or truncated")),
    ("safetensors whose fc1 fits 10 conv2 kernels, not 16", &["evaluate", "--model", "@other.safetensors", "--data", "@data"], Error("fc1.weight has shape [120, 250], expected [120, 400] for a LeNet with 6/16 kernels")),
    ("safetensors of a network with 2 linear layers", &["predict", "--model", "@three.safetensors", "@shirt.png"], Error("expected the weights and biases of 2 convolutions and 3 linear layers")),
    ("an ONNX model as weights", &["predict", "--model", "@model.onnx", "@shirt.png"], Error("looks like an ONNX model")),
    ("export to a name with no known extension", &["export", "--model", "@base-run", "--out", "@export.bin"], Error("say --format safetensors, onnx or ftw")),
    ("export whose --format and file name disagree", &["export", "--model", "@base-run", "--format", "onnx", "--out", "@export.safetensors"], Error("the name says safetensors but --format is onnx")),
    ("export to an unknown format", &["export", "--model", "@base-run", "--format", "pt", "--out", "@export.pt"], Error("unknown format 'pt' (expected ftw, safetensors or onnx)")),
    ("export of weights that are not there", &["export", "--model", "@nowhere.ftw", "--out", "@export.onnx"], Error("No such file")),
    ("a 100 MiB file as weights", &["predict", "--model", "@huge.ftw", "@shirt.png"], Error("over the 64 MiB")),
    ("v1 weights in a run folder whose config is base", &["evaluate", "--model", "@mismatched-run", "--data", "@data"], Error("these weights are for v1")),
    ("a run folder without model.ftw", &["predict", "--model", "@no-weights", "@shirt.png"], Error("model.ftw: No such file")),
    ("weights labelled with terminal escapes", &["evaluate", "--model", "@escape.ftw", "--data", "@data"], Note("\\u{1b}]0;owned\\u{7}base")),
    ("a training IDX file cut short", &["train", "--epochs", "1", "--data", "@data-cut", "--out", "@o1"], Error("truncated")),
    ("an IDX file with the wrong magic", &["train", "--epochs", "1", "--data", "@data-magic", "--out", "@o2"], Error("magic")),
    ("a label of 12", &["train", "--epochs", "1", "--data", "@data-label", "--out", "@o3"], Error("label 12")),
    ("19 labels for 20 images", &["train", "--epochs", "1", "--data", "@data-count", "--out", "@o4"], Error("has 20 images but")),
    ("a missing IDX file", &["train", "--epochs", "1", "--data", "@data-missing", "--out", "@o5"], Error("missing")),
    ("a gzip bomb (256 MiB of zeros, 256 KB packed)", &["evaluate", "--model", "@base-run", "--data", "@data-bomb"], Error("inflates to more than")),
    ("a FIFO as an IDX file", &["evaluate", "--model", "@base-run", "--data", "@data-fifo"], Error("not a regular file")),
    ("a multi-member gzip IDX file", &["evaluate", "--model", "@base-run", "--data", "@data-members"], Note("on the test set, 10 images")),
    ("--limit-eval 0", &["evaluate", "--model", "@base-run", "--data", "@data", "--limit-eval", "0"], Error("must be at least 1")),
    ("--limit-train 0", &["train", "--data", "@data", "--limit-train", "0", "--out", "@o6"], Error("must be at least 1")),
    ("--limit-train 2^70", &["train", "--data", "@data", "--limit-train", "1180591620717411303424", "--out", "@o7"], Error("number too large")),
    ("--limit-train -1", &["train", "--data", "@data", "--limit-train", "-1", "--out", "@o8"], Error("unexpected argument '-1'")),
    ("--epochs 0", &["train", "--data", "@data", "--epochs", "0", "--out", "@o9"], Error("Epochs")),
    ("--learning-rate NaN", &["train", "--data", "@data", "--learning-rate", "NaN", "--out", "@o10"], Error("Learning rate")),
    ("--batch-size 0", &["train", "--data", "@data", "--batch-size", "0", "--out", "@o11"], Error("Batch size")),
    ("a training set too small to validate (5 images)", &["train", "--data", "@data-tiny", "--epochs", "1", "--out", "@o12"], Error("the validation set is empty")),
    ("bench: 2^60 batches", &["bench", "--data", "@data", "--batches", "1152921504606846976", "--batch-size", "1024"], Error("need more than the 20 training images")),
    ("bench: --batch-size 0", &["bench", "--data", "@data", "--batch-size", "0"], Error("must be at least 1")),
    ("--threads 0", &["train", "--data", "@data", "--threads", "0", "--out", "@o14"], Error("CPU workers: enter a whole number from 1 to 64, got 0")),
    ("bench: --threads 65", &["bench", "--data", "@data", "--threads", "65"], Error("CPU workers: enter a whole number from 1 to 64, got 65")),
    ("bench: --synthetic with more images than the data set holds", &["bench", "--synthetic", "--data", "@data", "--batches", "2000"], Error("need more than the 20 training images")),
    ("evaluate-products --limit 0", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-twice", "--limit", "0"], Error("must be at least 1")),
    ("train into a folder holding a finished run", &["train", "--data", "@data", "--epochs", "1", "--out", "@finished-run"], Error("already holds a run (results.json, model.ftw): pass --force")),
    ("train into a folder another process is writing", &["train", "--data", "@data", "--epochs", "1", "--out", "@busy-run"], Error("another fashion-trainer process is writing this folder")),
    ("study into the folder of a study with other settings", &["study", "--variants", "base", "--epochs", "1", "--data", "@data", "--out", "@other-study"], Error("holds a study with other settings (base; 3 epochs; seed 42; refit best; all images; asked for base; 1 epoch;")),
    ("study --refit of a variant not studied", &["study", "--variants", "base,v1", "--refit", "v3", "--out", "@o13"], Error("not among the study's variants")),
    ("report from a folder with no finished run", &["report", "--from", "@empty-study"], Error("no study here: no study.json and no finished run under runs/")),
    ("a catalogue id ../../secret", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-traversal"], Error("line 2: product id '../../secret' is not a plain name")),
    ("a catalogue id /etc/passwd", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-absolute"], Error("product id '/etc/passwd' is not a plain name")),
    ("a catalogue id listed twice", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-twice"], Error("line 4: product id '1' is listed twice (first on line 2)")),
    ("a catalogue where no article type maps", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-unmapped"], Error("none of the 2 rows of styles.csv has an article type the label map knows")),
    ("styles.csv without articleType", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-columns"], Error("no 'articleType' column")),
    ("a catalogue with no photo", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-no-photos"], Error("no catalogue photo could be read")),
    ("catalogue photos that are a folder and a FIFO", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-odd-photos"], Note("2 mapped rows skipped")),
    ("an article type with terminal escapes", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-escape"], Note("\\u{1b}[2JWatches (1)")),
    ("a label map naming an unknown class", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-escape", "--label-map", "@unknown-map.csv"], Error("unknown class 'Spaceship'")),
    ("an HTML page as a label map", &["evaluate-products", "--model", "@base-run", "--catalogue", "@cat-escape", "--label-map", "@html-map.csv"], Error("label map")),
    ("a catalogue folder that does not exist", &["evaluate-products", "--model", "@base-run", "--catalogue", "@nowhere"], Error("styles.csv")),
];

#[test]
fn every_bad_input_gets_one_clear_message() {
    let fixtures = Fixtures {
        root: scratch("bad-inputs"),
    };
    let held = make_fixtures(&fixtures);
    let root = fixtures.root.to_str().unwrap();
    let mut table = String::from("| # | input | command | message |\n|---|---|---|---|\n");
    let mut failures = Vec::new();
    for (i, (input, args, expect)) in CASES.iter().enumerate() {
        let args: Vec<String> = args
            .iter()
            .map(|a| match a.strip_prefix('@') {
                Some(name) => fixtures.at(name),
                None => a.to_string(),
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr, _) = cli_timed(&args);
        // Progress lines may come first; the error is one line.
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect();
        let first_error = errors.first().copied().unwrap_or("");
        let (ok, message) = match expect {
            Note(expect) => {
                let line = stdout.lines().find(|l| l.contains(expect));
                (code == 0 && line.is_some(), line.unwrap_or("").to_string())
            }
            Error(expect) => (
                code != 0 && errors.len() == 1 && first_error.contains(expect),
                first_error.to_string(),
            ),
        };
        let raw_escape = stdout.contains('\x1b') || stderr.contains('\x1b');
        if !ok || stderr.contains("panicked") || raw_escape {
            failures.push(format!(
                "{input}: {args:?}\nexit {code}\nstdout: {stdout}\nstderr: {stderr}"
            ));
        }
        let shown = message.replace('|', "\\|").replace(root, "…");
        let _ = writeln!(
            table,
            "| {} | {input} | {} | `{}` |",
            i + 1,
            args[0],
            shown.trim()
        );
    }
    drop(held);
    if let Ok(out) = std::env::var("BAD_INPUTS_TABLE") {
        std::fs::write(out, &table).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
    std::fs::remove_dir_all(&fixtures.root).unwrap();
}

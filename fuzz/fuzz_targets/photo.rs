//! Photo preprocessing: `photo::preprocess` with `Preprocess::Auto` and `Center`, as `predict`,
//! `evaluate-products` and the page's "Your photos" call it on a file's bytes. A photo that
//! preprocesses gives exactly 784 input bytes, a 28x28 image and a crop inside the photo, and is
//! classifiable unless it is blank; one over `photo::MAX_PIXELS` is refused. Run with `-rss_limit_mb=4096` (`./build.sh fuzz`):
//! a decoder may use up to `photo::MAX_DECODER_BYTES`, and nothing should need much more.
#![no_main]

use fashion_trainer::data::{IMAGE_PIXELS, IMAGE_SIDE};
use fashion_trainer::photo::{BLANK_CONTRAST, MAX_PIXELS, PREVIEW_SIDE, Preprocess, preprocess};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for mode in [Preprocess::Auto, Preprocess::Center] {
        let Ok(steps) = preprocess(data, mode) else {
            continue;
        };
        let found = steps.found;
        assert!(u64::from(found.width) * u64::from(found.height) <= MAX_PIXELS);
        assert_eq!(steps.input.len(), IMAGE_PIXELS);
        let side = IMAGE_SIDE as u32;
        assert_eq!(steps.resized.dimensions(), (side, side));
        assert_eq!(steps.grayscale.dimensions(), (side, side));
        let crop = found.crop;
        assert!(crop.width > 0 && crop.height > 0, "{crop:?}");
        assert!(crop.x + crop.width <= found.width && crop.y + crop.height <= found.height);
        let (w, h) = steps.square_preview.dimensions();
        assert!(w.max(h) <= PREVIEW_SIDE && w > 0 && h > 0);
        let contrast = steps.input.iter().max().unwrap() - steps.input.iter().min().unwrap();
        assert_eq!(found.blank, contrast < BLANK_CONTRAST);
        assert_eq!(steps.classifiable().is_ok(), !found.blank);
        if mode == Preprocess::Center {
            assert_eq!(crop.width, crop.height);
        }
    }
});

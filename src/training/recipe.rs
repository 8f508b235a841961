//! Training recipes beyond the study: random changes to each training image (augmentation) and
//! learning-rate schedules. Both are pure functions of the run's seed and position, so a run is
//! the same on one core or many, natively or in a browser, and after a resume.

use burn::config::Config;

use crate::data::{IMAGE_SIDE, SplitMix64};

/// Random changes to each training image, drawn anew every epoch. Every strength at 0 leaves the
/// images as they are.
#[derive(Config, Debug, PartialEq)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
pub struct Augmentation {
    /// Shifts each image by up to this many pixels along each axis (a random crop of the image
    /// padded with background), 0 to 4.
    #[config(default = 0)]
    pub shift: usize,
    /// Probability of mirroring an image left to right.
    #[config(default = 0.0)]
    pub flip: f64,
    /// Probability of erasing a random rectangle (2-25 % of the image, aspect 0.3-3.3) to
    /// background (random erasing, Zhong et al. 2020).
    #[config(default = 0.0)]
    pub erasing: f64,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self::new()
    }
}

/// The value erased and shifted-in pixels take: Fashion-MNIST's background.
const BACKGROUND: u8 = 0;

impl Augmentation {
    /// True when no strength is above 0.
    pub fn is_identity(&self) -> bool {
        self.shift == 0 && self.flip <= 0.0 && self.erasing <= 0.0
    }

    /// Changes `image` (28 x 28 pixels, row after row) as epoch `epoch` of a run seeded `seed`
    /// sees training image `index`: the same three numbers always give the same image.
    ///
    /// # Panics
    /// When `image` is not 784 pixels long.
    pub fn apply(&self, image: &mut [u8], seed: u64, epoch: usize, index: usize) {
        assert_eq!(image.len(), IMAGE_SIDE * IMAGE_SIDE, "a 28 x 28 image");
        let mut rng = SplitMix64::new(
            seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (index as u64 + 1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        );
        // Every draw is made whatever the strengths, so one recipe's draws do not move with
        // another's setting.
        let (dx, dy) = (rng.below(2 * self.shift + 1), rng.below(2 * self.shift + 1));
        let flip = unit(&mut rng) < self.flip;
        let erase = unit(&mut rng) < self.erasing;
        if self.shift > 0 {
            shift(
                image,
                dx as isize - self.shift as isize,
                dy as isize - self.shift as isize,
            );
        }
        if flip {
            image.chunks_exact_mut(IMAGE_SIDE).for_each(<[u8]>::reverse);
        }
        if erase {
            erase_rectangle(image, &mut rng);
        }
    }
}

/// A uniform number in `[0, 1)`.
fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Moves the image `dx` pixels right and `dy` down, filling with background.
fn shift(image: &mut [u8], dx: isize, dy: isize) {
    let side = IMAGE_SIDE as isize;
    let source = image.to_vec();
    for y in 0..side {
        for x in 0..side {
            let (sx, sy) = (x - dx, y - dy);
            image[(y * side + x) as usize] = if (0..side).contains(&sx) && (0..side).contains(&sy) {
                source[(sy * side + sx) as usize]
            } else {
                BACKGROUND
            };
        }
    }
}

/// Sets a random rectangle of 2-25 % of the image, aspect ratio 0.3-3.3 (log-uniform), to
/// background.
fn erase_rectangle(image: &mut [u8], rng: &mut SplitMix64) {
    let area = (0.02 + 0.23 * unit(rng)) * (IMAGE_SIDE * IMAGE_SIDE) as f64;
    let aspect = (0.3f64.ln() + (3.3f64.ln() - 0.3f64.ln()) * unit(rng)).exp();
    let side = |x: f64| (x.round() as usize).clamp(1, IMAGE_SIDE);
    let (h, w) = (side((area * aspect).sqrt()), side((area / aspect).sqrt()));
    let (top, left) = (rng.below(IMAGE_SIDE - h + 1), rng.below(IMAGE_SIDE - w + 1));
    for row in image.chunks_exact_mut(IMAGE_SIDE).skip(top).take(h) {
        row[left..left + w].fill(BACKGROUND);
    }
}

/// How the learning rate changes over a run, step by step.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(target_family = "wasm", derive(tsify::Tsify))]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// The learning rate throughout (the study's).
    #[default]
    Constant,
    /// Divided by 10 at half and again at three quarters of the run.
    Step,
    /// From the learning rate down to 0 along half a cosine.
    Cosine,
    /// One cycle (Smith 2018, PyTorch's `OneCycleLR` defaults): a linear warm-up from 1/25 of
    /// the learning rate to all of it over the first 30 % of the steps, then a cosine down to
    /// 1/250,000 of it.
    OneCycle,
}

impl Schedule {
    /// Every schedule, in the form's order.
    pub const ALL: [Schedule; 4] = [
        Schedule::Constant,
        Schedule::Step,
        Schedule::Cosine,
        Schedule::OneCycle,
    ];

    /// The name used in forms, files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Step => "step",
            Schedule::Cosine => "cosine",
            Schedule::OneCycle => "one-cycle",
        }
    }

    /// The learning rate of step `step` (0-based) of a run of `total` steps whose learning rate
    /// is `peak`.
    pub fn rate(self, peak: f64, step: usize, total: usize) -> f64 {
        let total = total.max(1);
        let progress = step.min(total) as f64 / total as f64;
        let cosine = |t: f64| 0.5 * (1.0 + (std::f64::consts::PI * t).cos());
        match self {
            Schedule::Constant => peak,
            Schedule::Step if progress >= 0.75 => peak * 0.01,
            Schedule::Step if progress >= 0.5 => peak * 0.1,
            Schedule::Step => peak,
            Schedule::Cosine => peak * cosine(progress),
            Schedule::OneCycle => {
                let (start, end) = (peak / 25.0, peak / 25.0 / 1e4);
                let warm = ((0.3 * total as f64) as usize).max(1);
                if step < warm {
                    start + (peak - start) * step as f64 / warm as f64
                } else {
                    let t = (step - warm) as f64 / (total - warm).max(1) as f64;
                    end + (peak - end) * cosine(t.min(1.0))
                }
            }
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Schedule::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown schedule '{s}' (expected constant, step, cosine or one-cycle)")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    /// A 28 x 28 image whose pixel at (x, y) is distinct and non-zero where it matters.
    fn gradient_image() -> Vec<u8> {
        (0..IMAGE_PIXELS).map(|i| (1 + i % 250) as u8).collect()
    }

    fn augmented(aug: &Augmentation, seed: u64, epoch: usize, index: usize) -> Vec<u8> {
        let mut image = gradient_image();
        aug.apply(&mut image, seed, epoch, index);
        image
    }

    #[test]
    fn strength_zero_is_the_identity() {
        let none = Augmentation::new();
        assert!(none.is_identity());
        for index in 0..50 {
            assert_eq!(augmented(&none, 42, 3, index), gradient_image());
        }
    }

    #[test]
    fn each_augmentation_is_deterministic_and_keeps_the_shape() {
        for aug in [
            Augmentation::new().with_shift(2),
            Augmentation::new().with_flip(0.5),
            Augmentation::new().with_erasing(0.5),
        ] {
            let a = augmented(&aug, 42, 1, 7);
            assert_eq!(a.len(), IMAGE_PIXELS);
            assert_eq!(a, augmented(&aug, 42, 1, 7), "{aug:?}");
            // Over many images some are changed, and another epoch or seed draws anew.
            let changed = (0..100)
                .filter(|&i| augmented(&aug, 42, 1, i) != gradient_image())
                .count();
            assert!((20..=100).contains(&changed), "{aug:?}: {changed}");
            let differ = (0..100)
                .filter(|&i| augmented(&aug, 42, 1, i) != augmented(&aug, 42, 2, i))
                .count();
            assert!(differ > 10, "{aug:?}: {differ}");
        }
    }

    #[test]
    fn a_shift_moves_pixels_and_fills_with_background() {
        let mut image = gradient_image();
        shift(&mut image, 2, -1);
        let source = gradient_image();
        // (x, y) comes from (x - 2, y + 1).
        assert_eq!(image[5 * IMAGE_SIDE + 10], source[6 * IMAGE_SIDE + 8]);
        assert!(
            image[5 * IMAGE_SIDE..5 * IMAGE_SIDE + 2]
                .iter()
                .all(|&p| p == 0)
        );
        assert!(image[27 * IMAGE_SIDE..].iter().all(|&p| p == 0));
        // A shift of at most 2 never moves a pixel further.
        let aug = Augmentation::new().with_shift(2);
        let mut dot = vec![0u8; IMAGE_PIXELS];
        dot[14 * IMAGE_SIDE + 14] = 255;
        for index in 0..50 {
            let mut moved = dot.clone();
            aug.apply(&mut moved, 1, 0, index);
            let at = moved.iter().position(|&p| p == 255).unwrap();
            let (x, y) = (at % IMAGE_SIDE, at / IMAGE_SIDE);
            assert!(x.abs_diff(14) <= 2 && y.abs_diff(14) <= 2);
        }
    }

    #[test]
    fn a_flip_mirrors_rows_and_erasing_blanks_a_rectangle() {
        let always = Augmentation::new().with_flip(1.0);
        let flipped = augmented(&always, 0, 0, 0);
        let source = gradient_image();
        assert_eq!(flipped[3 * IMAGE_SIDE], source[3 * IMAGE_SIDE + 27]);
        assert_eq!(
            augmented(&Augmentation::new().with_flip(1.0), 5, 1, 1),
            flipped
        );
        let erased = augmented(&Augmentation::new().with_erasing(1.0), 0, 0, 0);
        let blank = erased.iter().filter(|&&p| p == 0).count();
        assert!((15..=200).contains(&blank), "{blank} pixels erased");
    }

    #[test]
    fn schedules_at_known_steps() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        let peak = 0.01;
        for step in [0, 50, 99] {
            assert_eq!(Schedule::Constant.rate(peak, step, 100), peak);
        }
        let step = |s| Schedule::Step.rate(peak, s, 100);
        assert!(close(step(49), 0.01) && close(step(50), 0.001) && close(step(75), 0.0001));
        let cosine = |s| Schedule::Cosine.rate(peak, s, 100);
        assert!(close(cosine(0), 0.01) && close(cosine(50), 0.005) && close(cosine(100), 0.0));
        let cycle = |s| Schedule::OneCycle.rate(peak, s, 100);
        assert!(close(cycle(0), 0.0004));
        assert!(close(cycle(15), 0.0004 + (0.01 - 0.0004) * 0.5));
        assert!(close(cycle(30), 0.01));
        assert!(close(cycle(65), 4e-8 + (0.01 - 4e-8) * 0.5));
        assert!(close(cycle(100), 4e-8));
        assert!(cycle(31) < cycle(30) && cycle(29) < cycle(30));
    }

    #[test]
    fn schedule_names_round_trip() {
        for s in Schedule::ALL {
            assert_eq!(s.name().parse::<Schedule>().unwrap(), s);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
        }
        assert!("linear".parse::<Schedule>().is_err());
    }
}

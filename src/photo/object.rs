//! Finding the object on a product photo: the background colour from the photo's border, the
//! pixels that stand out from it, their bounding box, and which way a wide object faces.

use image::{Rgb, RgbImage};

use super::CropBox;

/// The background colour: the per-channel median of the photo's outer ring.
pub(super) fn border_colour(photo: &RgbImage) -> Rgb<u8> {
    let (w, h) = photo.dimensions();
    let ring = (w.min(h) / 100).max(1);
    let mut channels: [Vec<u8>; 3] = Default::default();
    for (x, y, p) in photo.enumerate_pixels() {
        if x < ring || y < ring || x >= w.saturating_sub(ring) || y >= h.saturating_sub(ring) {
            for (c, v) in p.0.iter().enumerate() {
                channels[c].push(*v);
            }
        }
    }
    Rgb(channels.map(|mut values| {
        let mid = values.len() / 2;
        *values.select_nth_unstable(mid).1
    }))
}

/// A pixel belongs to the object when one channel differs from the background by more than this
/// (8 % of the range: above JPEG noise and soft shadows on white).
const OBJECT_THRESHOLD: i32 = 20;

/// Which pixels of a photo stand out from its background.
#[derive(Clone)]
pub(super) struct ObjectMask {
    /// Width of the photo in pixels.
    pub(super) width: u32,
    /// Height of the photo in pixels.
    pub(super) height: u32,
    /// One flag a pixel, row by row: true where the object is.
    pixels: Vec<bool>,
}

impl ObjectMask {
    /// The pixels of `photo` that differ from `background` by more than `OBJECT_THRESHOLD`.
    pub(super) fn new(photo: &RgbImage, background: Rgb<u8>) -> Self {
        let pixels = photo
            .pixels()
            .map(|p| {
                p.0.iter()
                    .zip(background.0)
                    .any(|(&v, b)| (i32::from(v) - i32::from(b)).abs() > OBJECT_THRESHOLD)
            })
            .collect();
        let (width, height) = photo.dimensions();
        ObjectMask {
            width,
            height,
            pixels,
        }
    }

    /// Whether the pixel at (x, y) belongs to the object.
    pub(super) fn at(&self, x: u32, y: u32) -> bool {
        self.pixels[(y * self.width + x) as usize]
    }

    /// Marks the pixel at (x, y) as background.
    pub(super) fn clear(&mut self, x: u32, y: u32) {
        self.pixels[(y * self.width + x) as usize] = false;
    }

    /// The first and last object column of row `y`.
    pub(super) fn row_extent(&self, y: u32) -> Option<(u32, u32)> {
        let row = &self.pixels[(y * self.width) as usize..((y + 1) * self.width) as usize];
        let first = row.iter().position(|&p| p)?;
        let last = row.iter().rposition(|&p| p)?;
        Some((first as u32, last as u32))
    }

    /// The bounding box of the object within `rows`, ignoring rows and columns with only a speck
    /// of it (dust, JPEG ringing); `None` when nothing stands out.
    pub(super) fn bounding_box(&self, rows: std::ops::Range<u32>) -> Option<CropBox> {
        let mut row_counts = vec![0u32; rows.len()];
        let mut col_counts = vec![0u32; self.width as usize];
        for (i, y) in rows.clone().enumerate() {
            for x in 0..self.width {
                if self.at(x, y) {
                    row_counts[i] += 1;
                    col_counts[x as usize] += 1;
                }
            }
        }
        let span = |counts: &[u32], other_side: u32| -> Option<(u32, u32)> {
            let min_count = (other_side / 200).max(1);
            let first = counts.iter().position(|&c| c >= min_count)?;
            let last = counts.iter().rposition(|&c| c >= min_count)?;
            Some((first as u32, last as u32))
        };
        let (top, bottom) = span(&row_counts, self.width)?;
        let (left, right) = span(&col_counts, rows.len() as u32)?;
        Some(CropBox {
            x: left,
            y: rows.start + top,
            width: right - left + 1,
            height: bottom - top + 1,
        })
    }

    /// The object's height in each column: from its first to its last row there.
    pub(super) fn column_heights(&self) -> Vec<u32> {
        // One row-major pass (the mask's own order), keeping each column's first and last row.
        let mut top = vec![u32::MAX; self.width as usize];
        let mut bottom = vec![0u32; self.width as usize];
        for (row, y) in self.pixels.chunks_exact(self.width as usize).zip(0u32..) {
            for (x, _) in row.iter().enumerate().filter(|(_, p)| **p) {
                top[x] = top[x].min(y);
                bottom[x] = y;
            }
        }
        top.iter()
            .zip(&bottom)
            .map(|(&t, &b)| if t == u32::MAX { 0 } else { b - t + 1 })
            .collect()
    }
}

/// Whether a wide object (at least 1.1 times as wide as high: shoes, many bags) has its taller
/// end, the heel of a shoe, on the left, i.e. faces right. Garments, taller than wide and nearly
/// symmetric, are left alone.
pub(super) fn faces_right(crop: CropBox, heights: &[u32]) -> bool {
    if 10 * crop.width < 11 * crop.height {
        return false;
    }
    let object = &heights[crop.x as usize..(crop.x + crop.width) as usize];
    let third = object.len() / 3;
    let left: u64 = object[..third].iter().map(|&c| u64::from(c)).sum();
    let right: u64 = object[object.len() - third..]
        .iter()
        .map(|&c| u64::from(c))
        .sum();
    left > right
}

#[cfg(test)]
mod tests {
    use crate::data::IMAGE_SIDE;
    use crate::photo::tests::photo_with_box;
    use crate::photo::{CropBox, Preprocess, preprocess_image};
    use image::{Rgb, RgbImage};

    #[test]
    fn auto_finds_a_known_object_box() {
        let photo = photo_with_box((300, 200), (170, 40, 60, 120));
        let steps = preprocess_image(&photo, Preprocess::Auto);
        assert!(steps.found.object_found);
        assert!(!steps.found.worn, "a box with no head is not a person");
        assert_eq!(
            steps.found.crop,
            CropBox {
                x: 170,
                y: 40,
                width: 60,
                height: 120
            }
        );
        // The object fills the frame's height: the centre is bright, the side bands dark.
        let at = |x: usize, y: usize| steps.input[y * IMAGE_SIDE + x];
        assert!(at(14, 14) > 150, "object centre {}", at(14, 14));
        assert!(
            at(1, 14) < 20 && at(26, 14) < 20,
            "padding must be background"
        );
        assert!(at(14, 1) > 150, "object reaches the top edge");
    }

    /// A white photo with a wide "shoe": a tall block (the heel) at one end of a low sole.
    fn shoe(heel_on_left: bool) -> RgbImage {
        RgbImage::from_fn(200, 100, |x, y| {
            let sole = (20..180).contains(&x) && (60..80).contains(&y);
            let heel_x = if heel_on_left { 20..70 } else { 130..180 };
            let heel = heel_x.contains(&x) && (20..80).contains(&y);
            if sole || heel {
                Rgb([20, 20, 20])
            } else {
                Rgb([255, 255, 255])
            }
        })
    }

    #[test]
    fn auto_turns_wide_objects_to_face_left() {
        let right_facing = preprocess_image(&shoe(true), Preprocess::Auto);
        let left_facing = preprocess_image(&shoe(false), Preprocess::Auto);
        assert!(right_facing.found.mirrored);
        assert!(!left_facing.found.mirrored);
        // Both end up with the heel on the right, like Fashion-MNIST's shoes.
        assert_eq!(right_facing.input, left_facing.input);
        let at = |x: usize, y: usize| left_facing.input[y * IMAGE_SIDE + x];
        assert!(at(23, 12) > 150 && at(5, 12) < 20, "heel right, toe left");
        // A tall object is never mirrored, and `center` never mirrors.
        let tall = photo_with_box((100, 200), (10, 10, 40, 150));
        assert!(!preprocess_image(&tall, Preprocess::Auto).found.mirrored);
        assert!(
            !preprocess_image(&shoe(true), Preprocess::Center)
                .found
                .mirrored
        );
    }
}

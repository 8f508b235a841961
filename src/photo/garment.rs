//! The worn-garment step of `auto`: on a photo of a person, keep only the garment they wear, with
//! their skin painted out, as Fashion-MNIST shows garments alone.

use image::{Rgb, RgbImage};

use super::CropBox;
use super::object::ObjectMask;

/// Skin tones, by the usual chroma box in YCbCr (Chai and Ngan), which holds across skin
/// colours because it ignores brightness, above a floor that keeps out dark shadows.
fn is_skin(Rgb([r, g, b]): Rgb<u8>) -> bool {
    let (r, g, b) = (f32::from(r), f32::from(g), f32::from(b));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    (135.0..=180.0).contains(&cr) && (85.0..=135.0).contains(&cb) && y > 60.0
}

/// A garment found on a person: the photo with the person's skin and everything below the
/// garment painted over with the background, and the garment's box in it.
pub(super) struct WornGarment {
    /// The photo with the skin and what lies below the garment painted over.
    pub(super) photo: RgbImage,
    /// The garment's box: from the shoulders to the bottom of the person, as wide as the garment.
    pub(super) crop: CropBox,
}

/// Finds the garment when the object is a person wearing it, as catalogue photos of tops, shirts,
/// sweaters and dresses are (Fashion-MNIST shows the garment alone, and a model trained on it
/// takes a head above a torso for a bag's handle). A person is a tall object whose top sixth is
/// narrow (under 60 % of the widest row) and skin-rich (over 15 % skin): a head. Then:
/// - the garment starts at the shoulders, the first row at least 70 % as wide as the widest;
/// - skin (arms, hands, neck) becomes background, unless its colour is one of the garment's own;
/// - the garment ends where its colours do: the colours of a sample of the chest (the middle
///   half of its columns, in the rows 10 % to 30 % of the way down from the shoulders) stop
///   covering half of the silhouette's width for a few rows in a row (the trousers below a
///   T-shirt); what lies below is painted over;
/// - the crop runs from the shoulders to the bottom of the person, as wide as the garment.
///
/// On the product catalogue this took a v1 model from 32 % to 55 % (tops and shirts from 15 %
/// and 4 % recall to about 55 %), with trousers, shoes and bags unchanged.
pub(super) fn worn_garment(
    photo: &RgbImage,
    mask: &ObjectMask,
    object: CropBox,
    background: Rgb<u8>,
) -> Option<WornGarment> {
    if object.height <= object.width {
        return None;
    }
    let rows = object.y..object.y + object.height;
    let extent_width = |mask: &ObjectMask, y: u32| mask.row_extent(y).map_or(0, |(l, r)| r - l + 1);
    let widths: Vec<u32> = rows.clone().map(|y| extent_width(mask, y)).collect();
    let widest = *widths.iter().max()?;
    let head_rows = (object.height / 6).max(1);
    let head_width = *widths[..head_rows as usize].iter().max()?;
    let (mut head_pixels, mut head_skin) = (0u32, 0u32);
    for y in object.y..object.y + head_rows {
        for x in 0..mask.width {
            if mask.at(x, y) {
                head_pixels += 1;
                head_skin += u32::from(is_skin(*photo.get_pixel(x, y)));
            }
        }
    }
    if 10 * head_width >= 6 * widest || 100 * head_skin <= 15 * head_pixels {
        return None;
    }
    let shoulders = object.y + widths.iter().position(|&w| 10 * w >= 7 * widest)? as u32;
    let bottom = rows.end - 1;

    // The person's outline, before the skin goes: a white shirt on white shows only between arms.
    let silhouette: Vec<Option<(u32, u32)>> =
        (0..mask.height).map(|y| mask.row_extent(y)).collect();
    // Colours in 8 levels per channel, and their histogram over the chest: the middle half of the
    // garment's columns, from 10 % to 30 % of the way down from the shoulders, within the outline.
    let colour = |p: &Rgb<u8>| {
        let [r, g, b] = p.0.map(|c| usize::from(c / 32));
        r * 64 + g * 8 + b
    };
    let height = bottom - shoulders + 1;
    let chest = |image: &RgbImage, clothes: &ObjectMask| -> Option<([u32; 512], u32)> {
        let (left, right) = (shoulders..=bottom)
            .filter_map(|y| clothes.row_extent(y))
            .reduce(|(l1, r1), (l2, r2)| (l1.min(l2), r1.max(r2)))?;
        let quarter = (right - left + 1) / 4;
        let mut histogram = [0u32; 512];
        let mut sampled = 0u32;
        for y in shoulders + height / 10..=shoulders + 3 * height / 10 {
            let Some((from, to)) = silhouette[y as usize] else {
                continue;
            };
            for x in (left + quarter).max(from)..=(right - quarter).min(to) {
                histogram[colour(image.get_pixel(x, y))] += 1;
                sampled += 1;
            }
        }
        Some((histogram, sampled))
    };

    // Skin goes, except in the garment's own main colours (a tenth of the chest or more): a
    // beige, yellow or pink shirt is skin-toned too.
    let (worn, chest_pixels) = chest(photo, mask)?;
    let mut garment = photo.clone();
    let mut clothes = mask.clone();
    for (x, y, pixel) in garment.enumerate_pixels_mut() {
        if clothes.at(x, y) && is_skin(*pixel) && 10 * worn[colour(pixel)] < chest_pixels.max(10) {
            *pixel = background;
            clothes.clear(x, y);
        }
    }

    // The garment's colours, now without the skin, mark where it ends.
    let (histogram, sampled) = chest(&garment, &clothes)?;
    let mut hem = bottom;
    if sampled > 0 {
        let in_palette = |p: &Rgb<u8>| 100 * histogram[colour(p)] >= (3 * sampled).max(100);
        let gap = (height / 40).max(2);
        let mut run = 0;
        for y in shoulders + 3 * height / 10..=bottom {
            let covered = silhouette[y as usize].is_some_and(|(from, to)| {
                let matching = (from..=to)
                    .filter(|&x| in_palette(garment.get_pixel(x, y)))
                    .count() as u32;
                2 * matching > to - from
            });
            run = if covered { 0 } else { run + 1 };
            if run >= gap {
                hem = y - run;
                break;
            }
        }
    }
    for y in hem + 1..mask.height {
        for x in 0..mask.width {
            garment.put_pixel(x, y, background);
            clothes.clear(x, y);
        }
    }
    // The box runs on to the bottom of the person, blank below the hem: the garment keeps its
    // size relative to the body, and a hem found too high does not blow a strip up to fill the
    // frame (measured: 55 % on the catalogue, against 48 % for the garment's own box).
    let columns = clothes.bounding_box(shoulders..hem + 1)?;
    Some(WornGarment {
        photo: garment,
        crop: CropBox {
            x: columns.x,
            y: shoulders,
            width: columns.width,
            height: bottom - shoulders + 1,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_SIDE;
    use crate::photo::{Preprocess, preprocess_image};

    /// A person on white: a skin-toned head and neck, a T-shirt of `shirt` colour with bare arms
    /// beside it, and blue jeans down to the bottom edge.
    fn person_in_a_t_shirt(shirt: Rgb<u8>) -> RgbImage {
        let skin = Rgb([224, 172, 140]);
        let within = |x: u32, y: u32, (x0, y0, x1, y1): (u32, u32, u32, u32)| {
            (x0..x1).contains(&x) && (y0..y1).contains(&y)
        };
        RgbImage::from_fn(200, 300, |x, y| {
            if within(x, y, (85, 20, 115, 60)) || within(x, y, (93, 60, 107, 70)) {
                skin
            } else if within(x, y, (40, 70, 160, 190)) {
                shirt
            } else if within(x, y, (30, 100, 40, 180)) || within(x, y, (160, 100, 170, 180)) {
                skin
            } else if within(x, y, (55, 190, 145, 300)) {
                Rgb([40, 60, 140])
            } else {
                Rgb([250, 250, 250])
            }
        })
    }

    #[test]
    fn auto_keeps_only_the_garment_a_person_wears() {
        assert!(is_skin(Rgb([224, 172, 140])) && is_skin(Rgb([120, 80, 60])));
        assert!(!is_skin(Rgb([200, 30, 40])) && !is_skin(Rgb([40, 60, 140])));
        // A red shirt, and a beige one: skin-toned, but the garment's own colour, so it stays.
        let beige = Rgb([235, 205, 160]);
        assert!(is_skin(beige));
        for (shirt, brightness) in [(Rgb([200, 30, 40]), 100), (beige, 30)] {
            let steps = preprocess_image(&person_in_a_t_shirt(shirt), Preprocess::Auto);
            assert!(steps.found.worn && steps.found.object_found && !steps.found.mirrored);
            // From the shoulders down, as wide as the shirt (not the arms), to the person's bottom.
            assert_eq!(
                steps.found.crop,
                CropBox {
                    x: 40,
                    y: 70,
                    width: 120,
                    height: 230
                }
            );
            let at = |x: usize, y: usize| steps.input[y * IMAGE_SIDE + x];
            // The shirt (rows 0-14 of 28) is there; the head, arms and jeans are not.
            assert!(at(14, 6) > brightness, "shirt {shirt:?}: {}", at(14, 6));
            for y in 16..IMAGE_SIDE {
                for x in 0..IMAGE_SIDE {
                    assert!(at(x, y) < 20, "jeans left at ({x}, {y}): {}", at(x, y));
                }
            }
            assert!(at(1, 6) < 20 && at(26, 6) < 20, "arms left");
            // `center` keeps the seed's behaviour: the whole person.
            assert!(
                !preprocess_image(&person_in_a_t_shirt(shirt), Preprocess::Center)
                    .found
                    .worn
            );
        }
    }
}

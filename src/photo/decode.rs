//! Decoding a photo's bytes, with limits: only the formats offered are accepted, an oversized
//! image is refused from its header before any pixel is allocated, the decoders' allocations are
//! capped, the EXIF orientation is applied and transparency is composited onto white.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, Rgb, RgbImage};

use super::{MAX_DECODER_BYTES, MAX_PIXELS, PhotoError};

/// Decodes a photo: refuses oversized images before allocating them, applies the EXIF
/// orientation and composites transparency onto white (product shots are on white).
pub fn decode(bytes: &[u8]) -> Result<RgbImage, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    match reader.format() {
        None => return Err(PhotoError::NotAnImage),
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)
        | Some(ImageFormat::Gif | ImageFormat::Bmp) => {}
        Some(other) => return Err(PhotoError::Unsupported(format!("{other:?}").to_uppercase())),
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODER_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PhotoError::TooLarge { width, height });
    }
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt("the image has no pixels".into()));
    }
    // A broken EXIF block must not cost the photo: it is then shown as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    Ok(flatten_on_white(&image))
}

fn decode_error(err: image::ImageError) -> PhotoError {
    match err {
        image::ImageError::Limits(e) => PhotoError::Corrupt(format!(
            "decoding would need more than {} MB ({e})",
            MAX_DECODER_BYTES / (1024 * 1024)
        )),
        image::ImageError::Unsupported(e) => PhotoError::Unsupported(e.to_string()),
        other => PhotoError::Corrupt(other.to_string()),
    }
}

/// RGB with any transparency composited onto white; 16-bit and palette images become 8-bit RGB.
fn flatten_on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over =
            |c: u8| ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8;
        Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::tests::photo_with_box;
    use crate::photo::{Preprocess, preprocess};
    use image::{ImageEncoder, Rgba, RgbaImage};

    fn png_bytes(image: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn refuses_oversized_images_before_decoding() {
        // A valid PNG header claiming 10,000 x 5,000 pixels; no pixel data is needed to refuse it.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&10_000u32.to_be_bytes());
        png.extend_from_slice(&5_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = crc32(&png[12..]);
        png.extend_from_slice(&crc.to_be_bytes());
        // The decoder reads the header up to the first (here empty) IDAT chunk.
        png.extend_from_slice(b"\0\0\0\0IDAT");
        png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
        let err = decode(&png).unwrap_err();
        assert_eq!(
            err,
            PhotoError::TooLarge {
                width: 10_000,
                height: 5_000
            }
        );
        assert!(err.to_string().contains("50.0 megapixels"), "{err}");

        // The same for a BMP header (8,000 x 8,000) with no pixels behind it.
        let mut bmp = b"BM".to_vec();
        for v in [0u32, 0, 54, 40, 8_000, 8_000] {
            bmp.extend_from_slice(&v.to_le_bytes());
        }
        bmp.extend_from_slice(&1u16.to_le_bytes());
        bmp.extend_from_slice(&24u16.to_le_bytes());
        bmp.extend_from_slice(&[0; 24]);
        assert!(matches!(
            decode(&bmp).unwrap_err(),
            PhotoError::TooLarge { .. }
        ));
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A JPEG 40 wide and 20 high, left half black, whose EXIF says "rotate 90° clockwise".
    fn rotated_jpeg() -> Vec<u8> {
        let image = RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        // Big-endian TIFF header, one IFD entry: Orientation (0x0112), SHORT, 1 value, 6.
        let exif = vec![
            b'M', b'M', 0, 42, 0, 0, 0, 8, // header, IFD at 8
            0, 1, // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // orientation = 6
            0, 0, 0, 0, // no next IFD
        ];
        let mut out = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
        encoder.set_exif_metadata(exif).unwrap();
        encoder
            .write_image(image.as_raw(), 40, 20, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    #[test]
    fn honours_exif_orientation() {
        let decoded = decode(&rotated_jpeg()).unwrap();
        // Rotated 90° clockwise: 20 wide, 40 high, the black half now on top.
        assert_eq!(decoded.dimensions(), (20, 40));
        assert!(decoded.get_pixel(10, 5).0[0] < 40);
        assert!(decoded.get_pixel(10, 35).0[0] > 215);
    }

    #[test]
    fn transparency_becomes_white() {
        let image = RgbaImage::from_fn(8, 8, |x, _| {
            if x < 4 {
                Rgba([0, 0, 0, 0])
            } else {
                Rgba([0, 0, 0, 255])
            }
        });
        let decoded = decode(&png_bytes(&DynamicImage::ImageRgba8(image))).unwrap();
        assert_eq!(decoded.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(decoded.get_pixel(7, 0).0, [0, 0, 0]);
    }

    #[test]
    fn sixteen_bit_png() {
        let image = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
            4,
            4,
            image::Rgb([65535, 32768, 0]),
        );
        let decoded = decode(&png_bytes(&DynamicImage::ImageRgb16(image))).unwrap();
        assert_eq!(decoded.get_pixel(1, 1).0, [255, 128, 0]);
    }

    #[test]
    fn palette_png() {
        // An indexed-colour PNG written with the png crate's own encoder.
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 2, 1);
            encoder.set_color(png::ColorType::Indexed);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_palette(vec![255, 0, 0, 0, 0, 255]);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[0, 1]).unwrap();
        }
        let decoded = decode(&out).unwrap();
        assert_eq!(decoded.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(decoded.get_pixel(1, 0).0, [0, 0, 255]);
    }

    #[test]
    fn bad_bytes_are_clear_errors() {
        assert_eq!(decode(b"").unwrap_err(), PhotoError::Empty);
        assert_eq!(
            decode(b"this is a text file, renamed .jpg").unwrap_err(),
            PhotoError::NotAnImage
        );
        let jpeg = rotated_jpeg();
        let err = decode(&jpeg[..jpeg.len() / 3]).unwrap_err();
        assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
        assert!(matches!(
            decode(b"II*\0\x08\0\0\0").unwrap_err(),
            PhotoError::Unsupported(_)
        ));
    }

    #[test]
    fn every_format_decodes() {
        let image = DynamicImage::ImageRgb8(photo_with_box((32, 32), (8, 8, 16, 16)));
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Bmp,
            ImageFormat::Gif,
            ImageFormat::WebP,
        ] {
            let mut out = Vec::new();
            image.write_to(&mut Cursor::new(&mut out), format).unwrap();
            let steps = preprocess(&out, Preprocess::Auto).unwrap();
            assert!(steps.found.object_found, "{format:?}");
            assert!(steps.input[14 * 28 + 14] > 100, "{format:?}");
        }
    }
}

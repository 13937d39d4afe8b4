//! Thumbnails of image attachments: PNG and JPEG decoded (with limits, so a decompression bomb
//! fails instead of exhausting memory), scaled to fit [`MAX_SIDE`] and encoded as JPEG. Built
//! with the `thumbnails` feature (the image crate) by the attachments check and the local
//! gateway only; without it no thumbnail is made.

use super::AttachmentType;

/// The longest side of a thumbnail, in pixels.
pub const MAX_SIDE: u32 = 320;
/// The content type of every thumbnail.
pub const CONTENT_TYPE: &str = "image/jpeg";

/// The thumbnail of an image; `None` for other types, an image that does not decode, or a
/// build without the `thumbnails` feature.
#[cfg(feature = "thumbnails")]
pub fn make(content_type: AttachmentType, bytes: &[u8]) -> Option<Vec<u8>> {
    use image::{ImageFormat, ImageReader, Limits};

    let format = match content_type {
        AttachmentType::Png => ImageFormat::Png,
        AttachmentType::Jpeg => ImageFormat::Jpeg,
        _ => return None,
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().ok()?;
    // JPEG has no transparency: transparent pixels go white, as on the page they are shown on.
    let small = image.thumbnail(MAX_SIDE, MAX_SIDE).to_rgba8();
    let mut flat = image::RgbImage::new(small.width(), small.height());
    for (x, y, pixel) in small.enumerate_pixels() {
        let alpha = u16::from(pixel[3]);
        let over_white =
            |c: u8| u8::try_from((u16::from(c) * alpha + 255 * (255 - alpha)) / 255).unwrap_or(255);
        flat.put_pixel(x, y, image::Rgb([over_white(pixel[0]), over_white(pixel[1]), over_white(pixel[2])]));
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&flat).ok()?;
    Some(out)
}

/// Without the `thumbnails` feature no thumbnail is made.
#[cfg(not(feature = "thumbnails"))]
pub fn make(_content_type: AttachmentType, _bytes: &[u8]) -> Option<Vec<u8>> {
    None
}

#[cfg(all(test, feature = "thumbnails"))]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_pixel(width, height, image::Rgba([200, 30, 30, 255]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_screenshot_gets_a_jpeg_thumbnail_that_fits_the_box_and_keeps_its_shape() {
        let thumbnail = make(AttachmentType::Png, &png(1280, 640)).unwrap();

        let decoded = image::load_from_memory_with_format(&thumbnail, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 160));
    }

    #[test]
    fn no_thumbnail_for_other_types_or_undecodable_images() {
        assert_eq!(make(AttachmentType::Pdf, b"%PDF-1.7"), None);
        assert_eq!(make(AttachmentType::Png, b"\x89PNG\r\n\x1a\nnot really"), None);
    }
}

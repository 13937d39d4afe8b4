//! What the check does with an uploaded file's bytes, without I/O: does the content match its
//! declared type (magic bytes; text that is not markup), and the image metadata a photo carries
//! (EXIF with the GPS position, XMP, comments) removed from JPEG and PNG files.

use super::AttachmentType;

/// How much of a text file is read to judge it: its start tells markup from text.
const TEXT_SNIFF_BYTES: usize = 8 * 1024;

/// Whether `bytes` are a file of type `declared`.
pub fn matches_type(declared: AttachmentType, bytes: &[u8]) -> bool {
    match declared {
        AttachmentType::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        AttachmentType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        AttachmentType::Gif => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        AttachmentType::Webp => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        AttachmentType::Pdf => bytes.starts_with(b"%PDF-"),
        AttachmentType::Zip => bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06"),
        AttachmentType::Text | AttachmentType::Csv | AttachmentType::Log => is_plain_text(bytes),
    }
}

/// UTF-8 without NUL bytes that does not open like a page a browser would render.
fn is_plain_text(bytes: &[u8]) -> bool {
    let start = &bytes[..bytes.len().min(TEXT_SNIFF_BYTES)];
    let text = match std::str::from_utf8(start) {
        Ok(text) => text,
        // A character cut by the sniffing window is not an error.
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&start[..error.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    if text.contains('\0') {
        return false;
    }
    let opening = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    !["<!doctype", "<html", "<head", "<body", "<script", "<svg", "<?xml", "<iframe"]
        .iter()
        .any(|tag| opening.starts_with(tag))
}

/// The file without its metadata: JPEG APPn segments other than JFIF/Adobe colour (EXIF, GPS,
/// XMP, ICC, Photoshop) and comments; PNG text and EXIF chunks. `None` when the bytes are not a
/// well-formed file of that type (the caller rejects it); other types come back unchanged.
pub fn strip_metadata(content_type: AttachmentType, bytes: &[u8]) -> Option<Vec<u8>> {
    match content_type {
        AttachmentType::Jpeg => strip_jpeg(bytes),
        AttachmentType::Png => strip_png(bytes),
        _ => Some(bytes.to_vec()),
    }
}

fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..2).filter(|soi| *soi == [0xFF, 0xD8])?);
    let mut at = 2;
    loop {
        let marker = *bytes.get(at + 1).filter(|_| bytes.get(at) == Some(&0xFF))?;
        // Start of scan: the compressed image follows to the end; no metadata in it.
        if marker == 0xDA || marker == 0xD9 {
            out.extend_from_slice(&bytes[at..]);
            return Some(out);
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]));
        let segment = bytes.get(at..at + 2 + length).filter(|_| length >= 2)?;
        let payload = &segment[4..];
        let keep = match marker {
            // APP0 JFIF (density) and APP14 Adobe (colour transform) say how to draw the image.
            0xE0 => payload.starts_with(b"JFIF\0"),
            0xEE => payload.starts_with(b"Adobe"),
            0xE1..=0xEF | 0xFE => false,
            _ => true,
        };
        if keep {
            out.extend_from_slice(segment);
        }
        at += 2 + length;
    }
}

fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let signature = bytes.get(..8).filter(|s| *s == b"\x89PNG\r\n\x1a\n")?;
    let mut out = signature.to_vec();
    let mut at = 8;
    while at < bytes.len() {
        let length = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        let end = at.checked_add(12)?.checked_add(usize::try_from(length).ok()?)?;
        let chunk = bytes.get(at..end)?;
        let kind = &chunk[4..8];
        if !matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME") {
            out.extend_from_slice(chunk);
        }
        at = end;
        if kind == b"IEND" {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG with an EXIF segment holding a GPS tag, a comment, then the image.
    fn jpeg_with_gps() -> Vec<u8> {
        let mut file = vec![0xFF, 0xD8];
        file.extend([0xFF, 0xE0, 0x00, 0x10]);
        file.extend(b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
        let exif = b"Exif\0\0GPSLatitude 48.8584 N";
        file.extend([0xFF, 0xE1, 0x00, u8::try_from(exif.len() + 2).unwrap()]);
        file.extend(exif);
        file.extend([0xFF, 0xFE, 0x00, 0x07]);
        file.extend(b"hello");
        file.extend([0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
        file
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_png_that_is_really_html_does_not_match_its_type() {
        assert!(!matches_type(AttachmentType::Png, b"<html><script>alert(1)</script></html>"));
        assert!(matches_type(AttachmentType::Png, b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"));
        assert!(!matches_type(AttachmentType::Pdf, b"PK\x03\x04"));
        assert!(matches_type(AttachmentType::Webp, b"RIFF\x10\0\0\0WEBPVP8 "));
    }

    #[test]
    fn text_is_utf8_without_markup() {
        assert!(matches_type(AttachmentType::Log, "2026-12-06 error: ¡falló!\n".as_bytes()));
        assert!(matches_type(AttachmentType::Csv, b"a,b\n1,2\n"));
        assert!(!matches_type(AttachmentType::Text, b"  <!DOCTYPE html><p>hi"));
        assert!(!matches_type(AttachmentType::Text, b"\xef\xbb\xbf<svg onload=alert(1)>"));
        assert!(!matches_type(AttachmentType::Text, b"binary\0data"));
        assert!(!matches_type(AttachmentType::Text, b"\xff\xfe not utf-8"));
    }

    #[test]
    fn a_jpegs_exif_with_its_gps_tag_and_comments_are_stripped_and_the_image_kept() {
        let original = jpeg_with_gps();

        let stripped = strip_metadata(AttachmentType::Jpeg, &original).unwrap();

        assert!(contains(&original, b"GPSLatitude"));
        assert!(!contains(&stripped, b"GPSLatitude") && !contains(&stripped, b"Exif"));
        assert!(!contains(&stripped, b"hello"));
        assert!(contains(&stripped, b"JFIF"));
        assert!(stripped.ends_with(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]));
    }

    #[test]
    fn a_pngs_text_and_exif_chunks_are_stripped() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
            c.extend(kind);
            c.extend(data);
            c.extend([0, 0, 0, 0]);
            c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"tEXt", b"Author\0Ada"));
        png.extend(chunk(b"eXIf", b"GPS"));
        png.extend(chunk(b"IDAT", b"pixels"));
        png.extend(chunk(b"IEND", b""));

        let stripped = strip_metadata(AttachmentType::Png, &png).unwrap();

        assert!(!contains(&stripped, b"Author") && !contains(&stripped, b"GPS"));
        assert!(contains(&stripped, b"pixels") && contains(&stripped, b"IEND"));
    }

    #[test]
    fn truncated_images_are_not_well_formed() {
        assert_eq!(strip_metadata(AttachmentType::Jpeg, &[0xFF, 0xD8, 0xFF, 0xE1, 0x40]), None);
        assert_eq!(strip_metadata(AttachmentType::Png, b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"), None);
    }
}

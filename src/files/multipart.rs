//! The `multipart/form-data` body of a file upload: the storage form's fields in the order the
//! service gave them, then the file, last, in a part named `file` (what storage's upload
//! policy expects, and what every PubNub SDK sends).

use std::ops::Range;

use bytes::Bytes;

/// An upload body and where the file lies in it.
#[derive(Debug, Clone)]
pub(super) struct Upload {
    pub(super) body: Bytes,
    pub(super) file: Range<usize>,
    boundary: String,
}

impl Upload {
    /// The body of `fields` and the file `file` (named `name`), built around the file's own
    /// buffer: the parts before it are spliced in front, the closing boundary after, so the
    /// file is not copied.
    pub(super) fn around(mut file: Vec<u8>, fields: &[(String, String)], name: &str) -> Upload {
        let boundary = boundary(&file);
        let mut head = String::new();
        for (key, value) in fields {
            head.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                quoted(key)
            ));
        }
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n",
            quoted(name)
        ));
        let tail = format!("\r\n--{boundary}--\r\n");
        let len = file.len();
        file.reserve(head.len() + tail.len());
        file.splice(0..0, head.bytes());
        file.extend_from_slice(tail.as_bytes());
        Upload {
            body: Bytes::from(file),
            file: head.len()..head.len() + len,
            boundary,
        }
    }

    /// The same file in the body of another form (a fresh one, when the first expired).
    pub(super) fn with_fields(&self, fields: &[(String, String)], name: &str) -> Upload {
        Upload::around(self.body[self.file.clone()].to_vec(), fields, name)
    }

    /// The `Content-Type` header of the body.
    pub(super) fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

/// A boundary that does not occur in `file`: 32 hex digits, as common HTTP clients make them,
/// chosen again in the (astronomically rare) case that the file holds it.
fn boundary(file: &[u8]) -> String {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ (file.len() as u64).rotate_left(17);
    loop {
        // splitmix64: spread the seed over 128 bits.
        let mut next = || {
            seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let boundary = format!("{:016x}{:016x}", next(), next());
        if !contains(file, boundary.as_bytes()) {
            return boundary;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A header parameter value: quotes and line breaks escaped, as browsers send them.
fn quoted(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_order_then_the_file_last() {
        let fields = vec![
            ("tagging".to_owned(), "<Tagging/>".to_owned()),
            ("key".to_owned(), "sub/ch/id/a.txt".to_owned()),
            (
                "Content-Type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            ),
        ];
        let upload = Upload::around(b"Knights who say Ni!".to_vec(), &fields, "a \"b\".txt");
        let text = String::from_utf8(upload.body.to_vec()).unwrap();
        let b = &upload.boundary;
        assert_eq!(
            text,
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"tagging\"\r\n\r\n<Tagging/>\r\n\
                 --{b}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nsub/ch/id/a.txt\r\n\
                 --{b}\r\nContent-Disposition: form-data; name=\"Content-Type\"\r\n\r\n\
                 text/plain; charset=utf-8\r\n\
                 --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22b%22.txt\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\nKnights who say Ni!\r\n--{b}--\r\n"
            )
        );
        assert_eq!(&upload.body[upload.file.clone()], b"Knights who say Ni!");
        assert_eq!(b.len(), 32);
        assert_eq!(
            upload.content_type(),
            format!("multipart/form-data; boundary={b}")
        );
        let again = upload.with_fields(&fields[..1], "a.txt");
        assert_eq!(&again.body[again.file.clone()], b"Knights who say Ni!");
    }

    #[test]
    fn the_boundary_is_never_in_the_file() {
        let file = b"--0123".repeat(10);
        let boundary = boundary(&file);
        assert!(!contains(&file, boundary.as_bytes()));
    }
}

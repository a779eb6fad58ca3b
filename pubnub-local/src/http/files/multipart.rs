//! `multipart/form-data` (RFC 7578 over the multipart syntax of RFC 2046), as the storage's
//! upload endpoint receives it: the body is read whole and each part borrows its bytes.
//!
//! A delimiter is CRLF, `--`, the boundary, then `--` (the last one) or optional spaces and
//! CRLF. A boundary string anywhere else — inside data, not at a line start, or followed by
//! other text — is data. Line ends are CRLF, as the RFC requires and every SDK sends: a body
//! written with bare LFs is refused rather than guessed at.

use thiserror::Error;

/// Most parts read (the service's form has ten).
const MAX_PARTS: usize = 256;

/// Most bytes of one part's header block.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Longest boundary accepted (RFC 2046 allows 70; some clients go past it).
const MAX_BOUNDARY_BYTES: usize = 200;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    /// The `name` of its `Content-Disposition: form-data`.
    pub(crate) name: String,
    /// Its `filename`, when it is a file.
    pub(crate) filename: Option<String>,
    /// Its own `Content-Type`, when it has one.
    pub(crate) content_type: Option<String>,
    /// Its bytes, exactly as sent.
    pub(crate) data: &'a [u8],
}

impl Part<'_> {
    /// The data as text (a form field's value).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(self.data).into_owned()
    }
}

/// Why a body is not a well-formed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub(crate) enum MultipartError {
    #[error("the body does not start with the boundary")]
    NoOpening,
    #[error("a part is not closed by a boundary")]
    Unterminated,
    #[error("a boundary line is not followed by CRLF")]
    BadDelimiter,
    #[error("a part's header block is malformed or too long")]
    BadHeaders,
    #[error("a part is not form-data with a name")]
    NoName,
    #[error("too many parts")]
    TooManyParts,
}

/// The boundary of a `multipart/form-data` content type; `None` for any other type or a
/// missing or unusable boundary.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = header_params(content_type);
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .filter(|b| !b.is_empty() && b.len() <= MAX_BOUNDARY_BYTES && !b.contains(['\r', '\n']))
}

/// The parts of `body`, in order. The preamble before the first boundary and the epilogue
/// after the last are ignored.
pub(crate) fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let dash = format!("--{boundary}").into_bytes();
    let mut cursor = if body.starts_with(&dash) && ends_delimiter(&body[dash.len()..]) {
        dash.len()
    } else {
        let (_, end) = find_delimiter(body, 0, &dash).ok_or(MultipartError::NoOpening)?;
        end
    };
    let mut parts = Vec::new();
    loop {
        if body[cursor..].starts_with(b"--") {
            return Ok(parts);
        }
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let padding = body[cursor..]
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        cursor += padding;
        if !body[cursor..].starts_with(b"\r\n") {
            return Err(MultipartError::BadDelimiter);
        }
        cursor += 2;
        let (headers, data_start) = header_block(body, cursor)?;
        let (data_end, next) =
            find_delimiter(body, data_start, &dash).ok_or(MultipartError::Unterminated)?;
        let mut part = part_headers(headers)?;
        part.data = &body[data_start..data_end];
        parts.push(part);
        cursor = next;
    }
}

/// The next delimiter at or after `from`: where the data before it ends (its CRLF) and where
/// the boundary after `--` ends.
fn find_delimiter(body: &[u8], from: usize, dash: &[u8]) -> Option<(usize, usize)> {
    let mut at = from;
    loop {
        let crlf = at + body.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        let after = crlf + 2;
        if body[after..].starts_with(dash) && ends_delimiter(&body[after + dash.len()..]) {
            return Some((crlf, after + dash.len()));
        }
        at = crlf + 1;
    }
}

/// Whether what follows a boundary makes it a delimiter: `--`, or spaces then CRLF.
fn ends_delimiter(rest: &[u8]) -> bool {
    if rest.starts_with(b"--") {
        return true;
    }
    let padding = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    rest[padding..].starts_with(b"\r\n")
}

/// The header block starting at `from` (without its final blank line) and where data starts.
fn header_block(body: &[u8], from: usize) -> Result<(&[u8], usize), MultipartError> {
    if body[from..].starts_with(b"\r\n") {
        return Ok((&[], from + 2));
    }
    let window = &body[from..body.len().min(from + MAX_HEADER_BYTES)];
    let end = window
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or(MultipartError::BadHeaders)?;
    Ok((&window[..end], from + end + 4))
}

/// Reads `Content-Disposition` and `Content-Type` of one part (folded lines unfolded).
fn part_headers(block: &[u8]) -> Result<Part<'static>, MultipartError> {
    let text = String::from_utf8_lossy(block);
    let mut lines: Vec<String> = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => lines.push(line.to_string()),
        }
    }
    let mut disposition = None;
    let mut content_type = None;
    for line in &lines {
        let (name, value) = line.split_once(':').ok_or(MultipartError::BadHeaders)?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(header_params(value));
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    let (kind, params) = disposition.ok_or(MultipartError::NoName)?;
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::NoName);
    }
    let param = |wanted: &str| {
        params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.clone())
    };
    let name = param("name").ok_or(MultipartError::NoName)?;
    // `filename*` (RFC 5987) wins over `filename`; browsers and httpx escape `"`, CR and LF
    // in `filename` as `%22`, `%0D`, `%0A` (the HTML standard's form encoding).
    let filename = param("filename*")
        .and_then(|v| extended_value(&v))
        .or_else(|| param("filename").map(|v| html_unescape(&v)));
    Ok(Part {
        name,
        filename,
        content_type,
        data: &[],
    })
}

/// `type; name=value; name="quoted \" value"` → the type and the parameters, quoted values
/// unescaped. Semicolons inside quotes belong to the value.
fn header_params(value: &str) -> (String, Vec<(String, String)>) {
    let mut chars = value.chars().peekable();
    let mut kind = String::new();
    while let Some(&c) = chars.peek() {
        if c == ';' {
            break;
        }
        kind.push(c);
        chars.next();
    }
    let mut params = Vec::new();
    loop {
        while chars.next_if(|c| *c == ';' || c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ';') {
            name.push(c);
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
                // Anything between the closing quote and the next `;` is dropped.
                while chars.next_if(|c| *c != ';').is_some() {}
            } else {
                while let Some(c) = chars.next_if(|c| *c != ';') {
                    value.push(c);
                }
                value = value.trim().to_string();
            }
        }
        params.push((name.trim().to_string(), value));
    }
    (kind.trim().to_string(), params)
}

/// `UTF-8''na%C3%AFve.txt` → `naïve.txt`; `None` for another charset or bad escapes.
fn extended_value(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let charset = pieces.next()?;
    let _language = pieces.next()?;
    let encoded = pieces.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    super::super::routes::percent_decode(encoded).ok()
}

fn html_unescape(value: &str) -> String {
    value
        .replace("%22", "\"")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body as httpx writes one: CRLF line ends, the file last.
    fn body(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, filename, data) in parts {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
            if let Some(filename) = filename {
                disposition.push_str(&format!("; filename=\"{filename}\""));
            }
            out.extend_from_slice(format!("{disposition}\r\n\r\n").as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    #[test]
    fn boundaries_of_content_types() {
        assert_eq!(
            boundary("multipart/form-data; boundary=755d6f50aef5680eb094d596585b8612").as_deref(),
            Some("755d6f50aef5680eb094d596585b8612")
        );
        assert_eq!(
            boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a;b c\"").as_deref(),
            Some("a;b c")
        );
        for refused in [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/mixed; boundary=x",
            "",
        ] {
            assert_eq!(boundary(refused), None, "{refused}");
        }
        assert_eq!(
            boundary(&format!(
                "multipart/form-data; boundary={}",
                "x".repeat(201)
            )),
            None
        );
    }

    #[test]
    fn the_recorded_form_parses() {
        let raw = body(
            "755d6f50aef5680eb094d596585b8612",
            &[
                ("tagging", None, b"<Tagging></Tagging>"),
                ("X-Amz-Security-Token", None, b""),
                ("file", Some("king_arthur.txt"), b"Knights who say Ni!"),
            ],
        );
        let parts = parse(&raw, "755d6f50aef5680eb094d596585b8612").unwrap();
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["tagging", "X-Amz-Security-Token", "file"]);
        assert_eq!(parts[0].text(), "<Tagging></Tagging>");
        assert_eq!(parts[1].data, b"");
        assert_eq!(parts[2].filename.as_deref(), Some("king_arthur.txt"));
        assert_eq!(parts[2].data, b"Knights who say Ni!");
        assert_eq!(parts[2].content_type, None);
    }

    #[test]
    fn boundaries_inside_data_are_data() {
        let b = "XyZ";
        let tricky: &[u8] =
            b"--XyZ at the start\r\nnot at a line start: a--XyZ\r\n--XyZzy longer\r\n--XyZ-x\r\nend";
        let raw = body(b, &[("file", Some("f"), tricky), ("after", None, b"v")]);
        let parts = parse(&raw, b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].data, tricky);
        assert_eq!(parts[1].data, b"v");
    }

    #[test]
    fn line_ends_inside_data_are_kept() {
        // CR, LF, CRLF, a trailing CR and a trailing CRLF all belong to the data.
        for data in [
            &b"a\rb\nc\r\nd"[..],
            b"ends with CR\r",
            b"ends with CRLF\r\n",
            b"\r\n",
            b"\r\n\r\n",
        ] {
            let raw = body("bnd", &[("file", Some("f"), data)]);
            assert_eq!(parse(&raw, "bnd").unwrap()[0].data, data, "{data:?}");
        }
    }

    #[test]
    fn preamble_padding_epilogue_and_folded_headers() {
        let raw = b"preamble\r\n--b \t\r\nContent-Disposition: form-data;\r\n name=\"k\"\r\n\
Content-Type: text/plain\r\n\r\nv\r\n--b--\r\nepilogue";
        let parts = parse(raw, "b").unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "k");
        assert_eq!(parts[0].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[0].data, b"v");
        // A part with no headers at all is not form-data.
        assert_eq!(
            parse(b"--b\r\n\r\nv\r\n--b--", "b"),
            Err(MultipartError::NoName)
        );
    }

    #[test]
    fn quoted_and_encoded_filenames() {
        let disposition = |params: &str| {
            let raw = format!("--b\r\nContent-Disposition: form-data; {params}\r\n\r\nx\r\n--b--");
            let parts = parse(raw.as_bytes(), "b").unwrap();
            (parts[0].name.clone(), parts[0].filename.clone())
        };
        assert_eq!(
            disposition(r#"name="file"; filename="a \"q\" b;c.txt""#),
            ("file".into(), Some(r#"a "q" b;c.txt"#.into()))
        );
        assert_eq!(
            disposition(r#"name="file"; filename="a%22b.txt""#),
            ("file".into(), Some(r#"a"b.txt"#.into()))
        );
        assert_eq!(
            disposition(r#"name=file; filename="x"; filename*=UTF-8''na%C3%AFve.txt"#),
            ("file".into(), Some("naïve.txt".into()))
        );
        assert_eq!(
            disposition(r#"filename="f"; NAME="Key""#),
            ("Key".into(), Some("f".into()))
        );
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        let ok = body("b", &[("k", None, b"v")]);
        assert!(parse(&ok, "b").is_ok());
        let cases: Vec<(Vec<u8>, MultipartError)> = vec![
            (b"".to_vec(), MultipartError::NoOpening),
            (b"no boundary here".to_vec(), MultipartError::NoOpening),
            (ok[..ok.len() - 8].to_vec(), MultipartError::Unterminated),
            // Bare LF line ends.
            (
                String::from_utf8(ok.clone())
                    .unwrap()
                    .replace("\r\n", "\n")
                    .into_bytes(),
                MultipartError::NoOpening,
            ),
            (
                b"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n".to_vec(),
                MultipartError::BadHeaders,
            ),
            (b"--bx".to_vec(), MultipartError::NoOpening),
            (b"--b garbage\r\n".to_vec(), MultipartError::NoOpening),
            (
                b"--b\r\nno colon\r\n\r\nv\r\n--b--".to_vec(),
                MultipartError::BadHeaders,
            ),
            (
                b"--b\r\nContent-Disposition: attachment; name=\"k\"\r\n\r\nv\r\n--b--".to_vec(),
                MultipartError::NoName,
            ),
            (
                b"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--".to_vec(),
                MultipartError::NoName,
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                parse(&raw, "b"),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(&raw)
            );
        }
        // Headers that never end within the limit.
        let mut endless = b"--b\r\nX: ".to_vec();
        endless.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES + 10));
        assert_eq!(parse(&endless, "b"), Err(MultipartError::BadHeaders));
        // Too many parts.
        let many: Vec<(&str, Option<&str>, &[u8])> = vec![("k", None, b"v"); MAX_PARTS + 1];
        assert_eq!(
            parse(&body("b", &many), "b"),
            Err(MultipartError::TooManyParts)
        );
        // Every prefix of a good body fails cleanly (or parses when it is complete).
        for cut in 0..ok.len() {
            let _ = parse(&ok[..cut], "b");
        }
    }
}

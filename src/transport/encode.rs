//! The one percent-encoder of the SDK, for path segments and query values (PROTOCOL.md §10).
//!
//! Only the RFC 3986 unreserved characters `A-Z a-z 0-9 - _ . ~` stay raw; every other byte of
//! the UTF-8 form becomes `%XX`. That is stricter than any PubNub SDK (§10.3), so a server that
//! decodes once always gets the caller's string back. Each value is encoded exactly once: paths
//! are built from encoded segments here, and query values are encoded by
//! [`Request::path_and_query`](super::Request::path_and_query) and nowhere else (the official
//! Rust crate encoded twice, PROTOCOL.md §14.2).

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// True for the characters that are never escaped.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')
}

/// Appends `value`, percent-encoded, to `out`.
///
/// Runs of unreserved characters are copied as slices rather than pushed one `char` at a time:
/// a publish encodes its whole message here, and the per-character form was the largest single
/// cost of the SDK's own work on a publish (benches/pure.rs, `publish`).
pub(crate) fn encode_into(out: &mut String, value: &str) {
    out.reserve(value.len());
    let mut start = 0;
    for (i, &byte) in value.as_bytes().iter().enumerate() {
        if is_unreserved(byte) {
            continue;
        }
        // `start..i` is empty or a run of ASCII, so both ends are character boundaries.
        if start < i {
            out.push_str(&value[start..i]);
        }
        out.push('%');
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        start = i + 1;
    }
    if start < value.len() {
        out.push_str(&value[start..]);
    }
}

/// `value`, percent-encoded.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    encode_into(&mut out, value);
    out
}

/// A channel list path segment: each name encoded, joined with raw commas; `,` when empty
/// (the wire form for "only channel groups", PROTOCOL.md §1.1).
pub(crate) fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_into(&mut out, name);
    }
    if out.is_empty() {
        out.push(',');
    }
    out
}

/// A value of a path template's `{}`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Segment<'a> {
    /// One segment, percent-encoded.
    One(&'a str),
    /// A list of names: [`name_list`].
    List(&'a [String]),
}

impl<'a> From<&'a str> for Segment<'a> {
    fn from(value: &'a str) -> Self {
        Segment::One(value)
    }
}

impl<'a> From<&'a String> for Segment<'a> {
    fn from(value: &'a String) -> Self {
        Segment::One(value)
    }
}

impl<'a> From<&'a [String]> for Segment<'a> {
    fn from(value: &'a [String]) -> Self {
        Segment::List(value)
    }
}

impl<'a> From<&'a Vec<String>> for Segment<'a> {
    fn from(value: &'a Vec<String>) -> Self {
        Segment::List(value)
    }
}

/// The path `template` describes: `{sub}` and `{pub}` become the encoded keys, each `{}` the
/// next of `segments`, encoded; the rest is copied as it is (templates are the SDK's own).
/// A `{}` without a segment is left empty.
pub(crate) fn path(template: &str, keys: (&str, &str), segments: &[Segment<'_>]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut next = segments.iter();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        match &rest[open + 1..close] {
            "sub" => encode_into(&mut out, keys.0),
            "pub" => encode_into(&mut out, keys.1),
            _ => match next.next() {
                Some(Segment::One(value)) => encode_into(&mut out, value),
                Some(Segment::List(names)) => {
                    out.push_str(&name_list(names.iter().map(String::as_str)))
                }
                None => {}
            },
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder for the tests: what a server does with one segment or value.
    fn decode(encoded: &str) -> String {
        let bytes = encoded.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn hostile_strings() {
        let cases = [
            ("plain-name_1.2~x", "plain-name_1.2~x"),
            ("a&b=c", "a%26b%3Dc"),
            ("1+1", "1%2B1"),
            ("#frag", "%23frag"),
            ("100%", "100%25"),
            ("%2F", "%252F"),
            ("../etc/passwd", "..%2Fetc%2Fpasswd"),
            ("what?", "what%3F"),
            ("a b", "a%20b"),
            ("a,b", "a%2Cb"),
            ("a:b*c\\d", "a%3Ab%2Ac%5Cd"),
            ("\"hi\"", "%22hi%22"),
            ("{\"k\":[1]}", "%7B%22k%22%3A%5B1%5D%7D"),
            ("tab\tnl\n\0", "tab%09nl%0A%00"),
            ("é", "%C3%A9"),
            ("日本", "%E6%97%A5%E6%9C%AC"),
            ("🦀", "%F0%9F%A6%80"),
            ("!'()*", "%21%27%28%29%2A"),
            ("", ""),
        ];
        for (raw, expected) in cases {
            assert_eq!(encode(raw), expected, "encoding {raw:?}");
            assert_eq!(decode(expected), raw, "round trip of {raw:?}");
        }
    }

    #[test]
    fn encoded_output_is_only_unreserved_or_escapes() {
        let all: String = (0u32..0x250).filter_map(char::from_u32).collect();
        let encoded = encode(&all);
        assert!(encoded
            .bytes()
            .all(|b| is_unreserved(b) || b == b'%' || HEX.contains(&b)));
        assert_eq!(decode(&encoded), all);
    }

    #[test]
    fn name_lists_use_raw_commas_between_encoded_names() {
        assert_eq!(name_list(["a", "b"]), "a,b");
        assert_eq!(name_list(["a,b", "c d"]), "a%2Cb,c%20d");
        assert_eq!(name_list(["日"]), "%E6%97%A5");
        assert_eq!(name_list(std::iter::empty()), ",");
    }

    #[test]
    fn path_templates() {
        let names = vec!["a b".to_owned(), "c".to_owned()];
        assert_eq!(
            path(
                "/v2/x/{sub}/{pub}/channel/{}/uuid/{}/end",
                ("s/k", "p"),
                &[Segment::List(&names), "me/you".into()]
            ),
            "/v2/x/s%2Fk/p/channel/a%20b,c/uuid/me%2Fyou/end"
        );
        assert_eq!(path("/t/{}", ("s", "p"), &[Segment::List(&[])]), "/t/,");
        assert_eq!(path("/time/0", ("s", "p"), &[]), "/time/0");
    }
}

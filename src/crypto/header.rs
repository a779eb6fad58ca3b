//! The crypto header of PubNub's crypto module (version 1): `PNED`, the version byte, the
//! 4-byte cryptor id, the length of the cryptor data (one byte; `0xFF` then two bytes,
//! big-endian, when it is 255 or more), then the cryptor data. Data without the `PNED` sentinel
//! has no header: it is the legacy cryptor's.

use crate::error::Error;

/// The first four bytes of data that carries a header.
pub(crate) const SENTINEL: &[u8; 4] = b"PNED";
/// The only header version there is.
const VERSION: u8 = 1;
/// A cryptor id: four bytes.
pub(crate) type CryptorId = [u8; 4];

/// A parsed header and the data it describes, borrowed from the input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed<'a> {
    /// Which cryptor encrypted the data.
    pub(crate) cryptor: CryptorId,
    /// The cryptor's own data (the AES-CBC cryptor's IV).
    pub(crate) cryptor_data: &'a [u8],
    /// What follows the header: the ciphertext.
    pub(crate) body: &'a [u8],
}

/// Writes the header of `cryptor` with `cryptor_data` to `out`.
pub(crate) fn write(out: &mut Vec<u8>, cryptor: CryptorId, cryptor_data: &[u8]) {
    out.extend_from_slice(SENTINEL);
    out.push(VERSION);
    out.extend_from_slice(&cryptor);
    match u8::try_from(cryptor_data.len()) {
        Ok(len) if len < 255 => out.push(len),
        // Cryptor data is at most 65,535 bytes; ours is a 16-byte IV.
        _ => {
            let len = u16::try_from(cryptor_data.len()).unwrap_or(u16::MAX);
            out.push(0xFF);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(cryptor_data);
}

/// The header of `data`: `None` when it has none (legacy data), an error when it starts like
/// one but is cut short or of an unknown version.
pub(crate) fn parse(data: &[u8]) -> Result<Option<Parsed<'_>>, Error> {
    let Some(rest) = data.strip_prefix(SENTINEL) else {
        return Ok(None);
    };
    let truncated = || Error::decryption("truncated: the crypto header is cut short");
    let (&version, rest) = rest.split_first().ok_or_else(truncated)?;
    if version != VERSION {
        return Err(Error::decryption(format!(
            "unknown crypto header version {version}"
        )));
    }
    let (cryptor, rest) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
    let (&len, rest) = rest.split_first().ok_or_else(truncated)?;
    let (len, rest) = if len == 0xFF {
        let (len, rest) = rest.split_first_chunk::<2>().ok_or_else(truncated)?;
        (usize::from(u16::from_be_bytes(*len)), rest)
    } else {
        (usize::from(len), rest)
    };
    if rest.len() < len {
        return Err(truncated());
    }
    let (cryptor_data, body) = rest.split_at(len);
    Ok(Some(Parsed {
        cryptor: *cryptor,
        cryptor_data,
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn short_and_long_lengths_round_trip() {
        for len in [0usize, 16, 254, 255, 256, 1000] {
            let cryptor_data = vec![7u8; len];
            let mut data = Vec::new();
            write(&mut data, *b"ACRH", &cryptor_data);
            let header_len = if len < 255 { 10 } else { 12 };
            assert_eq!(data.len(), header_len + len);
            data.extend_from_slice(b"body");
            let parsed = parse(&data).unwrap().unwrap();
            assert_eq!(parsed.cryptor, *b"ACRH");
            assert_eq!(parsed.cryptor_data, &cryptor_data[..]);
            assert_eq!(parsed.body, b"body");
        }
        // The bytes PubNub's SDKs write: PNED, 1, ACRH, 16.
        let mut data = Vec::new();
        write(&mut data, *b"ACRH", &[0; 16]);
        assert_eq!(&data[..10], b"PNED\x01ACRH\x10");
    }

    #[test]
    fn no_sentinel_is_no_header() {
        assert_eq!(parse(b"").unwrap(), None);
        assert_eq!(parse(b"PNE").unwrap(), None);
        assert_eq!(parse(b"0123456789abcdef").unwrap(), None);
    }

    #[test]
    fn cut_short_or_unknown_versions_are_errors() {
        let cases: [&[u8]; 7] = [
            b"PNED",
            b"PNED\x01AC",
            b"PNED\x01ACRH",
            b"PNED\x01ACRH\x10short",
            b"PNED\x01ACRH\xFF\x01",
            b"PNED\x00ACRH\x00",
            b"PNED\x02ACRH\x00",
        ];
        for data in cases {
            let error = parse(data).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Decryption, "{data:?}");
        }
        assert!(parse(b"PNED\x02ACRH\x00")
            .unwrap_err()
            .message()
            .contains("version 2"));
        assert!(parse(b"PNED\x01ACRH\x10short")
            .unwrap_err()
            .message()
            .starts_with("truncated"));
    }
}

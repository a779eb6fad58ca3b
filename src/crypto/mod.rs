//! Message encryption with PubNub's crypto module, in the formats PubNub's own SDKs write and
//! read, so that a message encrypted by any of them is read here and the other way round.
//!
//! Configure a [`CryptoModule`] once on the client with
//! [`ConfigBuilder::crypto_module`](crate::ConfigBuilder::crypto_module). Then, as in PubNub's
//! SDKs:
//!
//! - the payloads of [`publish`](crate::PubNub::publish) and [`fire`](crate::PubNub::fire) are
//!   encrypted: the message's JSON text is encrypted, and what is sent is the base64 of the
//!   result as a JSON string (the 32 KiB limit applies to that). `meta` is not encrypted (the
//!   service filters on it), nor are signals;
//! - received messages are decrypted before any listener sees them. One that cannot be
//!   decrypted (a wrong key, damaged data, an unknown format, or a message that was never
//!   encrypted) is delivered all the same, with its payload as received and the reason in
//!   [`Message::error`](crate::Message::error), of kind [`ErrorKind::Decryption`]: never
//!   dropped, and it never fails the subscribe loop. Signals and message actions are not
//!   encrypted by any SDK and are never decrypted or flagged (PubNub's Python SDK reports them
//!   as decryption errors). File events whose payload is an encrypted string are decrypted too;
//! - [`CryptoModule::encrypt`] and [`CryptoModule::decrypt`] (bytes) and
//!   [`CryptoModule::encrypt_string`] and [`CryptoModule::decrypt_string`] (base64 text) are
//!   there for an app's own data.
//!
//! # Choosing a cryptor
//!
//! A module encrypts with one cryptor and decrypts with every one it knows, chosen by the
//! header of the data; data without a header is the legacy cryptor's:
//!
//! | module | encrypts with | decrypts |
//! |---|---|---|
//! | [`CryptoModule::aes_cbc`] | AES-CBC (the recommended one) | AES-CBC, legacy |
//! | [`CryptoModule::legacy`] | legacy (what older SDKs use) | legacy, AES-CBC |
//!
//! So a team moving from the legacy cryptor to AES-CBC can switch its clients one by one: each
//! reads what both kinds send.
//!
//! # Formats
//!
//! - **AES-CBC** (`ACRH`): `PNED`, version `0x01`, the cryptor id `ACRH`, the length of the
//!   cryptor data (one byte, `0x10`; lengths of 255 or more are `0xFF` and two bytes,
//!   big-endian), the cryptor data (the 16-byte random IV), then AES-256-CBC with PKCS#7
//!   padding. The key is the SHA-256 digest of the cipher key.
//! - **Legacy**: no header. The key is the first 32 characters of the lowercase hex SHA-256 of
//!   the cipher key, used as 32 ASCII bytes (not the digest itself). With a random IV (the
//!   default of PubNub's SDKs) the 16-byte IV comes first, then the ciphertext; with the
//!   constant IV `0123456789012345` there is only the ciphertext.
//!
//! Random IVs come from the operating system's generator. Another SDK's JSON may differ from
//! ours in spacing and escapes, so compare decrypted values, never ciphertexts.
//!
//! The cipher key is kept only as the derived keys and never appears in `Debug`, logs or
//! errors.
//!
//! ```
//! use pubnub_engine::{CryptoModule, ErrorKind};
//!
//! let crypto = CryptoModule::aes_cbc("enigma")?;
//! let sent = crypto.encrypt_string(r#"{"text":"hello"}"#)?; // "UE5FRAFBQ1JI…"
//! assert!(sent.starts_with("UE5FRAFBQ1JI")); // PNED 1 ACRH, in base64
//! assert_eq!(crypto.decrypt_string(&sent)?, r#"{"text":"hello"}"#);
//!
//! // What an older SDK sends with the legacy cryptor is read as well.
//! let legacy = CryptoModule::legacy("enigma", false)?;
//! assert_eq!(crypto.legacy_random_iv(false).decrypt_string(&legacy.encrypt_string("1")?)?, "1");
//!
//! // A wrong key is a typed error, never a panic.
//! let wrong = CryptoModule::aes_cbc("not enigma")?;
//! assert_eq!(wrong.decrypt_string(&sent).unwrap_err().kind(), ErrorKind::Decryption);
//! assert_eq!(CryptoModule::aes_cbc("").unwrap_err().kind(), ErrorKind::InvalidArgument);
//! # Ok::<(), pubnub_engine::Error>(())
//! ```

mod header;
pub(crate) mod received;

use std::fmt;
use std::sync::Arc;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};
use crate::subscribe::payload::{self, Payload};

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

/// The AES block size, and the size of an IV.
const BLOCK: usize = 16;
/// The AES-CBC cryptor's id.
const AES_CBC_ID: header::CryptorId = *b"ACRH";
/// The legacy cryptor's id, in the rare header that names it.
const LEGACY_ID: header::CryptorId = [0; 4];
/// The legacy cryptor's IV when it does not use a random one.
const LEGACY_CONSTANT_IV: [u8; BLOCK] = *b"0123456789012345";
/// Decoding accepts base64 with or without its padding; encoding always pads, as PubNub's SDKs.
const BASE64_DECODE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// PubNub's crypto module: encrypts with one cryptor and decrypts data of every cryptor it
/// knows (see the [module docs](crate::crypto) for the formats).
///
/// Cheap to clone. `Debug` shows which cryptor encrypts, never a key.
///
/// ```
/// use pubnub_engine::{CryptoModule, PubNub};
///
/// let pubnub = PubNub::builder("sub-c-…", "user-1")
///     .publish_key("pub-c-…")
///     .crypto_module(CryptoModule::aes_cbc("my cipher key")?)
///     .build_client()?;
/// # Ok::<(), pubnub_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct CryptoModule {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// The cryptor that encrypts.
    encrypts_with: Cryptor,
    /// The AES-CBC cryptor's key: the SHA-256 digest of the cipher key.
    aes_cbc_key: [u8; 32],
    /// The legacy cryptor's key: 32 lowercase hex digits of that digest, as ASCII.
    legacy_key: [u8; 32],
    /// Whether legacy data carries a random IV in front of it.
    legacy_random_iv: bool,
    iv: IvSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cryptor {
    AesCbc,
    Legacy,
}

#[derive(Clone)]
enum IvSource {
    Os(SystemRandom),
    /// Tests only: every encryption gets this IV, so ciphertexts can be compared with vectors.
    #[cfg(test)]
    Fixed([u8; BLOCK]),
}

impl CryptoModule {
    /// A module that encrypts with the AES-CBC cryptor (`ACRH`, as PubNub's
    /// `AesCbcCryptoModule`) and also decrypts legacy data (with a random IV; see
    /// [`legacy_random_iv`](Self::legacy_random_iv)). This is the one to choose unless clients
    /// that only know the legacy cryptor must read what this one sends.
    ///
    /// An empty cipher key is refused with [`ErrorKind::InvalidArgument`].
    pub fn aes_cbc(cipher_key: impl AsRef<[u8]>) -> Result<CryptoModule, Error> {
        CryptoModule::new(cipher_key.as_ref(), Cryptor::AesCbc, true)
    }

    /// A module that encrypts with the legacy cryptor (as PubNub's `LegacyCryptoModule`), with
    /// a random IV in front of each message or, when `random_iv` is false, the constant IV of
    /// PubNub's oldest SDKs. It also decrypts AES-CBC data.
    ///
    /// An empty cipher key is refused with [`ErrorKind::InvalidArgument`].
    pub fn legacy(cipher_key: impl AsRef<[u8]>, random_iv: bool) -> Result<CryptoModule, Error> {
        CryptoModule::new(cipher_key.as_ref(), Cryptor::Legacy, random_iv)
    }

    fn new(cipher_key: &[u8], encrypts_with: Cryptor, random_iv: bool) -> Result<Self, Error> {
        if cipher_key.is_empty() {
            return Err(Error::invalid("the cipher key is empty"));
        }
        let digest: [u8; 32] = Sha256::digest(cipher_key).into();
        let mut legacy_key = [0u8; 32];
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (pair, byte) in legacy_key.chunks_exact_mut(2).zip(digest) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0F)];
        }
        Ok(CryptoModule {
            inner: Arc::new(Inner {
                encrypts_with,
                aes_cbc_key: digest,
                legacy_key,
                legacy_random_iv: random_iv,
                iv: IvSource::Os(SystemRandom::new()),
            }),
        })
    }

    /// The same module, with legacy data read (and, for a [`legacy`](Self::legacy) module,
    /// written) with a random IV in front (`true`, the default of PubNub's SDKs) or with the
    /// constant IV (`false`). PubNub's SDKs call this `use_random_iv` or
    /// `use_random_initialization_vector`; it cannot be told from the data.
    pub fn legacy_random_iv(mut self, random_iv: bool) -> CryptoModule {
        Arc::make_mut(&mut self.inner).legacy_random_iv = random_iv;
        self
    }

    /// The same module, encrypting with `iv` every time. Tests only: an IV must never repeat.
    #[cfg(test)]
    pub(crate) fn with_fixed_iv(mut self, iv: [u8; BLOCK]) -> CryptoModule {
        Arc::make_mut(&mut self.inner).iv = IvSource::Fixed(iv);
        self
    }

    /// Encrypts `data` with the module's cryptor: the header (AES-CBC) or IV (legacy with a
    /// random IV) and the ciphertext, as PubNub's SDKs' `encrypt` of bytes.
    ///
    /// Empty data is refused with [`ErrorKind::InvalidArgument`], as PubNub's SDKs refuse it;
    /// [`ErrorKind::Encryption`] only if the system's random generator fails.
    pub fn encrypt(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        if data.is_empty() {
            return Err(Error::invalid("nothing to encrypt: the data is empty"));
        }
        let inner = &*self.inner;
        let padded = (data.len() / BLOCK + 1) * BLOCK;
        // The header and IV, then the data padded in place: one allocation.
        let mut out = Vec::with_capacity(10 + BLOCK + padded);
        let (key, iv) = match inner.encrypts_with {
            Cryptor::AesCbc => {
                let iv = self.random_iv()?;
                header::write(&mut out, AES_CBC_ID, &iv);
                (&inner.aes_cbc_key, iv)
            }
            Cryptor::Legacy if inner.legacy_random_iv => {
                let iv = self.random_iv()?;
                out.extend_from_slice(&iv);
                (&inner.legacy_key, iv)
            }
            Cryptor::Legacy => (&inner.legacy_key, LEGACY_CONSTANT_IV),
        };
        let start = out.len();
        out.extend_from_slice(data);
        out.resize(start + padded, 0);
        let encrypted = Encryptor::new(key.into(), &iv.into())
            .encrypt_padded::<Pkcs7>(&mut out[start..], data.len())
            .map_err(|_| Error::new(ErrorKind::Encryption, "the padded buffer is too short"))?
            .len();
        out.truncate(start + encrypted);
        Ok(out)
    }

    /// Encrypts a file in place: `data` becomes what [`encrypt`](Self::encrypt) gives for it
    /// (PubNub's file formats are those of bytes), in the same buffer, so a file is never held
    /// twice. Empty files are refused, as `encrypt` refuses empty data.
    pub(crate) fn encrypt_in_place(&self, data: &mut Vec<u8>) -> Result<(), Error> {
        if data.is_empty() {
            return Err(Error::invalid("nothing to encrypt: the file is empty"));
        }
        let inner = &*self.inner;
        let mut head = Vec::with_capacity(10 + BLOCK);
        let (key, iv) = match inner.encrypts_with {
            Cryptor::AesCbc => {
                let iv = self.random_iv()?;
                header::write(&mut head, AES_CBC_ID, &iv);
                (&inner.aes_cbc_key, iv)
            }
            Cryptor::Legacy if inner.legacy_random_iv => {
                let iv = self.random_iv()?;
                head.extend_from_slice(&iv);
                (&inner.legacy_key, iv)
            }
            Cryptor::Legacy => (&inner.legacy_key, LEGACY_CONSTANT_IV),
        };
        let plain = data.len();
        let padded = (plain / BLOCK + 1) * BLOCK;
        data.reserve(padded - plain + head.len());
        data.resize(padded, 0);
        Encryptor::new(key.into(), &iv.into())
            .encrypt_padded::<Pkcs7>(data, plain)
            .map_err(|_| Error::new(ErrorKind::Encryption, "the padded buffer is too short"))?;
        data.splice(0..0, head);
        Ok(())
    }

    /// Decrypts a downloaded file in place: `data` becomes the plaintext, so a file is never
    /// held twice. Data of every cryptor the module knows is read, as by
    /// [`decrypt`](Self::decrypt).
    pub(crate) fn decrypt_in_place(&self, data: &mut Vec<u8>) -> Result<(), Error> {
        if data.is_empty() {
            return Err(Error::decryption("nothing to decrypt: the data is empty"));
        }
        let inner = &*self.inner;
        let (key, iv, start) = match header::parse(data)? {
            None if inner.legacy_random_iv => {
                let iv: [u8; BLOCK] = data
                    .get(..BLOCK)
                    .and_then(|iv| iv.try_into().ok())
                    .ok_or_else(|| Error::decryption("truncated: no room for the 16-byte IV"))?;
                (&inner.legacy_key, iv, BLOCK)
            }
            None => (&inner.legacy_key, LEGACY_CONSTANT_IV, 0),
            Some(parsed) if parsed.cryptor == AES_CBC_ID => {
                let iv: [u8; BLOCK] = parsed.cryptor_data.try_into().map_err(|_| {
                    Error::decryption("the AES-CBC header does not carry a 16-byte IV")
                })?;
                (&inner.aes_cbc_key, iv, data.len() - parsed.body.len())
            }
            Some(parsed) if parsed.cryptor == LEGACY_ID => {
                let body = data.len() - parsed.body.len();
                let iv: [u8; BLOCK] = data
                    .get(body..body + BLOCK)
                    .and_then(|iv| iv.try_into().ok())
                    .ok_or_else(|| Error::decryption("truncated: no room for the 16-byte IV"))?;
                (&inner.legacy_key, iv, body + BLOCK)
            }
            Some(parsed) => {
                return Err(Error::decryption(format!(
                    "unknown cryptor {:?}: this SDK knows ACRH and the legacy cryptor",
                    String::from_utf8_lossy(&parsed.cryptor)
                )))
            }
        };
        let body = &mut data[start..];
        if body.is_empty() || !body.len().is_multiple_of(BLOCK) {
            return Err(Error::decryption(format!(
                "truncated: {} bytes of ciphertext, not a whole number of 16-byte blocks",
                body.len()
            )));
        }
        let plain = Decryptor::new(key.into(), &iv.into())
            .decrypt_padded::<Pkcs7>(body)
            .map_err(|_| {
                Error::decryption("wrong cipher key or damaged data: the padding does not check")
            })?
            .len();
        data.copy_within(start..start + plain, 0);
        data.truncate(plain);
        Ok(())
    }

    /// Decrypts data of any cryptor the module knows, chosen by its header (none: legacy).
    ///
    /// Fails with [`ErrorKind::Decryption`] for data cut short, of an unknown header version or
    /// cryptor, or that the key does not decrypt (a wrong key, damaged data).
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        if data.is_empty() {
            return Err(Error::decryption("nothing to decrypt: the data is empty"));
        }
        match header::parse(data)? {
            None => self.decrypt_legacy(data),
            Some(parsed) if parsed.cryptor == AES_CBC_ID => {
                let iv: [u8; BLOCK] = parsed.cryptor_data.try_into().map_err(|_| {
                    Error::decryption(format!(
                        "the AES-CBC header carries {} bytes where a 16-byte IV belongs",
                        parsed.cryptor_data.len()
                    ))
                })?;
                decrypt_cbc(&self.inner.aes_cbc_key, &iv, parsed.body)
            }
            Some(parsed) if parsed.cryptor == LEGACY_ID => self.decrypt_legacy(parsed.body),
            Some(parsed) => Err(Error::decryption(format!(
                "unknown cryptor {:?}: this SDK knows ACRH and the legacy cryptor",
                String::from_utf8_lossy(&parsed.cryptor)
            ))),
        }
    }

    /// Encrypts `text` and returns the standard base64 (with padding) of the result: what
    /// publish sends, as PubNub's SDKs' `encrypt` of a string.
    pub fn encrypt_string(&self, text: &str) -> Result<String, Error> {
        Ok(STANDARD.encode(self.encrypt(text.as_bytes())?))
    }

    /// Decrypts the base64 text of encrypted data back to the text it encrypted. Fails with
    /// [`ErrorKind::Decryption`] when `base64` is not base64, when [`decrypt`](Self::decrypt)
    /// fails, or when what it decrypts to is not UTF-8.
    pub fn decrypt_string(&self, base64: &str) -> Result<String, Error> {
        let data = BASE64_DECODE
            .decode(base64)
            .map_err(|e| Error::decryption(format!("not base64: {e}")))?;
        String::from_utf8(self.decrypt(&data)?).map_err(|_| {
            Error::decryption("wrong cipher key or damaged data: the decrypted text is not UTF-8")
        })
    }

    /// A message's JSON text, encrypted, as the JSON string publish sends (`"<base64>"`).
    pub(crate) fn encrypt_json(&self, json: &str) -> Result<String, Error> {
        // Header, IV and padding, in base64, and the quotes: one allocation for the result.
        let encrypted = self.encrypt(json.as_bytes())?;
        let mut out = String::with_capacity(encrypted.len().div_ceil(3) * 4 + 2);
        out.push('"');
        STANDARD.encode_string(&encrypted, &mut out);
        out.push('"');
        Ok(out)
    }

    /// A received payload, decrypted. A payload that is not a JSON string was not encrypted.
    ///
    /// Every PubNub SDK encrypts a message's JSON text, so decrypted text that is not JSON is
    /// suspect: data of the legacy cryptor written in the other IV mode (constant or random)
    /// decrypts, padding and all, to the message cut short or to nothing. So the legacy
    /// cryptor tries the other IV mode before giving up, and keeps what parses as JSON;
    /// otherwise the payload is refused with [`ErrorKind::Decryption`] (the caller delivers it
    /// as received, with the error), never delivered as a wrong value.
    pub(crate) fn decrypt_payload(&self, payload: &Payload) -> Result<Payload, Error> {
        let json = payload.json();
        let Ok(base64) = serde_json::from_str::<std::borrow::Cow<'_, str>>(json) else {
            return Err(Error::decryption(format!(
                "not encrypted: the payload is {}, not an encrypted string",
                json_kind(json)
            )));
        };
        let data = BASE64_DECODE
            .decode(&*base64)
            .map_err(|e| Error::decryption(format!("not base64: {e}")))?;
        let first = self.decrypt(&data).and_then(json_text);
        if first.is_ok() || !matches!(header::parse(&data), Ok(None)) {
            return first.map(Payload::from_validated);
        }
        let inner = &*self.inner;
        match decrypt_legacy_mode(&inner.legacy_key, !inner.legacy_random_iv, &data) {
            Ok(text) => {
                tracing::debug!("a legacy message was encrypted in the other IV mode");
                Ok(Payload::from_validated(text))
            }
            Err(_) => first.map(Payload::from_validated),
        }
    }

    fn decrypt_legacy(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        let inner = &*self.inner;
        legacy_mode(&inner.legacy_key, inner.legacy_random_iv, data)
    }

    fn random_iv(&self) -> Result<[u8; BLOCK], Error> {
        match &self.inner.iv {
            IvSource::Os(random) => {
                let mut iv = [0u8; BLOCK];
                random.fill(&mut iv).map_err(|_| {
                    Error::new(
                        ErrorKind::Encryption,
                        "the system's random generator failed",
                    )
                })?;
                Ok(iv)
            }
            #[cfg(test)]
            IvSource::Fixed(iv) => Ok(*iv),
        }
    }
}

/// Legacy cryptor data decrypted in one IV mode: the constant IV, or a random IV in front.
fn legacy_mode(key: &[u8; 32], random_iv: bool, data: &[u8]) -> Result<Vec<u8>, Error> {
    if !random_iv {
        return decrypt_cbc(key, &LEGACY_CONSTANT_IV, data);
    }
    let Some((iv, body)) = data.split_first_chunk::<BLOCK>() else {
        return Err(Error::decryption(format!(
            "truncated: {} bytes, less than the legacy cryptor's 16-byte IV and a block",
            data.len()
        )));
    };
    decrypt_cbc(key, iv, body)
}

/// [`legacy_mode`], as JSON text.
fn decrypt_legacy_mode(key: &[u8; 32], random_iv: bool, data: &[u8]) -> Result<String, Error> {
    json_text(legacy_mode(key, random_iv, data)?)
}

/// Decrypted bytes as the JSON text every PubNub SDK encrypts.
fn json_text(plain: Vec<u8>) -> Result<String, Error> {
    let text = String::from_utf8(plain).map_err(|_| {
        Error::decryption("wrong cipher key or damaged data: the decrypted text is not UTF-8")
    })?;
    payload::check_json(&text).map_err(|_| {
        Error::decryption(
            "wrong cipher key, damaged data or another IV mode: the decrypted text is not JSON",
        )
    })?;
    Ok(text)
}

/// AES-256-CBC decryption of `body` with PKCS#7 padding.
fn decrypt_cbc(key: &[u8; 32], iv: &[u8; BLOCK], body: &[u8]) -> Result<Vec<u8>, Error> {
    if body.is_empty() || !body.len().is_multiple_of(BLOCK) {
        return Err(Error::decryption(format!(
            "truncated: {} bytes of ciphertext, not a whole number of 16-byte blocks",
            body.len()
        )));
    }
    let mut buffer = body.to_vec();
    let len = Decryptor::new(key.into(), iv.into())
        .decrypt_padded::<Pkcs7>(&mut buffer)
        .map_err(|_| {
            Error::decryption("wrong cipher key or damaged data: the padding does not check")
        })?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}

/// What kind of JSON value `json` is, for an error message.
fn json_kind(json: &str) -> &'static str {
    match json.trim_start().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'"') => "a string",
        _ => "a number",
    }
}

impl fmt::Debug for CryptoModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let encrypts_with = match self.inner.encrypts_with {
            Cryptor::AesCbc => "AES-CBC (ACRH)",
            Cryptor::Legacy => "legacy",
        };
        f.debug_struct("CryptoModule")
            .field("encrypts_with", &encrypts_with)
            .field("legacy_random_iv", &self.inner.legacy_random_iv)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

//! Upload forms: the fields generate-upload-url issues, in the service's recorded order and
//! shape, with an S3 POST policy signed as S3 signs them (AWS Signature Version 4) with this
//! server's own random key. The storage endpoint checks a form it receives against the one it
//! issued, so nothing here needs to parse a policy back.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::hub::{Timetoken, MAX_FILE_BYTES};

type HmacSha256 = hmac::Hmac<Sha256>;

/// How long an upload form can be used: the service's `expiration_date` is 60 s after it
/// answered (recordings).
pub(crate) const FORM_TTL: Duration = Duration::from_secs(60);

/// The bucket named in policies.
const BUCKET: &str = "pubnub-local-files";

/// The region in credentials.
const REGION: &str = "us-east-1";

/// The access key id in credentials (an AWS-shaped name; nothing checks it but this server).
const ACCESS_KEY_ID: &str = "AKIAPUBNUBLOCAL00000";

/// The only algorithm S3 takes for POST policies.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The form fields, in the order every recording and the JS SDK's docs give ("Form data
/// fields should be passed in exact same order as received").
pub(crate) const FIELD_ORDER: [&str; 9] = [
    "tagging",
    "key",
    "Content-Type",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Amz-Algorithm",
    "X-Amz-Date",
    "Policy",
    "X-Amz-Signature",
];

/// An issued upload form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Form {
    /// When it stops being accepted.
    pub(crate) expires: Timetoken,
    /// `(name, value)` in [`FIELD_ORDER`].
    pub(crate) fields: Vec<(&'static str, String)>,
}

impl Form {
    /// The value issued for a field (names compared without case, as S3 does).
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Signs upload forms with a key made up at start.
pub(crate) struct Signer {
    secret: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with a fresh random secret.
    pub(crate) fn random() -> Signer {
        let secret = (0..4).map(|_| format!("{:016x}", random_u64())).collect();
        Signer { secret }
    }

    /// The form for uploading object `key`, issued at `now`.
    pub(crate) fn form(
        &self,
        key: &str,
        content_type: &str,
        retention_days: u64,
        now: Timetoken,
    ) -> Form {
        let expires = now.after(FORM_TTL);
        // The recorded forms date the request at their expiry (`X-Amz-Date` 17:27:45 with
        // `expiration_date` 17:27:45, answered at 17:26:45).
        let date = amz_date(expires);
        let credential = format!("{ACCESS_KEY_ID}/{}/{REGION}/s3/aws4_request", &date[..8]);
        let tagging = format!(
            "<Tagging><TagSet><Tag><Key>ObjectTTLInDays</Key><Value>{retention_days}</Value>\
             </Tag></TagSet></Tagging>"
        );
        let policy = STANDARD.encode(policy_text(
            &iso_seconds(expires),
            &tagging,
            key,
            &credential,
            &date,
        ));
        let signature = self.sign(&date[..8], &policy);
        let values = [
            tagging,
            key.to_string(),
            content_type.to_string(),
            credential,
            String::new(),
            ALGORITHM.to_string(),
            date,
            policy,
            signature,
        ];
        Form {
            expires,
            fields: FIELD_ORDER.into_iter().zip(values).collect(),
        }
    }

    /// SigV4 of a POST policy: hex HMAC of the base64 policy with the key derived from the
    /// secret, the day, the region and the service.
    fn sign(&self, day: &str, policy: &str) -> String {
        let mut key = hmac(format!("AWS4{}", self.secret).as_bytes(), day.as_bytes());
        for part in [REGION, "s3", "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        hmac(&key, policy.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so this never fails.
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The policy document, byte for byte in the recorded layout: a leading newline, tabs, and a
/// space before the last condition's closing brace.
fn policy_text(expiration: &str, tagging: &str, key: &str, credential: &str, date: &str) -> String {
    let q = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        "\n{{\n\t\"expiration\": {},\n\t\"conditions\": [\n\t\t{{\"bucket\": {}}},\n\
         \t\t[\"eq\", \"$tagging\", {}],\n\t\t[\"eq\", \"$key\", {}],\n\
         \t\t[\"content-length-range\", 0, {MAX_FILE_BYTES}],\n\
         \t\t[\"starts-with\", \"$Content-Type\", \"\"],\n\t\t{{\"x-amz-credential\": {}}},\n\
         \t\t{{\"x-amz-security-token\": \"\"}},\n\t\t{{\"x-amz-algorithm\": \"{ALGORITHM}\"}},\n\
         \t\t{{\"x-amz-date\": {} }}\n\t]\n}}\n",
        q(expiration),
        q(BUCKET),
        q(tagging),
        q(key),
        q(credential),
        q(date)
    )
}

/// `2025-05-05T17:27:45Z`: `expiration_date` and `created`.
pub(crate) fn iso_seconds(tt: Timetoken) -> String {
    let c = tt.civil();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `20250505T172745Z`: `X-Amz-Date`.
pub(crate) fn amz_date(tt: Timetoken) -> String {
    let c = tt.civil();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The `Content-Type` field the service issues for a file name: by extension, in Go's `mime`
/// style (`text/*` with `charset=utf-8`); `binary/octet-stream` otherwise (recordings:
/// `.txt` → `text/plain; charset=utf-8`, no extension → `binary/octet-stream`).
pub(crate) fn content_type_for(name: &str) -> &'static str {
    let extension = match name.rsplit_once('.') {
        Some((_, ext)) if !ext.contains('/') => ext.to_ascii_lowercase(),
        _ => return "binary/octet-stream",
    };
    match extension.as_str() {
        "txt" | "text" | "log" => "text/plain; charset=utf-8",
        "htm" | "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "xml" => "text/xml; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "binary/octet-stream",
    }
}

/// 64 unpredictable bits, enough for ids and a per-run key of a test server: SipHash keyed by
/// std's per-process random keys (drawn from the OS, and different for every `RandomState`),
/// over a counter and the wall time. No new dependency for it.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// A random UUID (version 4), as the service's file ids are.
pub(crate) fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2025-05-05T17:26:45Z, the recorded answer's `Date`.
    const RECORDED: Timetoken = Timetoken(17_464_660_050_000_000);

    #[test]
    fn dates_in_both_forms() {
        assert_eq!(iso_seconds(RECORDED), "2025-05-05T17:26:45Z");
        assert_eq!(amz_date(RECORDED), "20250505T172645Z");
        assert_eq!(iso_seconds(Timetoken(0)), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn the_form_has_the_recorded_order_and_policy_layout() {
        let signer = Signer::random();
        let key = "sub/f-tIAcNXJO9m81fWVV_o-fSQ-veupNrTloVAUPbeUQQ/5ada5e32-7af2-405e-a689-37c499a72f74/king_arthur.txt";
        let form = signer.form(key, "text/plain; charset=utf-8", 1, RECORDED);
        let names: Vec<&str> = form.fields.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, FIELD_ORDER);
        assert_eq!(form.expires, RECORDED.after(FORM_TTL));
        assert_eq!(form.field("x-amz-date"), Some("20250505T172745Z"));
        assert_eq!(
            form.field("X-Amz-Credential"),
            Some("AKIAPUBNUBLOCAL00000/20250505/us-east-1/s3/aws4_request")
        );
        assert_eq!(form.field("X-Amz-Security-Token"), Some(""));
        let policy = STANDARD.decode(form.field("Policy").unwrap()).unwrap();
        let expected = format!(
            "\n{{\n\t\"expiration\": \"2025-05-05T17:27:45Z\",\n\t\"conditions\": [\n\
             \t\t{{\"bucket\": \"pubnub-local-files\"}},\n\
             \t\t[\"eq\", \"$tagging\", \"<Tagging><TagSet><Tag><Key>ObjectTTLInDays</Key><Value>1</Value></Tag></TagSet></Tagging>\"],\n\
             \t\t[\"eq\", \"$key\", \"{key}\"],\n\
             \t\t[\"content-length-range\", 0, 5242880],\n\
             \t\t[\"starts-with\", \"$Content-Type\", \"\"],\n\
             \t\t{{\"x-amz-credential\": \"AKIAPUBNUBLOCAL00000/20250505/us-east-1/s3/aws4_request\"}},\n\
             \t\t{{\"x-amz-security-token\": \"\"}},\n\
             \t\t{{\"x-amz-algorithm\": \"AWS4-HMAC-SHA256\"}},\n\
             \t\t{{\"x-amz-date\": \"20250505T172745Z\" }}\n\t]\n}}\n"
        );
        assert_eq!(String::from_utf8(policy).unwrap(), expected);
        let signature = form.field("X-Amz-Signature").unwrap();
        assert_eq!(signature.len(), 64);
        // Deterministic for one signer, different for another.
        assert_eq!(
            signer.form(key, "x", 1, RECORDED).field("X-Amz-Signature"),
            Some(signature)
        );
        assert_ne!(
            Signer::random()
                .form(key, "x", 1, RECORDED)
                .field("X-Amz-Signature"),
            Some(signature)
        );
        // A name with a quote stays valid JSON inside the policy.
        let quoted = signer.form("s/h/i/a\"b", "x", 0, RECORDED);
        let text =
            String::from_utf8(STANDARD.decode(quoted.field("Policy").unwrap()).unwrap()).unwrap();
        assert!(text.contains(r#"["eq", "$key", "s/h/i/a\"b"]"#), "{text}");
    }

    #[test]
    fn the_signature_is_aws_sigv4() {
        // The worked example of AWS's "Browser-Based Upload using HTTP POST (Using AWS
        // Signature Version 4)": its example secret, day, base64 policy and signature.
        let signer = Signer {
            secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        };
        let policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        assert_eq!(
            signer.sign("20151229", policy),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type_for("king_arthur.txt"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type_for("file_5mb"), "binary/octet-stream");
        assert_eq!(content_type_for("photo.JPG"), "image/jpeg");
        assert_eq!(content_type_for("a.b/c"), "binary/octet-stream");
        assert_eq!(content_type_for("x.unknown"), "binary/octet-stream");
    }

    #[test]
    fn ids_are_version_4_uuids_and_differ() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}

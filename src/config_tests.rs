//! Tests of [`Config`](super::Config) and its builder.

use super::*;
use crate::error::ErrorKind;
use crate::retry::RetryPolicy;

fn builder() -> ConfigBuilder {
    Config::builder("sub-c-1", "user-1")
}

#[test]
fn defaults() {
    let config = builder().build().unwrap();
    assert_eq!(config.subscribe_key(), "sub-c-1");
    assert_eq!(config.user_id(), "user-1");
    assert_eq!(config.publish_key(), None);
    assert_eq!(config.origin(), "https://ps.pndsn.com");
    assert!(config.is_secure());
    assert_eq!(config.presence_timeout(), 300);
    assert_eq!(config.heartbeat_interval(), 0);
    assert!(!config.suppress_leave_events());
    assert_eq!(config.filter_expression(), None);
    assert_eq!(config.retry(), &RetryConfig::default());
    assert_eq!(config.subscribe_request_timeout(), Duration::from_secs(310));
    assert_eq!(
        config.non_subscribe_request_timeout(),
        Duration::from_secs(10)
    );
    assert_eq!(config.request_message_count_threshold(), 100);
    assert!(config.transport().is_none());
    assert!(config.auth().is_none());
}

#[test]
fn origins() {
    let cases = [
        ("ps.pndsn.com", true, "https://ps.pndsn.com", true),
        ("ps.pndsn.com", false, "http://ps.pndsn.com", false),
        ("127.0.0.1:8090", false, "http://127.0.0.1:8090", false),
        ("localhost:8090", true, "https://localhost:8090", true),
        (
            "http://127.0.0.1:8090",
            true,
            "http://127.0.0.1:8090",
            false,
        ),
        (
            "HTTP://127.0.0.1:8090/",
            true,
            "http://127.0.0.1:8090",
            false,
        ),
        (
            "https://example.com:443",
            false,
            "https://example.com",
            true,
        ),
        ("http://[::1]:9000", true, "http://[::1]:9000", false),
    ];
    for (origin, secure, base, tls) in cases {
        let config = builder().origin(origin).secure(secure).build().unwrap();
        assert_eq!(
            (config.origin(), config.is_secure()),
            (base, tls),
            "{origin}"
        );
    }
    for bad in [
        "",
        "ftp://h",
        "http://",
        "h/path",
        "h?q",
        "user@h",
        "h:notaport",
        "a b",
        "h:99999",
    ] {
        let error = builder().origin(bad).build().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{bad:?}");
    }
}

#[test]
fn invalid_values_are_typed_errors() {
    let cases: Vec<(&str, ConfigBuilder)> = vec![
        ("empty subscribe key", Config::builder("", "u")),
        ("space in key", Config::builder("sub c", "u")),
        ("empty publish key", builder().publish_key("")),
        ("empty user id", Config::builder("s", "")),
        ("long user id", Config::builder("s", "u".repeat(93))),
        ("control in user id", Config::builder("s", "u\n")),
        ("empty secret", builder().secret_key("")),
        ("empty token", builder().auth_token("")),
        (
            "interval ≥ timeout",
            builder().presence_timeout(60).heartbeat_interval(60),
        ),
        (
            "interval ≥ clamped timeout",
            builder().presence_timeout(5).heartbeat_interval(20),
        ),
        ("empty filter", builder().filter_expression("  ")),
        (
            "zero subscribe timeout",
            builder().subscribe_request_timeout(Duration::ZERO),
        ),
        (
            "zero timeout",
            builder().non_subscribe_request_timeout(Duration::ZERO),
        ),
        (
            "huge timeout",
            builder().non_subscribe_request_timeout(Duration::from_secs(3601)),
        ),
        (
            "zero threshold",
            builder().request_message_count_threshold(0),
        ),
    ];
    for (what, builder) in cases {
        let error = builder.build().expect_err(what);
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{what}");
    }
}

#[test]
fn presence_timeout_is_clamped_and_values_are_kept() {
    let config = builder()
        .presence_timeout(5)
        .heartbeat_interval(9)
        .suppress_leave_events(true)
        .filter_expression("meta.a == 'x' && meta.b > 1")
        .non_subscribe_request_timeout(Duration::from_millis(50))
        .request_message_count_threshold(7)
        .retry(RetryConfig::new(RetryPolicy::None))
        .build()
        .unwrap();
    assert_eq!(config.presence_timeout(), MIN_PRESENCE_TIMEOUT);
    assert_eq!(config.heartbeat_interval(), 9);
    assert!(config.suppress_leave_events());
    assert_eq!(
        config.filter_expression(),
        Some("meta.a == 'x' && meta.b > 1")
    );
    assert_eq!(
        config.non_subscribe_request_timeout(),
        Duration::from_millis(50)
    );
    assert_eq!(config.request_message_count_threshold(), 7);
    assert_eq!(config.retry().policy, RetryPolicy::None);
}

#[test]
fn token_wins_over_auth_key() {
    let config = builder()
        .auth_key("key")
        .auth_token("token")
        .build()
        .unwrap();
    assert_eq!(config.auth(), Some("token"));
    let config = builder().auth_key("key").build().unwrap();
    assert_eq!(config.auth(), Some("key"));
}

#[test]
fn debug_never_shows_secrets() {
    let config = builder()
        .secret_key("sec-c-SECRET")
        .auth_key("AUTHKEY")
        .auth_token("TOKEN123")
        .crypto_module(CryptoModule::aes_cbc("CIPHERKEY").unwrap())
        .build()
        .unwrap();
    let debug = format!("{config:?}");
    for secret in ["sec-c-SECRET", "AUTHKEY", "TOKEN123", "CIPHERKEY"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("\"***\""), "{debug}");
    assert!(debug.contains("AES-CBC"), "{debug}");
    assert!(config.has_secret_key());
    let builder_debug = format!(
        "{:?}",
        builder()
            .secret_key("sec-c-SECRET")
            .auth_token("TOKEN123")
            .crypto_module(CryptoModule::legacy("CIPHERKEY", true).unwrap())
    );
    assert!(!builder_debug.contains("SECRET") && !builder_debug.contains("TOKEN123"));
    assert!(!builder_debug.contains("CIPHERKEY"));
}

#[test]
fn a_crypto_module_needs_a_cipher_key() {
    // Refused before any client exists: the module cannot be made without a key.
    let error = CryptoModule::aes_cbc("").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        error.to_string(),
        "invalid argument: the cipher key is empty"
    );
    assert!(builder().build().unwrap().crypto_module().is_none());
    let config = builder()
        .crypto_module(CryptoModule::legacy("k", false).unwrap())
        .build()
        .unwrap();
    assert!(config.crypto_module().is_some());
}

//! App Context answers as the service writes them: keys in its order (serde_json's maps would
//! sort them), `application/json`, and its error bodies.
//!
//! Recorded orders: answers `status, data, totalCount, next, prev`; users `id, name, externalId,
//! profileUrl, email, type, status, custom, updated, eTag`; channels `id, name, description, type,
//! status, custom, updated, eTag`; memberships `channel|uuid, type, status, custom, updated,
//! eTag`; errors `status, error{message, source[, details]}`.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::super::response::{Reply, JSON};
use crate::hub::{Entity, ObjectKind};

/// A JSON object written key by key, in order.
#[derive(Debug, Default)]
pub(super) struct Ordered {
    text: String,
}

impl Ordered {
    pub(super) fn new() -> Ordered {
        Ordered::default()
    }

    /// Adds `key` with a value already written as JSON.
    pub(super) fn raw(mut self, key: &str, json: &str) -> Ordered {
        self.text.push(if self.text.is_empty() { '{' } else { ',' });
        self.text
            .push_str(&Value::String(key.to_string()).to_string());
        self.text.push(':');
        self.text.push_str(json);
        self
    }

    pub(super) fn value(self, key: &str, value: &Value) -> Ordered {
        self.raw(key, &value.to_string())
    }

    pub(super) fn finish(mut self) -> String {
        if self.text.is_empty() {
            self.text.push('{');
        }
        self.text.push('}');
        self.text
    }
}

/// `[a,b,…]` of values written already.
pub(super) fn array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

/// An answer of the objects service: `application/json`, as the service sends every one.
pub(super) fn reply(status: StatusCode, body: String) -> Reply {
    Reply::new(status, body.into_bytes(), JSON)
}

/// `{"status":200,"data":…}`.
pub(super) fn data(json: &str) -> Reply {
    reply(
        StatusCode::OK,
        Ordered::new()
            .raw("status", "200")
            .raw("data", json)
            .finish(),
    )
}

/// `{"status":N,"error":{"message":…,"source":"objects"}}`.
pub(super) fn objects_error(status: StatusCode, message: &str) -> Reply {
    let error = Ordered::new()
        .value("message", &Value::String(message.into()))
        .raw("source", r#""objects""#)
        .finish();
    let body = Ordered::new()
        .raw("status", &status.as_u16().to_string())
        .raw("error", &error)
        .finish();
    reply(status, body)
}

pub(super) fn bad_request(message: &str) -> Reply {
    objects_error(StatusCode::BAD_REQUEST, message)
}

/// The 400 of a body the service cannot take, with the reason in `details`.
pub(super) fn invalid_input(detail: &str) -> Reply {
    let details = Ordered::new()
        .value("message", &Value::String(detail.into()))
        .raw("location", r#""body""#)
        .raw("locationType", r#""body""#)
        .finish();
    let error = Ordered::new()
        .raw("message", r#""Invalid request input.""#)
        .raw("source", r#""objects""#)
        .raw("details", &array(&[details]))
        .finish();
    let body = Ordered::new()
        .raw("status", "400")
        .raw("error", &error)
        .finish();
    reply(StatusCode::BAD_REQUEST, body)
}

/// The `include` flags: the object's own fields and the nested object's. `totalCount` in
/// `include` (what the Python SDK's include objects send) is ignored, as the service ignores
/// it: only `count=true` asks for it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Includes {
    custom: bool,
    status: bool,
    kind: bool,
    pub(super) nested: bool,
    nested_custom: bool,
    nested_status: bool,
    nested_type: bool,
}

/// Which optional fields an object shows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shown {
    pub(super) custom: bool,
    pub(super) status: bool,
    pub(super) kind: bool,
}

impl Includes {
    pub(super) fn parse(value: Option<&str>) -> Includes {
        let mut includes = Includes::default();
        for part in value.unwrap_or("").split(',').map(str::trim) {
            match part {
                "custom" => includes.custom = true,
                "status" => includes.status = true,
                "type" => includes.kind = true,
                "channel" | "uuid" => includes.nested = true,
                "channel.custom" | "uuid.custom" => includes.nested_custom = true,
                "channel.status" | "uuid.status" => includes.nested_status = true,
                "channel.type" | "uuid.type" => includes.nested_type = true,
                _ => {}
            }
        }
        if includes.nested_custom || includes.nested_status || includes.nested_type {
            includes.nested = true;
        }
        includes
    }

    pub(super) fn own(&self) -> Shown {
        Shown {
            custom: self.custom,
            status: self.status,
            kind: self.kind,
        }
    }

    pub(super) fn nested(&self) -> Shown {
        Shown {
            custom: self.nested_custom,
            status: self.nested_status,
            kind: self.nested_type,
        }
    }
}

/// `{"id":…}` alone: the other end of a membership without metadata, or not included.
pub(super) fn id_only(id: &str) -> String {
    Ordered::new()
        .value("id", &Value::String(id.into()))
        .finish()
}

/// An entity as an answer shows it: `{"id":…}` alone when it has no metadata.
pub(super) fn entity(entity: Option<&Entity>, id: &str, kind: ObjectKind, shown: Shown) -> String {
    let Some(entity) = entity else {
        return id_only(id);
    };
    let mut out = Ordered::new().value("id", &Value::String(entity.id.clone()));
    for field in kind.fields() {
        out = out.value(field, entity.fields.get(*field).unwrap_or(&Value::Null));
    }
    optional(out, &entity.fields, &entity.custom, shown)
        .value("updated", &Value::String(entity.updated.clone()))
        .value("eTag", &Value::String(entity.etag.clone()))
        .finish()
}

/// `type`, `status`, `custom` where shown (`null` when unset), in that order.
pub(super) fn optional(
    mut out: Ordered,
    fields: &Map<String, Value>,
    custom: &Option<Value>,
    shown: Shown,
) -> Ordered {
    for (on, key) in [(shown.kind, "type"), (shown.status, "status")] {
        if on {
            out = out.value(key, fields.get(key).unwrap_or(&Value::Null));
        }
    }
    if shown.custom {
        out = out.value("custom", custom.as_ref().unwrap_or(&Value::Null));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes() {
        let i = Includes::parse(Some("custom,channel.custom,totalCount"));
        assert!(i.custom && i.nested && i.nested_custom && !i.status);
    }

    #[test]
    fn keys_keep_their_order() {
        let text = Ordered::new()
            .raw("status", "200")
            .value("data", &serde_json::json!([]))
            .value("a\"b", &Value::Null)
            .finish();
        assert_eq!(text, r#"{"status":200,"data":[],"a\"b":null}"#);
        assert_eq!(Ordered::new().finish(), "{}");
        let error = objects_error(StatusCode::PRECONDITION_FAILED, "Changed.");
        assert_eq!(
            String::from_utf8(error.body).unwrap(),
            r#"{"status":412,"error":{"message":"Changed.","source":"objects"}}"#
        );
        assert_eq!(error.content_type, JSON);
    }
}

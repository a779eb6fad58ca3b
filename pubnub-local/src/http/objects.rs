//! App Context (`/v2/objects`): user and channel metadata, memberships and members, in the
//! service's shapes (PROTOCOL.md §19). Errors are `{"status":N,"error":{"message":…,
//! "source":"objects"}}`; lists answer `{"status":200,"data":[…],"totalCount":N,"next":…,
//! "prev":…}` with opaque cursors.

use std::cmp::Ordering;

use axum::body::Bytes;
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::response::Reply;
use super::routes::{percent_decode, percent_decode_cow, ObjectResource, Query, Route};
use super::App;
use crate::filter::Filter;
use crate::hub::{Entity, ObjectError, ObjectKind, RelationPatch, RelationView, Side};

/// Largest and default page.
const MAX_LIMIT: usize = 100;

pub(super) fn handle(
    app: &App,
    route: &Route<'_>,
    method: &axum::http::Method,
    query: &Query<'_>,
    body: &Bytes,
    if_match: Option<&str>,
) -> Reply {
    let Route::AppContext {
        sub_key,
        resource,
        id,
    } = *route
    else {
        return Reply::not_found("/v2/objects");
    };
    let result = (|| {
        let sub_key = match percent_decode_cow(sub_key) {
            Ok(key) if app.key_allowed(&key) => key.into_owned(),
            _ => {
                return Err(objects_error(
                    StatusCode::BAD_REQUEST,
                    "Invalid subscribe key.",
                ))
            }
        };
        let id = id
            .map(percent_decode)
            .transpose()
            .map_err(|_| bad_request("Invalid id."))?;
        let includes = Includes::parse(query.get("include"));
        let ctx = Ctx {
            app,
            sub_key: &sub_key,
            query,
            includes,
        };
        let is = |m: &axum::http::Method| method == m;
        use axum::http::Method as M;
        match (resource, id.as_deref()) {
            (ObjectResource::Users, None) => ctx.list_entities(ObjectKind::User),
            (ObjectResource::Channels, None) => ctx.list_entities(ObjectKind::Channel),
            (ObjectResource::Users | ObjectResource::Channels, Some(id)) => {
                let kind = if resource == ObjectResource::Users {
                    ObjectKind::User
                } else {
                    ObjectKind::Channel
                };
                if is(&M::PATCH) {
                    ctx.set_entity(kind, id, body, if_match)
                } else if is(&M::DELETE) {
                    app.hub
                        .remove_object(&sub_key, kind, id, if_match)
                        .map_err(|e| refusal(&e))?;
                    Ok(Reply::ok(&json!({"status": 200, "data": null})))
                } else {
                    let entity = app
                        .hub
                        .get_object(&sub_key, kind, id)
                        .map_err(|e| refusal(&e))?;
                    let data = render_entity(Some(&entity), id, kind, ctx.includes.own());
                    Ok(Reply::ok(&json!({"status": 200, "data": data})))
                }
            }
            (ObjectResource::Memberships, Some(user)) => {
                if is(&M::PATCH) {
                    ctx.manage(Side::User(user), body)?;
                }
                ctx.list_relations(Side::User(user))
            }
            (ObjectResource::Members, Some(channel)) => {
                if is(&M::PATCH) {
                    ctx.manage(Side::Channel(channel), body)?;
                }
                ctx.list_relations(Side::Channel(channel))
            }
            (ObjectResource::Memberships | ObjectResource::Members, None) => {
                Err(Reply::not_found("/v2/objects"))
            }
        }
    })();
    result.unwrap_or_else(|reply| reply)
}

fn objects_error(status: StatusCode, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "status": status.as_u16(),
            "error": {"message": message, "source": "objects"},
        }),
    )
}

fn bad_request(message: &str) -> Reply {
    objects_error(StatusCode::BAD_REQUEST, message)
}

fn invalid_input(detail: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "status": 400,
            "error": {
                "message": "Invalid request input.",
                "source": "objects",
                "details": [{"message": detail, "location": "body", "locationType": "body"}],
            },
        }),
    )
}

fn refusal(error: &ObjectError) -> Reply {
    match error {
        ObjectError::NotFound => objects_error(StatusCode::NOT_FOUND, &error.to_string()),
        ObjectError::PreconditionFailed => {
            objects_error(StatusCode::PRECONDITION_FAILED, &error.to_string())
        }
    }
}

/// The `include` flags: the object's own fields and the nested object's.
#[derive(Debug, Clone, Copy, Default)]
struct Includes {
    custom: bool,
    status: bool,
    kind: bool,
    nested: bool,
    nested_custom: bool,
    nested_status: bool,
    nested_type: bool,
    /// `totalCount` in `include`: what the Python SDK's include objects send instead of
    /// `count=true`.
    total_count: bool,
}

/// Which optional fields an object shows.
#[derive(Debug, Clone, Copy)]
struct Shown {
    custom: bool,
    status: bool,
    kind: bool,
}

impl Includes {
    fn parse(value: Option<&str>) -> Includes {
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
                "totalCount" => includes.total_count = true,
                _ => {}
            }
        }
        if includes.nested_custom || includes.nested_status || includes.nested_type {
            includes.nested = true;
        }
        includes
    }

    fn own(&self) -> Shown {
        Shown {
            custom: self.custom,
            status: self.status,
            kind: self.kind,
        }
    }

    fn nested(&self) -> Shown {
        Shown {
            custom: self.nested_custom,
            status: self.nested_status,
            kind: self.nested_type,
        }
    }
}

/// An entity as an answer shows it: `{"id":…}` alone when it has no metadata.
fn render_entity(entity: Option<&Entity>, id: &str, kind: ObjectKind, shown: Shown) -> Value {
    let Some(entity) = entity else {
        return json!({ "id": id });
    };
    let mut map = Map::new();
    map.insert("id".into(), Value::String(entity.id.clone()));
    for field in kind.fields() {
        map.insert(
            (*field).to_owned(),
            entity.fields.get(*field).cloned().unwrap_or(Value::Null),
        );
    }
    put_optional(&mut map, &entity.fields, &entity.custom, shown);
    map.insert("updated".into(), Value::String(entity.updated.clone()));
    map.insert("eTag".into(), Value::String(entity.etag.clone()));
    Value::Object(map)
}

fn put_optional(
    map: &mut Map<String, Value>,
    fields: &Map<String, Value>,
    custom: &Option<Value>,
    shown: Shown,
) {
    if shown.custom {
        map.insert("custom".into(), custom.clone().unwrap_or(Value::Null));
    }
    for (on, key) in [(shown.status, "status"), (shown.kind, "type")] {
        if on {
            map.insert(key.into(), fields.get(key).cloned().unwrap_or(Value::Null));
        }
    }
}

/// Filter, sort and paging of a list request.
struct ListQuery {
    limit: usize,
    filter: Option<Filter>,
    sort: Vec<(Vec<String>, bool)>,
    start: Option<usize>,
    end: Option<usize>,
    count: bool,
}

fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

fn parse_cursor(raw: &str) -> Result<usize, Reply> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(raw.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| bad_request("Invalid page cursor."))
}

impl ListQuery {
    fn parse(
        query: &Query<'_>,
        sort_keys: &[&str],
        includes: &Includes,
    ) -> Result<ListQuery, Reply> {
        let limit = match query.get("limit") {
            None => MAX_LIMIT,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(bad_request("Invalid limit.")),
            },
        };
        let filter = match query.get("filter").filter(|f| !f.trim().is_empty()) {
            None => None,
            Some(raw) => Some(
                Filter::parse(raw)
                    .map_err(|e| bad_request(&format!("Invalid filter expression: {e}")))?,
            ),
        };
        let mut sort = Vec::new();
        for part in query
            .get("sort")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (key, direction) = part.split_once(':').unwrap_or((part, "asc"));
            let desc = match direction.to_ascii_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                _ => return Err(bad_request("Invalid sort direction.")),
            };
            if !sort_keys.contains(&key) {
                return Err(bad_request(&format!("Invalid sort key: {key}.")));
            }
            sort.push((key.split('.').map(str::to_owned).collect(), desc));
        }
        let start = query.get("start").map(parse_cursor).transpose()?;
        let end = query.get("end").map(parse_cursor).transpose()?;
        Ok(ListQuery {
            limit,
            filter,
            sort,
            start,
            end,
            count: query.flag("count") || includes.total_count,
        })
    }

    /// Filters `items` (each a view to filter and sort by, and what to answer), sorts them,
    /// cuts the page and writes the list answer.
    fn answer(&self, mut items: Vec<(Value, Value)>, default_key: &[&str]) -> Reply {
        if let Some(filter) = &self.filter {
            items.retain(|(view, _)| filter.matches(Some(view), &Value::Null));
        }
        let default: Vec<String> = default_key.iter().map(|k| (*k).to_owned()).collect();
        items.sort_by(|(a, _), (b, _)| {
            for (path, desc) in &self.sort {
                let order = compare(lookup(a, path), lookup(b, path));
                let order = if *desc { order.reverse() } else { order };
                if order != Ordering::Equal {
                    return order;
                }
            }
            compare(lookup(a, &default), lookup(b, &default))
        });
        let total = items.len();
        let (from, to) = match (self.start, self.end) {
            (_, Some(end)) => {
                let end = end.min(total);
                (end.saturating_sub(self.limit), end)
            }
            (start, None) => {
                let start = start.unwrap_or(0).min(total);
                (start, (start + self.limit).min(total))
            }
        };
        let data: Vec<Value> = items
            .drain(from..to)
            .map(|(_, rendered)| rendered)
            .collect();
        let mut answer = json!({"status": 200, "data": data});
        if self.count {
            answer["totalCount"] = total.into();
        }
        if to < total {
            answer["next"] = cursor(to).into();
        }
        if from > 0 {
            answer["prev"] = cursor(from).into();
        }
        Reply::ok(&answer)
    }
}

fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut current = value;
    for key in path {
        current = current.get(key)?;
    }
    (!current.is_null()).then_some(current)
}

/// Missing values first, then numbers, then text (case-sensitive), then anything else.
fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => match (a.as_f64(), b.as_f64(), a.as_str(), b.as_str()) {
            (Some(x), Some(y), _, _) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (_, _, Some(x), Some(y)) => x.cmp(y),
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}

/// Checks a set body's `custom`: absent, null, or a flat object of scalars.
fn custom_value(body: &Map<String, Value>) -> Result<Option<Value>, Reply> {
    match body.get("custom") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(Value::Null)),
        Some(Value::Object(map)) => {
            if map
                .values()
                .any(|v| matches!(v, Value::Object(_) | Value::Array(_)))
            {
                Err(invalid_input("custom values must be scalars"))
            } else {
                Ok(Some(Value::Object(map.clone())))
            }
        }
        Some(_) => Err(invalid_input("custom must be an object")),
    }
}

/// The text fields of a set body that `allowed` names: strings or null.
fn text_fields(body: &Map<String, Value>, allowed: &[&str]) -> Result<Map<String, Value>, Reply> {
    let mut patch = Map::new();
    for key in allowed {
        match body.get(*key) {
            None => {}
            Some(value @ (Value::String(_) | Value::Null)) => {
                patch.insert((*key).to_owned(), value.clone());
            }
            Some(_) => return Err(invalid_input(&format!("{key} must be a string"))),
        }
    }
    Ok(patch)
}

fn json_object(body: &Bytes) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_input("the body must be a JSON object")),
    }
}

struct Ctx<'a> {
    app: &'a App,
    sub_key: &'a str,
    query: &'a Query<'a>,
    includes: Includes,
}

const ENTITY_SORT_KEYS: [&str; 5] = ["id", "name", "updated", "status", "type"];

impl Ctx<'_> {
    fn set_entity(
        &self,
        kind: ObjectKind,
        id: &str,
        body: &Bytes,
        if_match: Option<&str>,
    ) -> Result<Reply, Reply> {
        let body = json_object(body)?;
        let mut allowed: Vec<&str> = kind.fields().to_vec();
        allowed.extend(["status", "type"]);
        let patch = text_fields(&body, &allowed)?;
        let custom = custom_value(&body)?;
        let entity = self
            .app
            .hub
            .set_object(self.sub_key, kind, id, &patch, custom.as_ref(), if_match)
            .map_err(|e| refusal(&e))?;
        let data = render_entity(Some(&entity), id, kind, self.includes.own());
        Ok(Reply::ok(&json!({"status": 200, "data": data})))
    }

    fn list_entities(&self, kind: ObjectKind) -> Result<Reply, Reply> {
        let list = ListQuery::parse(self.query, &ENTITY_SORT_KEYS, &self.includes)?;
        let items = self
            .app
            .hub
            .all_objects(self.sub_key, kind)
            .iter()
            .map(|e| {
                (
                    e.full_json(kind),
                    render_entity(Some(e), &e.id, kind, self.includes.own()),
                )
            })
            .collect();
        Ok(list.answer(items, &["id"]))
    }

    fn manage(&self, side: Side<'_>, body: &Bytes) -> Result<(), Reply> {
        let body = json_object(body)?;
        let other = match side {
            Side::User(_) => "channel",
            Side::Channel(_) => "uuid",
        };
        let list = |key: &str| -> Result<Vec<Map<String, Value>>, Reply> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item {
                        Value::Object(map) => Ok(map.clone()),
                        _ => Err(invalid_input(&format!("{key} items must be objects"))),
                    })
                    .collect(),
                Some(_) => Err(invalid_input(&format!("{key} must be a list"))),
            }
        };
        let other_id = |item: &Map<String, Value>| -> Result<String, Reply> {
            item.get(other)
                .and_then(|o| o.get("id"))
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| invalid_input(&format!("each item needs {other}.id")))
        };
        let mut set = Vec::new();
        for item in list("set")? {
            set.push(RelationPatch {
                other: other_id(&item)?,
                fields: text_fields(&item, &["status", "type"])?,
                custom: custom_value(&item)?,
            });
        }
        let mut delete = Vec::new();
        for item in list("delete")? {
            delete.push(other_id(&item)?);
        }
        self.app
            .hub
            .manage_relations(self.sub_key, side, &set, &delete);
        Ok(())
    }

    fn list_relations(&self, side: Side<'_>) -> Result<Reply, Reply> {
        let (nested_key, nested_kind, sort_keys, default_key): (_, _, &[&str], _) = match side {
            Side::User(_) => (
                "channel",
                ObjectKind::Channel,
                &[
                    "updated",
                    "status",
                    "type",
                    "channel.id",
                    "channel.name",
                    "channel.updated",
                    "channel.status",
                    "channel.type",
                ],
                ["channel", "id"],
            ),
            Side::Channel(_) => (
                "uuid",
                ObjectKind::User,
                &[
                    "updated",
                    "status",
                    "type",
                    "uuid.id",
                    "uuid.name",
                    "uuid.updated",
                    "uuid.status",
                    "uuid.type",
                ],
                ["uuid", "id"],
            ),
        };
        let list = ListQuery::parse(self.query, sort_keys, &self.includes)?;
        let items = self
            .app
            .hub
            .relations(self.sub_key, side)
            .iter()
            .map(|view| self.relation_item(view, nested_key, nested_kind))
            .collect();
        Ok(list.answer(items, &default_key))
    }

    /// (what filters and sorts see, what the answer shows) of one membership.
    fn relation_item(
        &self,
        view: &RelationView,
        nested_key: &str,
        nested_kind: ObjectKind,
    ) -> (Value, Value) {
        let r = &view.relation;
        let full = |entity: &Option<Entity>, id: &str, kind: ObjectKind| {
            entity
                .as_ref()
                .map_or_else(|| json!({ "id": id }), |e| e.full_json(kind))
        };
        let mut filter_view = Map::new();
        filter_view.insert(
            "channel".into(),
            full(&view.channel, &r.channel, ObjectKind::Channel),
        );
        filter_view.insert("uuid".into(), full(&view.user, &r.user, ObjectKind::User));
        put_optional(
            &mut filter_view,
            &r.fields,
            &r.custom,
            Shown {
                custom: true,
                status: true,
                kind: true,
            },
        );
        filter_view.insert("updated".into(), Value::String(r.updated.clone()));
        filter_view.insert("eTag".into(), Value::String(r.etag.clone()));

        let (entity, id) = match nested_kind {
            ObjectKind::Channel => (&view.channel, &r.channel),
            ObjectKind::User => (&view.user, &r.user),
        };
        let nested = if self.includes.nested {
            render_entity(entity.as_ref(), id, nested_kind, self.includes.nested())
        } else {
            json!({ "id": id })
        };
        let mut shown = Map::new();
        shown.insert(nested_key.to_owned(), nested);
        put_optional(&mut shown, &r.fields, &r.custom, self.includes.own());
        shown.insert("updated".into(), Value::String(r.updated.clone()));
        shown.insert("eTag".into(), Value::String(r.etag.clone()));
        (Value::Object(filter_view), Value::Object(shown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for offset in [0, 1, 12, 1000] {
            assert_eq!(parse_cursor(&cursor(offset)).ok(), Some(offset));
        }
        assert!(parse_cursor("not a cursor!").is_err());
    }

    #[test]
    fn includes() {
        let i = Includes::parse(Some("custom,channel.custom"));
        assert!(i.custom && i.nested && i.nested_custom && !i.status);
    }
}

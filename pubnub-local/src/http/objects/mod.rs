//! App Context (`/v2/objects`): user and channel metadata, memberships and members, in the
//! service's shapes (PROTOCOL.md §19) and, as recorded, its key order and `application/json`
//! ([`render`]). Errors are `{"status":N,"error":{"message":…,"source":"objects"}}`; lists
//! answer `{"status":200,"data":[…],"totalCount":N,"next":…,"prev":…}` with opaque cursors
//! ([`list`]).

mod list;
mod render;

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use serde_json::{json, Map, Value};

use super::response::Reply;
use super::routes::{percent_decode, percent_decode_cow, ObjectResource, Query, Route};
use super::App;
use crate::hub::{Entity, ObjectError, ObjectKind, RelationPatch, RelationView, Side};
use list::ListQuery;
use render::{bad_request, invalid_input, objects_error, Includes, Ordered};

pub(super) fn handle(
    app: &App,
    route: &Route<'_>,
    method: &Method,
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
        let is = |m: &Method| method == m;
        use Method as M;
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
                        .map_err(|e| refusal(&e, kind, method))?;
                    Ok(render::data("null"))
                } else {
                    let entity = app
                        .hub
                        .get_object(&sub_key, kind, id)
                        .map_err(|e| refusal(&e, kind, method))?;
                    let data = render::entity(Some(&entity), id, kind, ctx.includes.own());
                    Ok(render::data(&data))
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

/// The answer to a refused call. A stale `If-Match` on a set answers the service's recorded
/// texts; on a delete (not recorded) the same words with "delete".
fn refusal(error: &ObjectError, kind: ObjectKind, method: &Method) -> Reply {
    match error {
        ObjectError::NotFound => objects_error(StatusCode::NOT_FOUND, &error.to_string()),
        ObjectError::PreconditionFailed => {
            let what = match kind {
                ObjectKind::User => "User",
                ObjectKind::Channel => "Channel",
            };
            let verb = if *method == Method::DELETE {
                "delete"
            } else {
                "update"
            };
            objects_error(
                StatusCode::PRECONDITION_FAILED,
                &format!("{what} to {verb} has been modified after it was read."),
            )
        }
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
            .map_err(|e| refusal(&e, kind, &Method::PATCH))?;
        let data = render::entity(Some(&entity), id, kind, self.includes.own());
        Ok(render::data(&data))
    }

    fn list_entities(&self, kind: ObjectKind) -> Result<Reply, Reply> {
        let list = ListQuery::parse(self.query, &ENTITY_SORT_KEYS)?;
        let items = self
            .app
            .hub
            .all_objects(self.sub_key, kind)
            .iter()
            .map(|e| {
                (
                    e.full_json(kind),
                    render::entity(Some(e), &e.id, kind, self.includes.own()),
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
        let list = ListQuery::parse(self.query, sort_keys)?;
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
    ) -> (Value, String) {
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
        for key in ["status", "type"] {
            let value = r.fields.get(key).cloned().unwrap_or(Value::Null);
            filter_view.insert(key.into(), value);
        }
        filter_view.insert("custom".into(), r.custom.clone().unwrap_or(Value::Null));
        filter_view.insert("updated".into(), Value::String(r.updated.clone()));
        filter_view.insert("eTag".into(), Value::String(r.etag.clone()));

        let (entity, id) = match nested_kind {
            ObjectKind::Channel => (&view.channel, &r.channel),
            ObjectKind::User => (&view.user, &r.user),
        };
        let nested = if self.includes.nested {
            render::entity(entity.as_ref(), id, nested_kind, self.includes.nested())
        } else {
            render::id_only(id)
        };
        let shown = Ordered::new().raw(nested_key, &nested);
        let shown = render::optional(shown, &r.fields, &r.custom, self.includes.own())
            .value("updated", &Value::String(r.updated.clone()))
            .value("eTag", &Value::String(r.etag.clone()))
            .finish();
        (Value::Object(filter_view), shown)
    }
}

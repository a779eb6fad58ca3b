//! `/__faults`: the fault-injection admin endpoint, served only when enabled; and
//! `/__push/outbox`, always served: what mobile push would have sent.
//!
//! `GET /__faults` lists pending faults, each with its `id`. `POST /__faults` takes one
//! command or an array:
//!
//! ```text
//! {"endpoint":"subscribe","fault":"status","status":503,"retry_after":2,"times":3}
//! {"endpoint":"long-poll","fault":"status","status":502}   (subscribes with a non-zero tt only)
//! {"endpoint":"publish","fault":"delay","ms":500}
//! {"fault":"reset"} {"fault":"truncated"} {"fault":"non_json"} {"fault":"hang"}
//! {"endpoint":"publish","fault":"store_then_fail","status":500} {"fault":"store_then_reset"}
//! {"endpoint":"publish","fault":"status","status":500,"user":"bob","channel":"room"}
//! {"action":"drop_long_polls"} {"action":"clear"} {"action":"remove","id":3}
//! {"action":"restart_listener","down_ms":1000}
//! ```
//!
//! The console's fault controls send the same commands (`POST /__console/faults`).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::response::Reply;
use super::App;
use crate::faults::{Fault, FaultId};
use crate::hub::PushNotification;

/// Longest a listener restart may keep the port closed.
const MAX_DOWN: Duration = Duration::from_secs(60);

/// Most faults one rule may apply to.
const MAX_TIMES: u32 = 10_000;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Command {
    Fault(Fault),
    Action {
        action: String,
        #[serde(default)]
        down_ms: u64,
        #[serde(default)]
        id: Option<FaultId>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Commands {
    One(Command),
    Many(Vec<Command>),
}

pub(super) fn handle(app: &App, method: &Method, body: &[u8]) -> Reply {
    if *method == Method::GET {
        return Reply::ok(&json!({"status": 200, "faults": rules_json(app)}));
    }
    match apply(app, body) {
        Ok(()) => Reply::ok(&json!({"status": 200, "message": "OK", "faults": rules_json(app)})),
        Err(reply) => reply,
    }
}

/// The pending rules, in order, each with its `id`.
pub(crate) fn rules_json(app: &App) -> serde_json::Value {
    let rules = app.faults.rules().into_iter().map(|(id, fault)| {
        let mut value = json!(fault);
        value["id"] = json!(id);
        value
    });
    serde_json::Value::Array(rules.collect())
}

/// Applies one command or an array of them, in order, stopping at the first that fails.
pub(crate) fn apply(app: &App, body: &[u8]) -> Result<(), Reply> {
    let commands = match serde_json::from_slice::<Commands>(body) {
        Ok(Commands::One(command)) => vec![command],
        Ok(Commands::Many(commands)) => commands,
        Err(e) => {
            return Err(Reply::error_details(
                StatusCode::BAD_REQUEST,
                "faults",
                "Invalid fault command",
                &e.to_string(),
            ))
        }
    };
    for command in commands {
        match command {
            Command::Fault(mut fault) => {
                fault.times = fault.times.min(MAX_TIMES);
                app.faults.inject(fault);
            }
            Command::Action {
                action,
                down_ms,
                id,
            } => match (action.as_str(), id) {
                ("clear", _) => app.faults.clear(),
                ("drop_long_polls", _) => app.faults.drop_long_polls(),
                // Removing a rule already used up is not an error: it is gone either way.
                ("remove", Some(id)) => drop(app.faults.remove(id)),
                ("remove", None) => {
                    return Err(Reply::error(
                        StatusCode::BAD_REQUEST,
                        "faults",
                        "remove needs the rule's id",
                    ))
                }
                ("restart_listener", _) => {
                    let Some(listener) = app.listener.get().and_then(|weak| weak.upgrade()) else {
                        return Err(Reply::error(
                            StatusCode::CONFLICT,
                            "faults",
                            "No listener to restart",
                        ));
                    };
                    let down = Duration::from_millis(down_ms).min(MAX_DOWN);
                    Arc::clone(&listener).bounce(down);
                }
                (other, _) => {
                    return Err(Reply::error_details(
                        StatusCode::BAD_REQUEST,
                        "faults",
                        "Unknown action",
                        other,
                    ))
                }
            },
        }
    }
    Ok(())
}

/// `GET /__push/outbox`: `{"status":200,"notifications":[…]}`, oldest first, each
/// `{"sub_key","channel","timetoken","push_type","token","payload"}` and, for APNs2, `topic`
/// and `environment`. `DELETE` forgets them: `{"status":200,"message":"OK"}`.
pub(super) fn push_outbox(app: &App, clear: bool) -> Reply {
    if clear {
        app.hub.clear_push_outbox();
        return Reply::ok(&json!({"status": 200, "message": "OK"}));
    }
    let notifications: Vec<serde_json::Value> = app
        .hub
        .push_outbox()
        .iter()
        .map(notification_json)
        .collect();
    Reply::ok(&json!({"status": 200, "notifications": notifications}))
}

pub(crate) fn notification_json(n: &PushNotification) -> serde_json::Value {
    let mut value = json!({
        "sub_key": n.sub_key,
        "channel": n.channel,
        "timetoken": n.timetoken.to_string(),
        "push_type": n.push_type.as_str(),
        "token": n.token,
        "payload": n.payload,
    });
    if let Some(topic) = &n.topic {
        value["topic"] = json!(topic);
    }
    if let Some(environment) = n.environment {
        value["environment"] = json!(environment.as_str());
    }
    value
}

//! The presence engine: heartbeats and leave as a pure state machine, and the presence REST
//! requests.

pub(crate) mod effects;
pub(crate) mod joined;
pub mod machine;
pub(crate) mod requests;
pub mod rest;

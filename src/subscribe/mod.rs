//! The subscribe engine and everything around it: the pure machine, its effects, the
//! subscription manager, entities, subscriptions, listeners and streams.

pub(crate) mod dedupe;
pub(crate) mod effects;
pub mod envelope;
pub mod events;
pub(crate) mod high_water;
pub(crate) mod legacy;
pub mod listeners;
pub mod machine;
pub(crate) mod manager;
pub mod payload;
pub(crate) mod streams;
pub mod subscriber;
pub mod subscription;

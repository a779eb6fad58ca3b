//! The presence engine: heartbeats and leave as a pure state machine.

pub mod machine;

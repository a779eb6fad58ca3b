//! The subscribe engine: the long-poll loop as a pure state machine.

pub mod envelope;
pub mod machine;

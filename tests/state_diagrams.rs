//! The committed diagrams in `state-diagrams/` must be exactly what the code generates.
//! Regenerate them with `cargo run --example state_diagrams`.

use std::path::Path;

use pubnub_engine::diagram::{fingerprint, Diagram};
use pubnub_engine::presence::machine::PresenceMachine;
use pubnub_engine::subscribe::machine::SubscribeMachine;

fn committed(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("state-diagrams")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check(name: &str, diagram: Diagram) {
    let hint = "stale: run `cargo run --example state_diagrams` and commit state-diagrams/";
    assert!(
        committed(&format!("{name}.dot")) == diagram.to_stamped_dot(),
        "{name}.dot is {hint}"
    );
    assert!(
        committed(&format!("{name}.md")) == diagram.to_mermaid(),
        "{name}.md is {hint}"
    );
    // Graphviz copies the DOT `comment` (the source fingerprint) into the SVG.
    let svg = committed(&format!("{name}.svg"));
    let stamp = format!("source_fingerprint {:016x}", fingerprint(&diagram.to_dot()));
    assert!(svg.contains(&stamp), "{name}.svg is {hint}");
    for edge in diagram.edges() {
        assert!(svg.contains(&edge.event), "{name}.svg lacks {}", edge.event);
    }
}

#[test]
fn subscribe_diagram_is_fresh() {
    check("subscribe", Diagram::of::<SubscribeMachine>());
}

#[test]
fn presence_diagram_is_fresh() {
    check("presence", Diagram::of::<PresenceMachine>());
}

//! Regenerates `state-diagrams/` from the transition functions:
//! `cargo run --example state_diagrams`.
//!
//! Writes `<machine>.dot` and `<machine>.md` (Mermaid) for each engine, and `<machine>.svg` when
//! Graphviz's `dot` is installed. The test `tests/state_diagrams.rs` fails when they are stale.

use std::path::Path;
use std::process::Command;

use pubnub_engine::diagram::Diagram;
use pubnub_engine::presence::machine::PresenceMachine;
use pubnub_engine::subscribe::machine::SubscribeMachine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("state-diagrams");
    std::fs::create_dir_all(&dir)?;
    for (name, diagram) in [
        ("subscribe", Diagram::of::<SubscribeMachine>()),
        ("presence", Diagram::of::<PresenceMachine>()),
    ] {
        let dot = dir.join(format!("{name}.dot"));
        std::fs::write(&dot, diagram.to_stamped_dot())?;
        std::fs::write(dir.join(format!("{name}.md")), diagram.to_mermaid())?;
        let svg = dir.join(format!("{name}.svg"));
        match Command::new("dot")
            .arg("-Tsvg")
            .arg(&dot)
            .arg("-o")
            .arg(&svg)
            .status()
        {
            Ok(status) if status.success() => println!("wrote {}", svg.display()),
            Ok(status) => return Err(format!("dot failed for {name}: {status}").into()),
            Err(_) => println!("Graphviz `dot` not found: {name}.svg not regenerated"),
        }
        println!("wrote {} and {name}.md", dot.display());
    }
    Ok(())
}

//! The pipeline spec loader on any text: read as TOML and as JSON, then checked against the
//! registry (every component's parameters, columns, outputs) without touching the outside
//! world. No panic; a spec read from TOML reads back from its own JSON with the same
//! fingerprint and the same verdict of the check.
#![no_main]

use std::sync::LazyLock;

use collectors_fuzz::offline_registry;
use collectors_pipeline::{PipelineSpec, Registry};
use libfuzzer_sys::fuzz_target;

/// Relative paths resolve here; nothing is created or read (see `offline_registry`).
const BASE: &str = "/nonexistent/collectors-fuzz";

static REGISTRY: LazyLock<Registry> = LazyLock::new(offline_registry);

fn check(spec: &PipelineSpec) -> Result<(), String> {
    let _ = format!("{spec:?}");
    let _ = spec.fingerprint();
    spec.components(&REGISTRY)
        .map(|components| {
            let _ = format!("{components:?}");
        })
        .map_err(|e| e.to_string())
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Ok(spec) = PipelineSpec::from_json_str(text, BASE) {
        let _ = check(&spec);
    }
    let Ok(spec) = PipelineSpec::from_toml_str(text, BASE) else {
        return;
    };
    let verdict = check(&spec);
    let json = serde_json::to_string(&spec).expect("a spec serializes to JSON");
    let again = PipelineSpec::from_json_str(&json, BASE)
        .unwrap_or_else(|e| panic!("the spec's own JSON does not read back: {e}\n{json}"));
    assert_eq!(spec.fingerprint(), again.fingerprint(), "{json}");
    assert_eq!(
        verdict.is_ok(),
        check(&again).is_ok(),
        "the check differs between TOML and JSON: {verdict:?}\n{json}"
    );
});

//! `Registry::pipeline_schema`: the JSON Schema a REST client, a form or a test generator
//! works from. It must take every spec the library takes (the examples), and refuse what
//! the library refuses at parse time.

use collectors_pipeline::{PipelineSpec, Registry};
use serde_json::{Value, json};

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&Registry::standard().pipeline_schema()).expect("the schema compiles")
}

fn problems(validator: &jsonschema::Validator, spec: &Value) -> Vec<String> {
    validator
        .iter_errors(spec)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn every_example_pipeline_is_valid_under_the_schema() {
    let validator = validator();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for example in ["sensors", "object_store_pipeline", "postgres_pipeline"] {
        let path = root.join(example).join("pipeline.toml");
        let spec = PipelineSpec::from_path(&path).expect("the example parses");
        let json = serde_json::to_value(&spec).unwrap();
        let found = problems(&validator, &json);
        assert!(found.is_empty(), "{example}: {found:?}");
    }
}

fn minimal() -> Value {
    json!({
        "name": "sensors",
        "source": [{"id": "in", "kind": "local", "format": "csv", "path": "data",
                    "csv": {"has_header": true}}],
        "processor": [{"type": "rolling_mean", "value": "value", "window": 3}],
        "store": {"kind": "sqlite", "path": "out.db", "table": "readings"},
    })
}

/// One change that breaks a valid spec.
type Edit = fn(&mut Value);

#[test]
fn each_component_takes_exactly_its_own_parameters() {
    let validator = validator();
    assert!(problems(&validator, &minimal()).is_empty());
    let broken: [(&str, Edit); 9] = [
        ("an unknown processor type", |s| {
            s["processor"][0]["type"] = json!("nope")
        }),
        ("a processor without its required key", |s| {
            s["processor"][0].as_object_mut().unwrap().remove("value");
        }),
        ("a parameter of another processor", |s| {
            s["processor"][0]["height"] = json!(1.0)
        }),
        ("a wrong type", |s| {
            s["processor"][0]["window"] = json!("three")
        }),
        ("a decoder table that is not the format's", |s| {
            s["source"][0]["jsonl"] = json!({});
        }),
        ("an unknown store key", |s| {
            s["store"]["colour"] = json!("red")
        }),
        ("a blank name", |s| s["name"] = json!("  ")),
        ("an engine bound", |s| {
            s["engine"] = json!({"max_items_in_flight": 0})
        }),
        ("both checkpoint places", |s| {
            s["checkpoints"] = json!({"path": "c.db", "url": "postgres://h/db"});
        }),
    ];
    for (what, edit) in broken {
        let mut spec = minimal();
        edit(&mut spec);
        assert!(
            !problems(&validator, &spec).is_empty(),
            "{what} was accepted"
        );
    }
}

#[test]
fn integers_are_bounded_by_their_rust_types() {
    let schema = Registry::standard().pipeline_schema();
    let lease = &schema["$defs"]["EngineSpec"]["properties"]["lease_ttl_ms"];
    assert_eq!(lease["minimum"], 100);
    assert_eq!(lease["maximum"], 3_600_000);
    let validator = validator();
    let mut spec = minimal();
    let window = &schema["$defs"]["processor.rolling_mean"]["properties"]["window"];
    assert_eq!(window["minimum"], 0);
    assert_eq!(window["maximum"], u64::MAX);
    spec["processor"][0]["window"] = json!(1e20);
    assert!(
        !problems(&validator, &spec).is_empty(),
        "a window no usize holds is refused by the schema, as serde refuses it"
    );
}

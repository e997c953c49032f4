//! JSON Schemas as a validator and a test generator read them: every integer bounded by its
//! Rust type, local definitions movable into another document, and the whole spec's schema
//! with one variant per registered component (see [`Registry::pipeline_schema`]).

use serde_json::{Map, Value, json};

use crate::registry::Registry;
use crate::spec::PipelineSpec;

/// Moves `schema` into `into` under `name`, and its local definitions (`$defs`, or
/// `definitions`) beside it as `{name}.{def}`; every `$ref` to them is rewritten to
/// `{ref_base}{name}.{def}`. An OpenAPI document takes a schema this way into
/// `components.schemas` (`ref_base = "#/components/schemas/"`), because a `$ref` there
/// resolves against the document, not the schema.
///
/// ```
/// use serde_json::json;
///
/// let schema = json!({
///     "properties": {"unit": {"$ref": "#/$defs/Unit"}},
///     "$defs": {"Unit": {"enum": ["s", "ms"]}},
/// });
/// let mut components = serde_json::Map::new();
/// collectors_pipeline::schema::hoist_defs(schema, "timer", "#/components/schemas/", &mut components);
/// assert_eq!(components["timer"]["properties"]["unit"]["$ref"], "#/components/schemas/timer.Unit");
/// assert_eq!(components["timer.Unit"]["enum"][0], "s");
/// ```
pub fn hoist_defs(mut schema: Value, name: &str, ref_base: &str, into: &mut Map<String, Value>) {
    let defs = schema
        .as_object_mut()
        .and_then(|o| {
            o.remove("$schema");
            o.remove("$defs").or_else(|| o.remove("definitions"))
        })
        .and_then(|d| match d {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let prefix = format!("{ref_base}{name}.");
    rewrite_refs(&mut schema, &prefix);
    for (def_name, mut def) in defs {
        rewrite_refs(&mut def, &prefix);
        into.insert(format!("{name}.{def_name}"), def);
    }
    into.insert(name.to_owned(), schema);
}

/// Points every local `$ref` (`#/$defs/X`, `#/definitions/X`) at `{prefix}X`.
fn rewrite_refs(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = inner
                    && let Some(name) = target
                        .strip_prefix("#/$defs/")
                        .or_else(|| target.strip_prefix("#/definitions/"))
                {
                    *target = format!("{prefix}{name}");
                } else {
                    rewrite_refs(inner, prefix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, prefix)),
        _ => {}
    }
}

/// The JSON Schema of `T`, every integer bounded by its Rust type ([`bound_integers`]).
pub(crate) fn bounded_schema_for<T: schemars::JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    bound_integers(&mut schema);
    schema
}

/// Gives every integer the bounds of its Rust type (`"format": "uint32"` → `0..=4294967295`):
/// schemars states the format, which validators ignore, so without this a schema-valid
/// `2^40` would still be refused by serde.
fn bound_integers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let bounds = map
                .get("format")
                .and_then(Value::as_str)
                .and_then(integer_bounds);
            if let Some((min, max)) = bounds {
                narrow(map, "minimum", min, |new, old| new > old);
                narrow(map, "maximum", max, |new, old| new < old);
            }
            map.values_mut().for_each(bound_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// Sets `map[key]` to `bound` unless it is already tighter.
fn narrow(map: &mut Map<String, Value>, key: &str, bound: Value, tighter: fn(f64, f64) -> bool) {
    let keep = match (map.get(key).and_then(Value::as_f64), bound.as_f64()) {
        (Some(old), Some(new)) => !tighter(new, old),
        _ => false,
    };
    if !keep {
        map.insert(key.to_owned(), bound);
    }
}

fn integer_bounds(format: &str) -> Option<(Value, Value)> {
    Some(match format {
        "uint8" => (json!(0), json!(u8::MAX)),
        "uint16" => (json!(0), json!(u16::MAX)),
        "uint32" => (json!(0), json!(u32::MAX)),
        "uint64" | "uint" => (json!(0), json!(u64::MAX)),
        "int8" => (json!(i8::MIN), json!(i8::MAX)),
        "int16" => (json!(i16::MIN), json!(i16::MAX)),
        "int32" => (json!(i32::MIN), json!(i32::MAX)),
        "int64" | "int" => (json!(i64::MIN), json!(i64::MAX)),
        _ => return None,
    })
}

/// The schema of a whole spec for `registry`: see [`Registry::pipeline_schema`].
pub(crate) fn pipeline_schema(registry: &Registry) -> Value {
    let mut root = PipelineSpec::json_schema();
    let schemas = registry.schemas();
    let mut defs = root
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .and_then(|d| match d {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let components = |what: &str| schemas[what].as_object().cloned().unwrap_or_default();

    for (format, schema) in components("decoders") {
        hoist_defs(schema, &format!("decoder.{format}"), "#/$defs/", &mut defs);
    }
    let source_id = defs
        .get("SourceSpec")
        .and_then(|s| s.pointer("/properties/id"))
        .cloned()
        .unwrap_or_else(|| json!({"type": "string"}));
    let mut sources = Vec::new();
    for (kind, schema) in components("sources") {
        let params = hoisted(schema, &format!("source.{kind}"), &mut defs);
        for format in components("decoders").keys() {
            let name = format!("source.{kind}.{format}");
            let mut fixed = Map::new();
            fixed.insert("id".into(), source_id.clone());
            fixed.insert("kind".into(), json!({"const": kind}));
            fixed.insert("format".into(), json!({"const": format}));
            fixed.insert(
                format.clone(),
                json!({"$ref": format!("#/$defs/decoder.{format}")}),
            );
            let title = format!("`{kind}` source of `{format}` items");
            defs.insert(
                name.clone(),
                variant(&params, fixed, &["id", "kind", "format"], &title),
            );
            sources.push(json!({"$ref": format!("#/$defs/{name}")}));
        }
    }
    replace_with_variants(&mut defs, "SourceSpec", sources);
    // Two equal sources would share an id (ids must be unique, which JSON Schema cannot say
    // of one key; it can of whole items).
    if let Some(list) = root.pointer_mut("/properties/source") {
        list["uniqueItems"] = Value::Bool(true);
    }

    // A processor is picked by its `type`, a store by its `kind`.
    for (what, role, tag, spec) in [
        ("processors", "processor", "type", "ProcessorSpec"),
        ("stores", "store", "kind", "StoreSpec"),
    ] {
        let mut variants = Vec::new();
        for (kind, schema) in components(what) {
            let name = format!("{role}.{kind}");
            let params = hoisted(schema, &name, &mut defs);
            let fixed = Map::from_iter([(tag.to_owned(), json!({"const": kind}))]);
            let title = format!("{role} `{kind}`");
            defs.insert(name.clone(), variant(&params, fixed, &[tag], &title));
            variants.push(json!({"$ref": format!("#/$defs/{name}")}));
        }
        replace_with_variants(&mut defs, spec, variants);
    }

    // `[checkpoints]` takes `path` or `url`, exactly one; a `pool` belongs to a `url`.
    if let Some(Value::Object(checkpoints)) = defs.get_mut("CheckpointsSpec") {
        checkpoints.insert(
            "oneOf".into(),
            json!([
                {"required": ["path"], "properties": {"path": {"type": "string"}, "url": {"type": "null"},
                                                      "pool": {"type": "null"}}},
                {"required": ["url"], "properties": {"url": {"type": "string"}, "path": {"type": "null"}}},
            ]),
        );
    }
    if let Some(o) = root.as_object_mut() {
        o.insert("$defs".into(), Value::Object(defs));
    }
    root
}

/// A component's parameter schema with its definitions moved into `defs` as `{name}.{def}`.
fn hoisted(schema: Value, name: &str, defs: &mut Map<String, Value>) -> Value {
    let mut scratch = Map::new();
    hoist_defs(schema, name, "#/$defs/", &mut scratch);
    let params = scratch.remove(name).unwrap_or_default();
    defs.extend(scratch);
    params
}

/// One variant of a component table: the keys the spec reads (`fixed`, all `required`),
/// then the component's own parameters; nothing else.
fn variant(params: &Value, fixed: Map<String, Value>, required: &[&str], title: &str) -> Value {
    let mut properties = fixed;
    if let Some(own) = params.get("properties").and_then(Value::as_object) {
        properties.extend(own.clone());
    }
    let mut all_required: Vec<Value> = required.iter().map(|r| json!(r)).collect();
    if let Some(own) = params.get("required").and_then(Value::as_array) {
        all_required.extend(own.iter().cloned());
    }
    let mut schema = json!({
        "title": title,
        "type": "object",
        "properties": properties,
        "required": all_required,
        "additionalProperties": false,
    });
    if let Some(description) = params.get("description") {
        schema["description"] = description.clone();
    }
    schema
}

/// Makes `defs[name]` one of `variants`, keeping its description.
fn replace_with_variants(defs: &mut Map<String, Value>, name: &str, variants: Vec<Value>) {
    let description = defs
        .get(name)
        .and_then(|s| s.get("description"))
        .cloned()
        .unwrap_or(Value::Null);
    // No registered component: nothing is valid (`oneOf` must not be empty).
    let mut schema = if variants.is_empty() {
        json!({"not": {}})
    } else {
        json!({"oneOf": variants})
    };
    if !description.is_null() {
        schema["description"] = description;
    }
    defs.insert(name.to_owned(), schema);
}

//! What the OpenAPI document takes from the registry, so that docs, the spec and forms come
//! from one source: every processor's parameter schema, the pipeline spec's schema, and the
//! list of processing types.

use collectors_pipeline::{PipelineSpec, Registry};
use serde_json::Value;

/// Adds the JSON Schema of each processor's parameters as
/// `components.schemas["processor.{type}"]` and the pipeline spec's as `PipelineSpec`, and
/// lists the processing types in `ProcessRequest.processing_type`. Local definitions
/// (`$defs`) move to `components.schemas["{name}.{def}"]` and their `$ref`s follow, because a
/// `$ref` in an OpenAPI document resolves against the document, not the schema.
pub(crate) fn add_registry_schemas(document: &mut Value, registry: &Registry) {
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for kind in registry.processor_kinds() {
        if let Some(schema) = registry.processor_schema(kind) {
            add(schemas, &format!("processor.{kind}"), schema.clone());
        }
    }
    add(schemas, "PipelineSpec", PipelineSpec::json_schema());
    let mut kinds: Vec<Value> = registry
        .processor_kinds()
        .into_iter()
        .map(|k| Value::String(k.to_owned()))
        .collect();
    for extra in [crate::etl::CUSTOM, crate::etl::PIPELINE, crate::etl::NOOP] {
        kinds.push(Value::String(extra.to_owned()));
    }
    if let Some(field) = schemas
        .get_mut("ProcessRequest")
        .and_then(|s| s.pointer_mut("/properties/processing_type"))
        .and_then(Value::as_object_mut)
    {
        field.insert("enum".into(), Value::Array(kinds));
    }
    let spec = serde_json::json!({"$ref": "#/components/schemas/PipelineSpec"});
    if let Some(body) = document.pointer_mut(
        "/paths/~1api~1pipelines~1{name}/put/requestBody/content/application~1json/schema",
    ) {
        *body = spec;
    }
}

fn add(schemas: &mut serde_json::Map<String, Value>, name: &str, mut schema: Value) {
    let defs = schema
        .as_object_mut()
        .and_then(|o| {
            o.remove("$schema");
            o.remove("$defs").or_else(|| o.remove("definitions"))
        })
        .and_then(|d| d.as_object().cloned())
        .unwrap_or_default();
    rewrite_refs(&mut schema, name);
    for (def_name, mut def) in defs {
        rewrite_refs(&mut def, name);
        schemas.insert(format!("{name}.{def_name}"), def);
    }
    schemas.insert(name.to_owned(), schema);
}

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
                    *target = format!("#/components/schemas/{prefix}.{name}");
                } else {
                    rewrite_refs(inner, prefix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, prefix)),
        _ => {}
    }
}

//! The processors' parameter schemas in the OpenAPI document: one source (the registry's
//! schemars schemas) for the docs, the spec and forms.

use collectors_pipeline::Registry;
use serde_json::Value;

/// Adds the JSON Schema of each processor's parameters as
/// `components.schemas["processor.{type}"]`. Their local definitions (`$defs`) move to
/// `components.schemas["processor.{type}.{name}"]` and their `$ref`s follow, because a
/// `$ref` in an OpenAPI document resolves against the document, not the schema.
pub(crate) fn add_processor_schemas(document: &mut Value, registry: &Registry) {
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for kind in registry.processor_kinds() {
        let Some(schema) = registry.processor_schema(kind) else {
            continue;
        };
        let prefix = format!("processor.{kind}");
        let mut schema = schema.clone();
        let defs = schema
            .as_object_mut()
            .and_then(|o| {
                o.remove("$schema");
                o.remove("$defs").or_else(|| o.remove("definitions"))
            })
            .and_then(|d| d.as_object().cloned())
            .unwrap_or_default();
        rewrite_refs(&mut schema, &prefix);
        for (name, mut def) in defs {
            rewrite_refs(&mut def, &prefix);
            schemas.insert(format!("{prefix}.{name}"), def);
        }
        schemas.insert(prefix, schema);
    }
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

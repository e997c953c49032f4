//! What the OpenAPI document takes from the registry, so that docs, the spec and forms come
//! from one source: every processor's parameter schema, the pipeline spec's schema with one
//! variant per registered component, and `ProcessRequest` as one variant per processing
//! type. The request bodies are then checked against this same document
//! ([`crate::routes::extract::BodySchemas`]), so what it says is what the API takes.

use collectors_backends::registry::ConnectorFactories;
use collectors_pipeline::Registry;
use collectors_pipeline::schema::hoist_defs;
use serde_json::{Map, Value, json};

use crate::etl::{CUSTOM, NOOP, PIPELINE};
use crate::pipelines::NAME_PATTERN;

const COMPONENTS: &str = "#/components/schemas/";

/// Completes the generated document from `registry`:
/// - `components.schemas["processor.{type}"]`: each processor's parameters;
/// - `PipelineSpec`: a whole spec, each source, processor and store one of the registered
///   kinds with exactly its parameters (definitions as `PipelineSpec.{def}`);
/// - `ProcessRequest`: one of `ProcessRequest.{type}`, each with the fields its type takes;
/// - `DataSourceBody`: one of `DataSourceBody.{type}`, a variant per connector factory;
/// - `/api/ws` leaves the paths (an upgrade is no REST operation; the description says how
///   to open it), its message schemas stay.
pub(crate) fn add_registry_schemas(
    document: &mut Value,
    registry: &Registry,
    factories: &ConnectorFactories,
) {
    if let Some(paths) = document
        .pointer_mut("/paths")
        .and_then(Value::as_object_mut)
    {
        paths.remove("/api/ws");
    }
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for kind in registry.processor_kinds() {
        if let Some(schema) = registry.processor_schema(kind) {
            hoist_defs(
                schema.clone(),
                &format!("processor.{kind}"),
                COMPONENTS,
                schemas,
            );
        }
    }
    hoist_defs(
        registry.pipeline_schema(),
        "PipelineSpec",
        COMPONENTS,
        schemas,
    );
    schemas.insert(
        "PipelineRef".into(),
        json!({
            "description": "A pipeline by name or inline: exactly one of the two.",
            "oneOf": [
                {"type": "object", "additionalProperties": false, "required": ["name"],
                 "properties": {"name": {"description": "A pipeline registered with `PUT /api/pipelines/{name}`.",
                                         "type": "string", "pattern": NAME_PATTERN}}},
                {"type": "object", "additionalProperties": false, "required": ["spec"],
                 "properties": {"spec": {"$ref": format!("{COMPONENTS}PipelineSpec")}}},
            ],
        }),
    );
    if let Some(Value::Object(form)) = schemas.get_mut("UploadForm") {
        form.insert("additionalProperties".into(), Value::Bool(false));
    }
    process_request_variants(schemas, registry);
    data_source_variants(schemas, factories);
    path_patterns(document);
    for (path, schema) in [
        ("/paths/~1api~1pipelines~1{name}/put", "PipelineSpec"),
        ("/paths/~1api~1data-sources~1{id}/put", "DataSourceUpdate"),
    ] {
        let body = format!("{path}/requestBody/content/application~1json/schema");
        if let Some(body) = document.pointer_mut(&body) {
            *body = json!({"$ref": format!("{COMPONENTS}{schema}")});
        }
    }
}

/// `ProcessRequest` as one variant per processing type, each naming its type in
/// `processing_type` (a discriminator) and taking only its own fields.
fn process_request_variants(schemas: &mut Map<String, Value>, registry: &Registry) {
    let Some(generated) = schemas.get("ProcessRequest").cloned() else {
        return;
    };
    let field = |name: &str| generated["properties"][name].clone();
    let described = |name: &str, mut schema: Value| {
        if let Some(description) = generated["properties"][name].get("description") {
            schema["description"] = description.clone();
        }
        schema
    };
    let file_id = described("data_file_id", json!({"type": "string", "format": "uuid"}));
    let processing_type =
        |kind: &str| described("processing_type", json!({"type": "string", "const": kind}));
    let mut variants = Vec::new();
    let mut mapping = Map::new();
    let mut add = |schemas: &mut Map<String, Value>,
                   kind: &str,
                   title: String,
                   mut properties: Map<String, Value>,
                   required: &[&str]| {
        properties.insert("processing_type".into(), processing_type(kind));
        properties.insert("max_attempts".into(), field("max_attempts"));
        let mut all_required = vec!["processing_type"];
        all_required.extend_from_slice(required);
        let name = format!("ProcessRequest.{kind}");
        schemas.insert(
            name.clone(),
            json!({
                "title": title,
                "type": "object",
                "properties": properties,
                "required": all_required,
                "additionalProperties": false,
            }),
        );
        let reference = format!("{COMPONENTS}{name}");
        mapping.insert(kind.to_owned(), json!(reference));
        variants.push(json!({"$ref": reference}));
    };
    for kind in registry.processor_kinds() {
        let parameters = json!({"$ref": format!("{COMPONENTS}processor.{kind}")});
        let needs_parameters = registry
            .processor_schema(kind)
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            .is_some_and(|r| !r.is_empty());
        let mut required = vec!["data_file_id"];
        if needs_parameters {
            required.push("parameters");
        }
        let properties = Map::from_iter([
            ("data_file_id".to_owned(), file_id.clone()),
            ("parameters".to_owned(), described("parameters", parameters)),
            ("decoder".to_owned(), field("decoder")),
        ]);
        add(
            schemas,
            kind,
            format!("processor `{kind}` over a data file"),
            properties,
            &required,
        );
    }
    let script_name = described(
        "custom_script_name",
        json!({"type": "string", "minLength": 1, "maxLength": 63,
               "pattern": "^(?!\\.\\.?$)(?=.*\\S)[^/\\\\\\x00-\\x1f\\x7f-\\x9f]+$"}),
    );
    let custom = Map::from_iter([
        ("data_file_id".to_owned(), file_id.clone()),
        ("custom_script_name".to_owned(), script_name),
        ("custom_params".to_owned(), field("custom_params")),
        ("decoder".to_owned(), field("decoder")),
    ]);
    add(
        schemas,
        CUSTOM,
        "a script of the scripts directory over a data file".into(),
        custom,
        &["data_file_id", "custom_script_name"],
    );
    let pipeline = Map::from_iter([(
        "pipeline".to_owned(),
        described(
            "pipeline",
            json!({"$ref": format!("{COMPONENTS}PipelineRef")}),
        ),
    )]);
    add(
        schemas,
        PIPELINE,
        "a whole pipeline, registered or inline".into(),
        pipeline,
        &["pipeline"],
    );
    let noop = Map::from_iter([(
        "parameters".to_owned(),
        json!({"type": "object", "additionalProperties": false,
               "description": "`delay_ms`: how long the job takes (default 0).",
               "properties": {"delay_ms": {"type": "integer", "minimum": 0, "maximum": 3_600_000}}}),
    )]);
    add(
        schemas,
        NOOP,
        "nothing, after an optional delay (smoke and load tests)".into(),
        noop,
        &[],
    );
    let mut request = json!({
        "oneOf": variants,
        "discriminator": {"propertyName": "processing_type", "mapping": mapping},
    });
    if let Some(description) = generated.get("description") {
        request["description"] = description.clone();
    }
    schemas.insert("ProcessRequest".into(), request);
}

/// A data source id: not blank, no control character (as `DataSourceConfig::new` checks).
const SOURCE_ID_PATTERN: &str = "^(?=.*\\S)[^\\x00-\\x1f\\x7f-\\x9f]+$";

/// The path parameters that name things get their names' patterns: `{name}` of
/// `/api/pipelines/{name}…`, `{id}` of `/api/data-sources/{id}…`.
fn path_patterns(document: &mut Value) {
    let Some(paths) = document
        .pointer_mut("/paths")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (prefix, parameter, pattern) in [
        ("/api/pipelines/{name}", "name", NAME_PATTERN),
        ("/api/data-sources/{id}", "id", SOURCE_ID_PATTERN),
    ] {
        let operations = paths
            .iter_mut()
            .filter(|(path, _)| path.starts_with(prefix))
            .filter_map(|(_, item)| item.as_object_mut())
            .flat_map(|item| item.values_mut());
        for operation in operations {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for p in parameters.iter_mut().filter(|p| p["name"] == parameter) {
                p["schema"]["pattern"] = json!(pattern);
            }
        }
    }
}

/// `DataSourceBody` as one variant per registered connector factory: its `type`, and its
/// settings' schema as `config`.
fn data_source_variants(schemas: &mut Map<String, Value>, factories: &ConnectorFactories) {
    let Value::Object(settings) = factories.schemas() else {
        return;
    };
    let mut variants = Vec::new();
    let mut updates = Vec::new();
    let mut mapping = Map::new();
    for (kind, schema) in settings {
        let config_name = format!("DataSourceBody.{kind}.config");
        hoist_defs(schema, &config_name, COMPONENTS, schemas);
        let name = format!("DataSourceBody.{kind}");
        let body = json!({
                "title": format!("`{kind}` data source"),
                "type": "object",
                "additionalProperties": false,
                "required": ["id", "type", "config"],
                "properties": {
                    "id": {"type": "string", "description": "Unique, non-empty id.",
                           "pattern": SOURCE_ID_PATTERN},
                    "type": {"type": "string", "const": kind},
                    "name": {"type": ["string", "null"], "description": "A readable name (default: the id)."},
                    "config": {"$ref": format!("{COMPONENTS}{config_name}")},
                    "metadata": {"type": "object", "description": "Free-form metadata."},
                    "created_at": {"type": ["string", "null"], "format": "date-time",
                                   "description": "When it was registered (set by the registry)."},
                },
        });
        // A replacement takes its id from the path.
        let mut update = body.clone();
        update["required"] = json!(["type", "config"]);
        if let Some(properties) = update["properties"].as_object_mut() {
            properties.remove("id");
        }
        update["title"] = json!(format!("`{kind}` data source, its id from the path"));
        schemas.insert(format!("DataSourceUpdate.{kind}"), update);
        schemas.insert(name.clone(), body);
        let reference = format!("{COMPONENTS}{name}");
        mapping.insert(kind.clone(), json!(reference));
        variants.push(json!({"$ref": reference}));
        updates.push(json!({"$ref": format!("{COMPONENTS}DataSourceUpdate.{kind}")}));
    }
    schemas.insert(
        "DataSourceUpdate".into(),
        json!({
            "description": "A data source's new configuration; its id is the path's.",
            "oneOf": updates,
        }),
    );
    let description = schemas
        .get("DataSourceBody")
        .and_then(|s| s.get("description"))
        .cloned()
        .unwrap_or(Value::Null);
    schemas.insert(
        "DataSourceBody".into(),
        json!({
            "description": description,
            "oneOf": variants,
            "discriminator": {"propertyName": "type", "mapping": mapping},
        }),
    );
}

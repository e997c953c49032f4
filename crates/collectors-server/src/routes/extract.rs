//! Extractors whose rejections are [`ApiError`]s, so a bad id, bad JSON or a wrong type gets
//! the same JSON error body as every other error.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use collectors_core::{Error, Result};
use jsonschema::{ValidationError, error::ValidationErrorKind};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ApiError;

/// `axum::Json` with [`ApiError`] rejections (400, or 415 without a JSON content type).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub(crate) T);

/// `axum::extract::Path` with [`ApiError`] rejections.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub(crate) struct ApiPath<T>(pub(crate) T);

/// `axum::extract::Query` with [`ApiError`] rejections.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a JSON body (Content-Type: application/json)",
            ),
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            // `/api/files/abc` names nothing: no resource has such an id.
            PathRejection::FailedToDeserializePathParams(e) => {
                ApiError::not_found(format!("nothing is found at this path: {}", e.body_text()))
            }
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(rejection.body_text())
    }
}

/// The bodies checked against their schema, by schema name (each a [`DocumentedBody`]).
pub(crate) const DOCUMENTED_BODIES: &[&str] = &[
    "ProcessRequest",
    "ProcessBatch",
    "PipelineSpec",
    "DataSourceBody",
    "DataSourceUpdate",
];

/// The request bodies' schemas, compiled from the served OpenAPI document: a body is
/// checked against the schema the document gives it before it is deserialized, so the API
/// takes exactly what it documents (and a client, a form or a test generator can trust the
/// document alone).
#[derive(Clone)]
pub(crate) struct BodySchemas {
    validators: Arc<HashMap<&'static str, jsonschema::Validator>>,
}

impl BodySchemas {
    /// Compiles `components.schemas[name]` of `document` for each name.
    ///
    /// # Errors
    ///
    /// [`Error::Configuration`] when a schema does not compile (a registered component
    /// with a broken schema).
    pub(crate) fn compile(document: &Value, names: &[&'static str]) -> Result<Self> {
        let components = document.get("components").cloned().unwrap_or_default();
        let mut validators = HashMap::new();
        for name in names {
            let root = json!({
                "$ref": format!("#/components/schemas/{name}"),
                "components": components,
            });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&root)
                .map_err(|e| Error::configuration(format!("the schema of {name}: {e}")))?;
            validators.insert(*name, validator);
        }
        Ok(Self {
            validators: Arc::new(validators),
        })
    }

    /// Every way `body` breaks the schema `name`, in one 400.
    fn check(&self, name: &str, body: &Value) -> std::result::Result<(), ApiError> {
        let Some(validator) = self.validators.get(name) else {
            return Ok(());
        };
        let problems: Vec<String> = validator
            .iter_errors(body)
            .flat_map(|e| describe(&e))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::bad_request(problems.join("; ")))
        }
    }
}

/// A body the document describes as `components.schemas[SCHEMA]`.
pub(crate) trait DocumentedBody: DeserializeOwned {
    /// Its schema's name in the document.
    const SCHEMA: &'static str;
    /// Keys whose values are free-form and kept exactly as sent (see
    /// [`integral_floats`](crate::lenient::integral_floats)).
    const VERBATIM: &'static [&'static str] = &[];
}

/// A JSON body checked against its schema ([`BodySchemas`]), then deserialized, with
/// [`ApiError`] rejections.
#[derive(Debug)]
pub(crate) struct CheckedJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for CheckedJson<T>
where
    S: Send + Sync,
    T: DocumentedBody,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> std::result::Result<Self, ApiError> {
        let schemas = request.extensions().get::<BodySchemas>().cloned();
        let ApiJson(mut body) = ApiJson::<Value>::from_request(request, state).await?;
        if let Some(schemas) = schemas {
            schemas.check(T::SCHEMA, &body)?;
        }
        crate::lenient::integral_floats(&mut body, T::VERBATIM);
        serde_path_to_error::deserialize(body)
            .map(CheckedJson)
            .map_err(|e| ApiError::bad_request(format!("`{}`: {}", e.path(), e.inner())))
    }
}

/// What is wrong, at its JSON pointer. A `oneOf` of tagged variants (a `processing_type`, a
/// component's `kind`) speaks for the variant the tag picks; without one, for the tag.
fn describe(error: &ValidationError<'_>) -> Vec<String> {
    if let ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } =
        error.kind()
    {
        let tags = |branch: &Vec<ValidationError<'static>>| {
            branch
                .iter()
                .filter(|e| matches!(e.kind(), ValidationErrorKind::Constant { .. }))
                .count()
        };
        if let Some(fewest) = context.iter().map(tags).min() {
            let closest: Vec<_> = context.iter().filter(|b| tags(b) == fewest).collect();
            if fewest == 0 && closest.len() == 1 {
                return closest[0].iter().flat_map(|e| describe(e)).collect();
            }
            if fewest > 0 {
                return tag_choices(&closest);
            }
        }
        return vec![format!(
            "{}: matches none of the variants it may take",
            pointer(error)
        )];
    }
    let mut message = error.to_string();
    if message.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|i| message.is_char_boundary(*i))
            .unwrap_or(0);
        message.truncate(cut);
        message.push('…');
    }
    vec![format!("{}: {message}", pointer(error))]
}

/// `/processing_type: must be one of `a`, `b``, from the tags the closest variants expect.
fn tag_choices(branches: &[&Vec<ValidationError<'static>>]) -> Vec<String> {
    let mut choices: Vec<(String, Vec<String>)> = Vec::new();
    for error in branches.iter().flat_map(|b| b.iter()) {
        if let ValidationErrorKind::Constant { expected_value } = error.kind() {
            let at = pointer(error);
            let value = match &**expected_value {
                Value::String(s) => format!("`{s}`"),
                other => other.to_string(),
            };
            match choices.iter_mut().find(|(p, _)| *p == at) {
                Some((_, values)) if !values.contains(&value) => values.push(value),
                Some(_) => {}
                None => choices.push((at, vec![value])),
            }
        }
    }
    choices
        .into_iter()
        .map(|(at, values)| format!("{at}: must be one of {}", values.join(", ")))
        .collect()
}

fn pointer(error: &ValidationError<'_>) -> String {
    let at = error.instance_path().to_string();
    if at.is_empty() { "/".to_owned() } else { at }
}

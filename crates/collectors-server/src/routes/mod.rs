//! The routes of the API and the OpenAPI document generated from them.

pub(crate) mod data_sources;
pub(crate) mod etl;
pub(crate) mod extract;
pub(crate) mod files;
pub(crate) mod ops;
pub(crate) mod pipelines;
pub(crate) mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiToken;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "collectors ETL service",
        description = "Upload data files, process them with the collectors processors or whole \
                       pipelines in background workers, follow the jobs over WebSocket.\n\n\
                       **WebSocket** (not among the paths: an upgrade is no REST operation): \
                       `GET /api/ws`, with the bearer token as a header or as `?token=`, and \
                       `?result_id=` to follow one result. The server sends `etl_update` \
                       messages (schema `EtlUpdate`) on every status change and progress \
                       update. The client may send `{\"type\": \"subscribe\", \"result_id\": …}`, \
                       `{\"type\": \"unsubscribe\", …}` and `{\"type\": \"get_state\", \"result_id\": …}` \
                       (answered with `{\"type\": \"state\", \"result\": …}`, for a client that \
                       reconnects). A client that falls behind is disconnected.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::routes::ws::EtlUpdate)),
    tags(
        (name = "files", description = "Uploaded data files"),
        (name = "etl", description = "Processing requests and their results"),
        (name = "data-sources", description = "The data-source registry"),
        (name = "pipelines", description = "Pipeline specs registered by name"),
        (name = "operations", description = "Health, readiness, metrics")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every route behind the token, with its OpenAPI operations.
fn protected() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(files::list_files, files::upload_file))
        .routes(routes!(files::get_file, files::delete_file))
        .routes(routes!(files::file_content))
        .routes(routes!(etl::process))
        .routes(routes!(etl::process_batch))
        .routes(routes!(etl::list_results))
        .routes(routes!(etl::get_result, etl::delete_result))
        .routes(routes!(etl::export_result))
        .routes(routes!(
            data_sources::list_sources,
            data_sources::create_source
        ))
        .routes(routes!(
            data_sources::get_source,
            data_sources::replace_source,
            data_sources::delete_source
        ))
        .routes(routes!(data_sources::test_source))
        .routes(routes!(data_sources::ingest_source))
        .routes(routes!(pipelines::list_pipelines))
        .routes(routes!(
            pipelines::get_pipeline,
            pipelines::put_pipeline,
            pipelines::delete_pipeline
        ))
        .routes(routes!(pipelines::run_pipeline))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
        .routes(routes!(ws::updates))
}

/// The router and the OpenAPI document (with every processor's parameter schema under
/// `components.schemas["processor.{type}"]`).
///
/// # Errors
///
/// [`collectors_core::Error::Configuration`] when a request body's schema does not compile
/// (a host app's component with a broken schema).
pub(crate) fn build(
    state: AppState,
    token: ApiToken,
) -> collectors_core::Result<(Router, serde_json::Value)> {
    let (protected, protected_api) = protected().split_for_parts();
    let (public, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::health))
        .split_for_parts();
    api.merge(protected_api);
    let mut document = serde_json::to_value(&api).unwrap_or_default();
    crate::openapi::add_registry_schemas(
        &mut document,
        &state.registry,
        state.data_sources.factories(),
    );
    let bodies = extract::BodySchemas::compile(&document, extract::DOCUMENTED_BODIES)?;
    let served = document.clone();
    let protected = protected
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let served = served.clone();
                async move { axum::Json(served) }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            token,
            crate::auth::require_token,
        ))
        .layer(axum::Extension(bodies));
    let router = public
        .merge(protected)
        // Uploads are limited by the file route itself (`max_upload_bytes`, streamed).
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(crate::metrics::track_requests))
        .layer(crate::cors::layer(&state.config.cors_origins))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    Ok((router, document))
}

//! One command per file.

#[cfg(feature = "object-store")]
pub(crate) mod data_source;
#[cfg(feature = "object-store")]
pub(crate) mod data_source_registry;
pub(crate) mod dead_letter;
pub(crate) mod generate;
pub(crate) mod quality;
pub(crate) mod run;
#[cfg(feature = "server")]
pub(crate) mod serve;

/// The component registry of pipeline files: the standard one, where `path =` of
/// `kind = "object_store"` sources and stores may also name a data source registered in the
/// data directory (`COLLECTORS_DATA_DIR`, else the platform's), when it has a registry.
pub(crate) async fn pipeline_registry() -> collectors_pipeline::Registry {
    #[allow(unused_mut)]
    let mut registry = collectors_pipeline::Registry::standard();
    #[cfg(feature = "object-store")]
    data_source_registry::attach(&mut registry).await;
    registry
}

//! One command per file.

#[cfg(feature = "object-store")]
pub(crate) mod data_source;
#[cfg(feature = "object-store")]
pub(crate) mod data_source_registry;
pub(crate) mod dead_letter;
pub(crate) mod generate;
pub(crate) mod run;

//! One command per file.

#[cfg(feature = "object-store")]
pub(crate) mod data_source;
pub(crate) mod dead_letter;
pub(crate) mod generate;
pub(crate) mod quality;
pub(crate) mod run;

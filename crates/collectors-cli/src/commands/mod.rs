//! One command per file.

pub(crate) mod dead_letter;
pub(crate) mod generate;
pub(crate) mod run;

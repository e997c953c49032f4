//! Data files: uploaded bytes in the object store, and their records ([`DataFile`]) in the
//! service's database.

mod catalog;
mod name;
mod store;

pub use catalog::{DataFile, FileCatalog, FilePage};
pub use name::checked_file_name;
pub(crate) use store::{discard, object_name, store_stream};

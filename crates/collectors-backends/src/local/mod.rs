//! Files under a local directory, as a listed [`DataSource`](collectors_core::DataSource) and
//! a browsable [`Connector`](collectors_core::Connector): [`LocalDirectorySource`].
//!
//! Files are listed and opened through `object_store`'s `LocalFileSystem`, so the same code
//! paths serve the cloud stores later; content is streamed in bounded chunks, never read whole.

mod builder;
mod connector;
mod error;
mod source;
mod walk;

pub use builder::LocalDirectorySourceBuilder;
pub use source::LocalDirectorySource;

//! Files under a local directory, as an engine [`ItemSource`](collectors_core::ItemSource) and
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

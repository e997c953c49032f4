//! [`ScriptCache`]: compiled scripts kept by the SHA-256 of their text, so a script is
//! compiled once and a changed file is compiled again.

use std::sync::{Arc, Mutex, PoisonError};

use collectors_core::Result;
use rhai::AST;
use sha2::{Digest, Sha256};

/// How many versions of a script stay compiled (a file switched back and forth between
/// two versions is not compiled again).
const VERSIONS: usize = 4;

/// The content hash of a script's text.
pub(crate) type ContentHash = [u8; 32];

/// Compiled versions of one script, the most recently used first.
#[derive(Debug, Default)]
pub(crate) struct ScriptCache {
    versions: Mutex<Vec<(ContentHash, Arc<AST>)>>,
}

impl ScriptCache {
    /// The hash the cache keys `source` by.
    pub(crate) fn hash(source: &str) -> ContentHash {
        Sha256::digest(source.as_bytes()).into()
    }

    /// The compiled `source`: from the cache when this text was compiled before, else
    /// from `compile` (then kept). The lock is not held while compiling.
    pub(crate) fn get_or_compile(
        &self,
        source: &str,
        compile: impl FnOnce(&str) -> Result<AST>,
    ) -> Result<Arc<AST>> {
        let hash = Self::hash(source);
        {
            let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(at) = versions.iter().position(|(h, _)| *h == hash) {
                let entry = versions.remove(at);
                let ast = entry.1.clone();
                versions.insert(0, entry);
                return Ok(ast);
            }
        }
        let ast = Arc::new(compile(source)?);
        tracing::debug!(target: "collectors::script", "compiled a new version of a script");
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        if !versions.iter().any(|(h, _)| *h == hash) {
            versions.insert(0, (hash, ast.clone()));
            versions.truncate(VERSIONS);
        }
        Ok(ast)
    }

    /// How many versions are compiled.
    pub(crate) fn len(&self) -> usize {
        self.versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_compile_per_text() {
        let cache = ScriptCache::default();
        let engine = rhai::Engine::new_raw();
        let mut compiles = 0;
        for source in [
            "fn a() { 1 }",
            "fn a() { 1 }",
            "fn a() { 2 }",
            "fn a() { 1 }",
        ] {
            cache
                .get_or_compile(source, |s| {
                    compiles += 1;
                    Ok(engine.compile(s).expect("compiles"))
                })
                .unwrap();
        }
        assert_eq!(compiles, 2);
        assert_eq!(cache.len(), 2);
    }
}

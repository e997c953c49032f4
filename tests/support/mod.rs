//! Test parts shared by the engine tests.

/// `n` lines `k{i % keys},{i}`.
pub(crate) fn lines(n: usize, keys: usize) -> String {
    (0..n).map(|i| format!("k{},{i}\n", i % keys)).collect()
}

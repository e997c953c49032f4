//! Lock access that outlives a panic elsewhere.
//!
//! A poisoned lock only means another thread panicked while holding it; every structure
//! guarded here stays consistent between statements, so the runtime keeps using it instead
//! of spreading the panic. Shared with the other crates of the workspace (and any host app
//! that wants the same behaviour), so nobody writes their own copy.
//!
//! ```
//! use std::sync::Mutex;
//! use collectors_core::sync::lock;
//!
//! let counter = Mutex::new(0);
//! *lock(&counter) += 1;
//! assert_eq!(*lock(&counter), 1);
//! ```

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, recovering the guard if another thread panicked while holding it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Read-locks `lock`, recovering from poisoning.
pub fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// Write-locks `lock`, recovering from poisoning.
pub fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

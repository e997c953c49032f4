//! The `engine_overhead` bench on mimalloc, for both sides: what a host app that runs
//! several items in flight gets from an allocator that frees across threads without a lock.
//!
//! Run: `cargo bench -p collectors-core --bench engine_overhead_mimalloc -- [records] [runs]`

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "engine_overhead.rs"]
mod engine_overhead;

fn main() {
    engine_overhead::main();
}

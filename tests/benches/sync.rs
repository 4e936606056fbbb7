//! Sync benchmarks (issue 4).
fn main() {}

//! A Rapport engine process for the chaos suite.
fn main() {}

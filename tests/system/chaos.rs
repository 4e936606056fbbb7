//! The chaos suite (issue 4). Filled in by the chaos-suite work.

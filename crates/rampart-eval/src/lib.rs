//! rampart-eval.

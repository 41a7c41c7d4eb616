//! What a change to a stack's template means (pure: no AWS, no I/O).
//!
//! In: the old and new template text of one stack. Out: per resource, what
//! the change means. `iam` gives the IAM grants added and removed.

pub mod iam;

//! Contracts: the rules AWS documents and no linter checks, each with the URL of its page. In: a `ValidPipeline`; out: what its resources need.

pub mod iam;

//! The render phase: a `ValidPipeline` in, `path -> contents` out.
//!
//! Renderers are pure: they write no files and touch no network. `build`
//! writes what they return, and `build --check` compares it with what is
//! committed. Only a `ValidPipeline` can be rendered, so nothing unchecked
//! reaches generated output.

pub mod cfn;
pub mod emit;

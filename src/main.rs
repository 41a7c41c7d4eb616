//! The `pipec` binary: parses the command line and hands over to `cli`.
//!
//! The allocator is mimalloc. With glibc's, a 10,000-stage build spent most
//! of its time in `_int_malloc` (7.7 s of 13 s): rendering frees many
//! medium-sized buffers, and glibc keeps them in size-sorted bins whose
//! insertion walks the bin, so each allocation grew dearer with the pipeline.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pipec::cli::main()
}

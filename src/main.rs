//! The `presswire` binary: parse, run, map errors to exit codes
//! (0 done, 1 failed, 2 bad usage or bad input).

use clap::Parser;

/// mimalloc: glibc's allocator was slow for an import's memory, allocated
/// in one thread and freed in another (measured: docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = presswire::cli::Cli::parse();
    presswire::cli::init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(presswire::cli::run(cli));
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(presswire::exit_code(&err));
    }
}

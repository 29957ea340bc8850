//! `milspecctl`: see `milspecctl --help`.

fn main() {
    // "main": everything but the process's start and exit (MILSPEC_TRACE_PHASES).
    let code = milspec_host::phases::time("main", || {
        milspecctl::cli::run(
            std::env::args_os(),
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        )
    });
    std::process::exit(code);
}

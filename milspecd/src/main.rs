//! `milspecd`: see `milspecd --help`.

fn main() {
    // Unlocked handles: the service logs to stderr from more than one thread
    // (the metrics endpoint), so holding the stderr lock here would block them.
    let code = milspecd::cli::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}

//! `milspecd`: see `milspecd --help`.

fn main() {
    let code = milspecd::cli::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}

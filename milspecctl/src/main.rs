//! `milspecctl`: see `milspecctl --help`.

fn main() {
    let code = milspecctl::cli::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}

//! `completions` and `man`: generated from the clap definitions.

use super::args::Cli;
use milspec_host::exit;
use std::io::Write;

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell, stdout: &mut dyn Write) -> i32 {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "milspecctl", &mut buf);
    let _ = stdout.write_all(&buf);
    exit::OK
}

/// Prints the man page.
pub(crate) fn man(stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut buf = Vec::new();
    // Section 8: milspecctl is an administration command, installed in /usr/sbin.
    match clap_mangen::Man::new(cmd).section("8").render(&mut buf) {
        Ok(()) => {
            let _ = stdout.write_all(&buf);
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(stderr, "milspecctl: {e}");
            exit::FAILURE
        }
    }
}

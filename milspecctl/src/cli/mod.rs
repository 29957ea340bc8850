//! Command line of `milspecctl`: argument parsing (`args`), the commands'
//! rendering (`device_cmds`, `store_cmds`, `attest_cmds`), output and error mapping (`output`)
//! and generated completions and man page (`generate`). `main.rs` only calls
//! [`run`]; the work is done by `milspec_host`.

mod args;
mod attest_cmds;
mod device_cmds;
mod generate;
mod output;
mod store_cmds;

pub use args::{AllowlistAction, AttestAction, AuditAction, Cli, Command, PolicyArgs};

use clap::Parser;
use milspec_host::error::ErrorKind;
use milspec_host::exit;
use milspec_host::paths::ModulePaths;
use milspec_host::store::StoreId;
use std::io::Write;

/// Parses `args`, runs the command, prints its result and returns the exit code.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let json_wanted = args.iter().any(|a| a == "--json");
    let cli = match milspec_host::phases::time("parse", || Cli::try_parse_from(&args)) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as ClapKind;
            if matches!(e.kind(), ClapKind::DisplayHelp | ClapKind::DisplayVersion) {
                let _ = write!(stdout, "{e}");
                return exit::OK;
            }
            if json_wanted {
                let doc = output::error_json(ErrorKind::Usage, e.to_string().trim());
                let _ = writeln!(stdout, "{doc}");
            } else {
                let _ = write!(stderr, "{}", e.render());
            }
            return ErrorKind::Usage.exit_code();
        }
    };
    let paths = ModulePaths::from_env();
    let root = cli.root.as_path();
    let id = |v: &Option<String>| v.as_deref().map(StoreId::from);
    let result = match &cli.command {
        Command::Status => device_cmds::status(&paths, root),
        Command::Load {
            file: Some(file),
            params,
            ..
        } => device_cmds::load(file, params),
        Command::Load {
            file: None,
            version,
            params,
            deployment_id,
        } => store_cmds::deploy(root, id(version).as_ref(), params, deployment_id.as_deref()),
        Command::Rollback {
            to,
            allow_older,
            deployment_id,
        } => store_cmds::rollback(
            root,
            id(to).as_ref(),
            *allow_older,
            deployment_id.as_deref(),
        ),
        Command::Verify => store_cmds::verify(root),
        Command::Preflight { version } => store_cmds::preflight(root, id(version).as_ref()),
        Command::Unload => device_cmds::unload(),
        Command::Level { level: l } => device_cmds::level(&paths, l.as_deref()),
        Command::Events { from, limit } => device_cmds::events(&paths, *from, *limit),
        Command::Tokens => device_cmds::tokens(&paths),
        Command::Allowlist { action } => device_cmds::allowlist(&paths, action),
        Command::Install {
            file: Some(file),
            reinstall,
            no_signature_check,
            ..
        } => store_cmds::install(root, file, *reinstall, !*no_signature_check),
        Command::Install {
            file: None,
            reinstall,
            kernel,
            dkms_version,
            dkms_tree,
            no_signature_check,
            ..
        } => store_cmds::install_from_dkms(
            root,
            dkms_tree.as_deref(),
            kernel.as_deref(),
            dkms_version.as_deref(),
            *reinstall,
            !*no_signature_check,
        ),
        Command::List => store_cmds::list(root, cli.json),
        Command::Remove { version } => store_cmds::remove(root, &StoreId::from(version.as_str())),
        Command::History => store_cmds::history(root),
        Command::Completions { shell } => return generate::completions(*shell, stdout),
        Command::Man => return generate::man(stdout, stderr),
        Command::Audit {
            action: AuditAction::Verify,
        } => store_cmds::audit_verify(root),
        Command::Attest {
            action: None,
            policy,
            quote,
            nonce,
            out,
        } => attest_cmds::attest(policy, *quote, nonce.as_deref(), out.as_deref()),
        Command::Attest {
            action: Some(action),
            ..
        } => attest_cmds::action(action),
    };
    milspec_host::phases::time("render", || output::emit(result, cli.json, stdout, stderr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn run_capture(args: &[&str]) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            std::iter::once("milspecctl").chain(args.iter().copied()),
            &mut out,
            &mut err,
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn usage_error_exits_64_and_json_stays_on_stdout() {
        let (code, out, err) = run_capture(&["frobnicate"]);
        assert_eq!(code, exit::USAGE);
        assert!(out.is_empty() && err.contains("frobnicate"));
        let (code, out, err) = run_capture(&["--json", "frobnicate"]);
        assert_eq!(code, exit::USAGE);
        assert!(err.is_empty());
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["kind"], "usage");
    }

    #[test]
    fn completions_and_man_page_are_generated() {
        let (code, out, _) = run_capture(&["completions", "bash"]);
        assert_eq!(code, 0);
        assert!(out.contains("milspecctl") && out.contains("rollback"));
        let (code, out, _) = run_capture(&["man"]);
        assert_eq!(code, 0);
        assert!(
            out.contains(".TH milspecctl 8 ") && out.contains("preflight"),
            "{out}"
        );
        let (code, _, _) = run_capture(&["completions", "tcsh"]);
        assert_eq!(code, exit::USAGE);
    }

    #[test]
    fn help_mentions_exit_codes() {
        let (code, out, _) = run_capture(&["--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Exit codes") && out.contains("64"));
    }

    #[test]
    fn bad_deployment_id_is_a_usage_error_before_touching_anything() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_str().unwrap();
        for cmd in [&["load", "1.0.0"][..], &["rollback"][..]] {
            let mut args = vec!["--json", "--root", r];
            args.extend_from_slice(cmd);
            args.extend_from_slice(&["--deployment-id", "no spaces please"]);
            let (code, out, _) = run_capture(&args);
            assert_eq!(code, exit::USAGE, "{out}");
            let v: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["error"]["kind"], "usage");
            assert!(v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("deployment id"));
        }
        assert!(!root.path().join("var").exists(), "nothing was opened");
        let (code, _, _) = run_capture(&["load", "--file", "/x.ko", "--deployment-id", "a"]);
        assert_eq!(
            code,
            exit::USAGE,
            "--deployment-id is for store deployments"
        );
    }

    #[test]
    fn bad_param_is_a_usage_error_before_touching_the_kernel() {
        let (code, out, _) = run_capture(&["--json", "load", "--file", "/x.ko", "--param", "oops"]);
        assert_eq!(code, exit::USAGE, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["kind"], "usage");
    }
}

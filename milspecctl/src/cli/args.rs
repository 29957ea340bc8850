//! The command line's definition (clap derive): every flag, argument and help
//! text of `milspecctl`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes:
  0   done
  1   failed
  2   nothing to do (e.g. unload when not loaded, level already set)
  3   module not loaded
  4   the module's status file and ioctl disagree, or its ABI is not this tool's
  5   verification failed (audit log tampered, store file corrupt, verify)
  6   refused before touching anything (preflight failed, module pinned)
  7   the new version failed and the previous one was loaded again (rolled back)
  20  attest: no IMA log or TPM to attest with, or tpm2-tools/openssl missing
  21  attest: the IMA log was edited (an entry does not match its digest)
  22  attest: the log does not replay to PCR 10, or the PCR values are not the quoted ones
  23  attest: the quote was made for another nonce (replayed)
  24  attest: the quote's attestation key is not the trusted one
  25  attest: the quote's signature does not verify
  26  attest: the posture violates the policy
  64  usage error
  75  the store is busy: another command held it for more than 30 s (try again)

With --json, stdout carries exactly one JSON document (errors too, as
{\"error\": {\"kind\": ..., \"message\": ...}}) and nothing is printed on stderr.

Environment: MILSPEC_ROOT (as --root); MILSPEC_PROC_STATUS and MILSPEC_DEVICE
override /proc/milspec/status and /dev/milspec, MILSPEC_IMA_LOG and
MILSPEC_TPM_SYSFS IMA's binary log and /sys/class/tpm/tpm0 (for tests).";

/// Manage the dell_milspec kernel module.
#[derive(Debug, Parser)]
#[command(name = "milspecctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Root for the module store and the audit log (<DIR>/var/lib/milspec,
    /// <DIR>/var/log/milspec); also MILSPEC_ROOT. Default: /.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "MILSPEC_ROOT",
        default_value = "/"
    )]
    pub root: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the module's status, read from /proc/milspec/status and the GET_INFO
    /// ioctl, and what milspecctl deployed (the store id, from the store's state).
    Status,
    /// Load a version from the store as a transaction: preflight, checkpoint,
    /// unload the current module, load, verify, commit. If loading or verifying
    /// fails, the previous version is loaded again (exit 7).
    ///
    /// With --file, load that .ko directly instead (no store, no transaction).
    Load {
        /// Version to load (default: the newest installed).
        version: Option<String>,
        /// Load this .ko file directly, outside the store.
        #[arg(long, value_name = "PATH", conflicts_with = "version")]
        file: Option<PathBuf>,
        /// Module parameter, repeatable (e.g. --param force=1).
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Name the deployment ID (in the audit log and state) instead of a
        /// generated id, e.g. a fleet rollout's id so host and fleet records link.
        #[arg(long, value_name = "ID", conflicts_with = "file")]
        deployment_id: Option<String>,
    },
    /// Load the previous deployment again (or --to VERSION), as a transaction.
    Rollback {
        /// Version to go to instead of the previous one.
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Allow --to a version older than the current one.
        #[arg(long)]
        allow_older: bool,
        /// Name the deployment ID instead of a generated id (as for load).
        #[arg(long, value_name = "ID")]
        deployment_id: Option<String>,
    },
    /// Check the deployed version: file hash, vermagic, signature, srcversion,
    /// status ABI, GET_INFO, kernel taint, audit log. Exit 5 if a mandatory check
    /// fails.
    Verify,
    /// Check whether a version (default: newest installed) can be loaded here.
    /// Exit 6 if a mandatory check fails.
    Preflight { version: Option<String> },
    /// Unload the module (delete_module, non-blocking like rmmod).
    Unload,
    /// Show the security level, or set it (needs CAP_SYS_ADMIN).
    ///
    /// Levels: disabled (0), standard (1), enhanced (2), paranoid (3),
    /// paranoid_plus (4). From paranoid up the level cannot be lowered until
    /// reboot, the module cannot be unloaded, and the allowlist is enforced.
    Level {
        /// New level (name or number); omit to show the current one.
        level: Option<String>,
    },
    /// List events from the module's event log (GET_EVENTS).
    Events {
        /// First sequence number to show (default: the oldest still held).
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// At most this many events.
        #[arg(long, default_value_t = 256)]
        limit: u32,
    },
    /// List the Dell SMBIOS tokens (needs CAP_SYS_ADMIN).
    Tokens,
    /// Install a module file into the versioned store (checks that it is an x86_64
    /// ELF kernel module named dell_milspec and reads its .modinfo).
    ///
    /// With --from-dkms, install the module DKMS built for a kernel instead: it is
    /// stored as <version>+<kernel release>, so the builds for several kernels
    /// (and several versions) coexist and rollback works across DKMS rebuilds.
    Install {
        /// The .ko file.
        #[arg(required_unless_present = "from_dkms", conflicts_with = "from_dkms")]
        file: Option<PathBuf>,
        /// Replace a version that is already installed.
        #[arg(long)]
        reinstall: bool,
        /// Store it even if the running kernel enforces module signatures and
        /// refuses this one (e.g. signed with a MOK enrolled at the next boot);
        /// load still refuses it while the kernel does.
        #[arg(long)]
        no_signature_check: bool,
        /// Take the module from the DKMS tree (package "milspec").
        #[arg(long)]
        from_dkms: bool,
        /// Kernel release of the DKMS build (default: the running kernel).
        #[arg(long, value_name = "RELEASE", conflicts_with = "file")]
        kernel: Option<String>,
        /// DKMS package version (default: the newest built for that kernel).
        #[arg(long, value_name = "VERSION", conflicts_with = "file")]
        dkms_version: Option<String>,
        /// DKMS tree (default: <root>/var/lib/dkms).
        #[arg(long, value_name = "DIR", conflicts_with = "file")]
        dkms_tree: Option<PathBuf>,
    },
    /// List the versions in the store.
    List,
    /// Remove a version from the store.
    Remove {
        /// The version to remove.
        version: String,
    },
    /// Show the audit log: every action milspecctl took.
    History,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff, section 8), generated from this help.
    Man,
    /// Check the audit log's hash chain.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Set or clear the module-load allowlist (needs CAP_SYS_ADMIN; only before the
    /// level is locked).
    Allowlist {
        #[command(subcommand)]
        action: AllowlistAction,
    },
    /// Measured posture: replay IMA's log against the TPM's PCR 10 (SHA-1 and
    /// SHA-256 banks), show the posture history the module measured since boot and
    /// check it against a policy (exit 26 on a violation). With --quote, also make
    /// a quote + log bundle for `attest verify` on another machine.
    #[command(args_conflicts_with_subcommands = true)]
    Attest {
        #[command(subcommand)]
        action: Option<AttestAction>,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Make a TPM quote over PCR 10 (needs tpm2-tools and root) and write the
        /// bundle to --out.
        #[arg(long, requires_all = ["nonce", "out"])]
        quote: bool,
        /// The verifier's nonce, hex (at most 32 bytes).
        #[arg(long, value_name = "HEX")]
        nonce: Option<String>,
        /// Where --quote writes the bundle (JSON).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// What the posture must be (see docs/attestation.md).
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// The current level must be at least this one.
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<String>,
    /// An accepted allowlist as the posture writes it, <entries>:<sha256>
    /// (repeatable; see `attest allowlist-digest`).
    #[arg(long = "allowlist", value_name = "N:SHA256")]
    pub allowlists: Vec<String>,
    /// An accepted module version (repeatable; every entry must have one).
    #[arg(long = "module-version", value_name = "VERSION")]
    pub module_versions: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum AttestAction {
    /// Verify a bundle offline: the attestation key is --ak, the signature
    /// verifies (openssl), the quote is for --nonce, the PCR values are the quoted
    /// ones, the log replays to them, and the posture satisfies the policy.
    Verify {
        /// The bundle `attest --quote` wrote.
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// The trusted attestation key's public part (PEM).
        #[arg(long, value_name = "PEM")]
        ak: PathBuf,
        /// The nonce this verifier sent, hex.
        #[arg(long, value_name = "HEX")]
        nonce: String,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print a Keylime runtime-policy fragment (its `ima-buf` section) listing the
    /// digest of every posture entry the policy accepts.
    KeylimePolicy {
        #[command(flatten)]
        policy: PolicyArgs,
        /// List entries with sequence numbers below this.
        #[arg(long, default_value_t = 64)]
        max_seq: u64,
    },
    /// Print the `<entries>:<sha256>` the posture records for this allowlist.
    AllowlistDigest { names: Vec<String> },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify that no line was edited, removed or reordered.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum AllowlistAction {
    /// Replace the list with these module names.
    Set {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Empty the list (no enforcement).
    Clear,
}

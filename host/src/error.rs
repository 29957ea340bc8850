//! Typed failures of the host operations: an [`ErrorKind`] that names the
//! failure class (its stable JSON `error.kind` string and its exit code, both
//! interfaces of `milspecctl`) and [`Error`], a kind plus the message to show.
//!
//! The lower layers keep their own `thiserror` enums (`StoreError`, `KmodError`,
//! ...); the `From` impls here are the one place that classifies them.

use crate::attest::AttestError;
use crate::audit::AuditError;
use crate::device::DeviceError;
use crate::dkms::DkmsError;
use crate::exit;
use crate::kmod::KmodError;
use crate::snapshot::SnapshotError;
use crate::store::StoreError;
use crate::txn::TxnError;
use std::fmt;

/// A failure class. [`ErrorKind::as_str`] and [`ErrorKind::exit_code`] are
/// interfaces (JSON `error.kind` and the process exit code): never change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad command line or argument (`usage`, 64).
    Usage,
    /// The kernel rejected an argument with EINVAL (`invalid_argument`, 64).
    InvalidArgument,
    /// A file could not be read or written (`io`, 1).
    Io,
    /// `/proc/milspec/status` does not parse (`status_parse`, 1).
    StatusParse,
    /// The module is not loaded: no `/dev/milspec` (`not_loaded`, 3).
    NotLoaded,
    /// The status file exists but the device cannot be opened (`not_loaded`, 1:
    /// a failure, not the plain "not loaded" state).
    DeviceUnavailable,
    /// Any other device failure (`device`, 1).
    Device,
    /// `finit_module`/`delete_module` failed (`kernel_refused`, 1).
    KernelRefused,
    /// An ioctl failed with EPERM (`permission_denied`, 1).
    PermissionDenied,
    /// An ioctl failed with EBUSY: the level is locked (`locked`, 1).
    Locked,
    /// The file is not a usable dell_milspec module (`invalid_module`, 1).
    InvalidModule,
    /// The store entry exists already (`already_installed`, 2).
    AlreadyInstalled,
    /// No such store entry (`not_installed`, 1).
    NotInstalled,
    /// A stored file or the store's state is corrupt (`store_corrupt`, 5).
    StoreCorrupt,
    /// Another process held the store for longer than the wait (`store_busy`, 75).
    StoreBusy,
    /// The audit log is tampered with or unwritable (`audit`, 5).
    Audit,
    /// DKMS has not built the module asked for (`dkms_not_built`, 1).
    DkmsNotBuilt,
    /// Refused before touching anything (`refused`, 6).
    Refused,
    /// A deployment failed beyond automatic repair (`load_failed`, 1).
    LoadFailed,
    /// The kernel enforces module signatures and refuses (or certainly would
    /// refuse) this module's: unsigned, unknown key, or a signature that does not
    /// verify. Nothing was unloaded (`signature_rejected`, 6).
    SignatureRejected,
    /// No IMA log or TPM to attest with, or a tool missing (`attest_unavailable`, 20).
    AttestUnavailable,
    /// The IMA log was edited (`attest_log_tampered`, 21).
    AttestLogTampered,
    /// Log replay, PCR values and quote disagree (`attest_pcr_mismatch`, 22).
    AttestPcrMismatch,
    /// The quote was made for another nonce (`attest_nonce`, 23).
    AttestNonce,
    /// The quote's attestation key is not the trusted one (`attest_unknown_ak`, 24).
    AttestUnknownAk,
    /// The quote's signature does not verify (`attest_signature`, 25).
    AttestSignature,
    /// The posture violates the attestation policy (`attest_policy`, 26).
    AttestPolicy,
}

impl ErrorKind {
    /// Every kind, for tests and documentation.
    pub const ALL: [ErrorKind; 27] = [
        ErrorKind::Usage,
        ErrorKind::InvalidArgument,
        ErrorKind::Io,
        ErrorKind::StatusParse,
        ErrorKind::NotLoaded,
        ErrorKind::DeviceUnavailable,
        ErrorKind::Device,
        ErrorKind::KernelRefused,
        ErrorKind::PermissionDenied,
        ErrorKind::Locked,
        ErrorKind::InvalidModule,
        ErrorKind::AlreadyInstalled,
        ErrorKind::NotInstalled,
        ErrorKind::StoreCorrupt,
        ErrorKind::StoreBusy,
        ErrorKind::Audit,
        ErrorKind::DkmsNotBuilt,
        ErrorKind::Refused,
        ErrorKind::LoadFailed,
        ErrorKind::SignatureRejected,
        ErrorKind::AttestUnavailable,
        ErrorKind::AttestLogTampered,
        ErrorKind::AttestPcrMismatch,
        ErrorKind::AttestNonce,
        ErrorKind::AttestUnknownAk,
        ErrorKind::AttestSignature,
        ErrorKind::AttestPolicy,
    ];

    /// The JSON `error.kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Usage => "usage",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Io => "io",
            ErrorKind::StatusParse => "status_parse",
            ErrorKind::NotLoaded | ErrorKind::DeviceUnavailable => "not_loaded",
            ErrorKind::Device => "device",
            ErrorKind::KernelRefused => "kernel_refused",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Locked => "locked",
            ErrorKind::InvalidModule => "invalid_module",
            ErrorKind::AlreadyInstalled => "already_installed",
            ErrorKind::NotInstalled => "not_installed",
            ErrorKind::StoreCorrupt => "store_corrupt",
            ErrorKind::StoreBusy => "store_busy",
            ErrorKind::Audit => "audit",
            ErrorKind::DkmsNotBuilt => "dkms_not_built",
            ErrorKind::Refused => "refused",
            ErrorKind::LoadFailed => "load_failed",
            ErrorKind::SignatureRejected => "signature_rejected",
            ErrorKind::AttestUnavailable => "attest_unavailable",
            ErrorKind::AttestLogTampered => "attest_log_tampered",
            ErrorKind::AttestPcrMismatch => "attest_pcr_mismatch",
            ErrorKind::AttestNonce => "attest_nonce",
            ErrorKind::AttestUnknownAk => "attest_unknown_ak",
            ErrorKind::AttestSignature => "attest_signature",
            ErrorKind::AttestPolicy => "attest_policy",
        }
    }

    /// The process exit code (see [`crate::exit`]).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage | ErrorKind::InvalidArgument => exit::USAGE,
            ErrorKind::NotLoaded => exit::NOT_LOADED,
            ErrorKind::AlreadyInstalled => exit::NOTHING_TO_DO,
            ErrorKind::StoreBusy => exit::BUSY,
            ErrorKind::StoreCorrupt | ErrorKind::Audit => exit::VERIFY_FAILED,
            ErrorKind::Refused | ErrorKind::SignatureRejected => exit::REFUSED,
            ErrorKind::AttestUnavailable => exit::ATTEST_UNAVAILABLE,
            ErrorKind::AttestLogTampered => exit::ATTEST_LOG_TAMPERED,
            ErrorKind::AttestPcrMismatch => exit::ATTEST_PCR_MISMATCH,
            ErrorKind::AttestNonce => exit::ATTEST_NONCE,
            ErrorKind::AttestUnknownAk => exit::ATTEST_UNKNOWN_AK,
            ErrorKind::AttestSignature => exit::ATTEST_SIGNATURE,
            ErrorKind::AttestPolicy => exit::ATTEST_POLICY,
            ErrorKind::Io
            | ErrorKind::StatusParse
            | ErrorKind::DeviceUnavailable
            | ErrorKind::Device
            | ErrorKind::KernelRefused
            | ErrorKind::PermissionDenied
            | ErrorKind::Locked
            | ErrorKind::InvalidModule
            | ErrorKind::NotInstalled
            | ErrorKind::DkmsNotBuilt
            | ErrorKind::LoadFailed => exit::FAILURE,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed operation: its class and the message for people (the whole cause
/// chain, see [`error_chain`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// `kind`, with `e`'s cause chain as the message.
    pub fn from_source(kind: ErrorKind, e: &dyn std::error::Error) -> Self {
        Error::new(kind, error_chain(e))
    }

    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

/// `e` and its sources joined with `: `, skipping a source whose text is already
/// in the message.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg.push_str(": ");
            msg.push_str(&part);
        }
        src = s.source();
    }
    msg
}

impl From<SnapshotError> for Error {
    fn from(e: SnapshotError) -> Self {
        let kind = match e {
            SnapshotError::Read { .. } => ErrorKind::Io,
            SnapshotError::Parse { .. } => ErrorKind::StatusParse,
            SnapshotError::Device(DeviceError::Open { .. }) => ErrorKind::DeviceUnavailable,
            SnapshotError::Device(_) => ErrorKind::Device,
        };
        Error::from_source(kind, &e)
    }
}

impl From<KmodError> for Error {
    fn from(e: KmodError) -> Self {
        let kind = match e {
            KmodError::Open { .. } => ErrorKind::Io,
            KmodError::BadParam(_) => ErrorKind::Usage,
            KmodError::Load { .. } | KmodError::Unload { .. } => ErrorKind::KernelRefused,
        };
        Error::from_source(kind, &e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        let kind = match &e {
            StoreError::NotAModule { .. }
            | StoreError::WrongModule { .. }
            | StoreError::NoVersion { .. } => ErrorKind::InvalidModule,
            StoreError::AlreadyInstalled(_) => ErrorKind::AlreadyInstalled,
            StoreError::NotInstalled(_) => ErrorKind::NotInstalled,
            StoreError::Corrupt { .. } => ErrorKind::StoreCorrupt,
            StoreError::Busy { .. } => ErrorKind::StoreBusy,
            StoreError::Io { .. } | StoreError::Injected(_) => ErrorKind::Io,
        };
        Error::from_source(kind, &e)
    }
}

impl From<AuditError> for Error {
    fn from(e: AuditError) -> Self {
        Error::from_source(ErrorKind::Audit, &e)
    }
}

impl From<DkmsError> for Error {
    fn from(e: DkmsError) -> Self {
        let kind = match e {
            DkmsError::Io { .. } => ErrorKind::Io,
            DkmsError::Compressed { .. } => ErrorKind::InvalidModule,
            _ => ErrorKind::DkmsNotBuilt,
        };
        Error::from_source(kind, &e)
    }
}

impl From<TxnError> for Error {
    fn from(e: TxnError) -> Self {
        match e {
            TxnError::Store(s) => Error::from(s),
            TxnError::Refused(m) => Error::new(ErrorKind::Refused, m),
            TxnError::SignatureRejected(m) => Error::new(ErrorKind::SignatureRejected, m),
            TxnError::Failed(m) => Error::new(ErrorKind::LoadFailed, m),
        }
    }
}

impl From<AttestError> for Error {
    fn from(e: AttestError) -> Self {
        let kind = match &e {
            AttestError::Unavailable(_) => ErrorKind::AttestUnavailable,
            AttestError::Io { .. } => ErrorKind::Io,
            AttestError::LogTampered(_) => ErrorKind::AttestLogTampered,
            AttestError::PcrMismatch(_) => ErrorKind::AttestPcrMismatch,
            AttestError::Nonce { .. } => ErrorKind::AttestNonce,
            AttestError::UnknownAk(_) => ErrorKind::AttestUnknownAk,
            AttestError::Signature(_) => ErrorKind::AttestSignature,
            AttestError::Policy(_) => ErrorKind::AttestPolicy,
            AttestError::Invalid(_) => ErrorKind::Usage,
        };
        Error::from_source(kind, &e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings and exit codes are interfaces: this pins every one.
    #[test]
    fn kinds_keep_their_strings_and_exit_codes() {
        let expected: [(ErrorKind, &str, i32); 27] = [
            (ErrorKind::Usage, "usage", 64),
            (ErrorKind::InvalidArgument, "invalid_argument", 64),
            (ErrorKind::Io, "io", 1),
            (ErrorKind::StatusParse, "status_parse", 1),
            (ErrorKind::NotLoaded, "not_loaded", 3),
            (ErrorKind::DeviceUnavailable, "not_loaded", 1),
            (ErrorKind::Device, "device", 1),
            (ErrorKind::KernelRefused, "kernel_refused", 1),
            (ErrorKind::PermissionDenied, "permission_denied", 1),
            (ErrorKind::Locked, "locked", 1),
            (ErrorKind::InvalidModule, "invalid_module", 1),
            (ErrorKind::AlreadyInstalled, "already_installed", 2),
            (ErrorKind::NotInstalled, "not_installed", 1),
            (ErrorKind::StoreCorrupt, "store_corrupt", 5),
            (ErrorKind::StoreBusy, "store_busy", 75),
            (ErrorKind::Audit, "audit", 5),
            (ErrorKind::DkmsNotBuilt, "dkms_not_built", 1),
            (ErrorKind::Refused, "refused", 6),
            (ErrorKind::LoadFailed, "load_failed", 1),
            (ErrorKind::SignatureRejected, "signature_rejected", 6),
            (ErrorKind::AttestUnavailable, "attest_unavailable", 20),
            (ErrorKind::AttestLogTampered, "attest_log_tampered", 21),
            (ErrorKind::AttestPcrMismatch, "attest_pcr_mismatch", 22),
            (ErrorKind::AttestNonce, "attest_nonce", 23),
            (ErrorKind::AttestUnknownAk, "attest_unknown_ak", 24),
            (ErrorKind::AttestSignature, "attest_signature", 25),
            (ErrorKind::AttestPolicy, "attest_policy", 26),
        ];
        for (kind, s, code) in expected {
            assert_eq!((kind.as_str(), kind.exit_code()), (s, code), "{kind:?}");
        }
        assert_eq!(
            expected.map(|e| e.0),
            ErrorKind::ALL,
            "every kind is pinned"
        );
    }

    #[test]
    fn lower_errors_are_classified() {
        let e = Error::from(KmodError::BadParam("x".into()));
        assert_eq!((e.kind, e.exit_code()), (ErrorKind::Usage, 64));
        let e = Error::from(TxnError::Refused("no".into()));
        assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Refused, "no"));
        let e = Error::from(StoreError::AlreadyInstalled("1.0.0".into()));
        assert_eq!(e.exit_code(), exit::NOTHING_TO_DO);
        assert!(e.message.contains("1.0.0 is already installed"));
    }
}

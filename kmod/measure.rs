// SPDX-License-Identifier: GPL-2.0

//! Measured posture: the module hands its posture (version, ABI, level, lock,
//! allowlist digest) to IMA as critical data at load and on every level or
//! allowlist change, so that a TPM quote over PCR 10 proves it remotely. Buffer
//! format in `abi/src/uapi/posture.rs`, design in `docs/attestation.md`.
//!
//! Called with the state mutex held, so the order of the entries in IMA's log is
//! the order of the changes.

use crate::abi::{MeasureReason, Posture, PostureBuf};
use crate::ffi;
use core::ffi::CStr;
use kernel::prelude::*;

/// IMA's policy label and event name, as C strings.
const LABEL: &CStr = crate::abi::IMA_LABEL_C;
const EVENT_NAME: &CStr = crate::abi::IMA_EVENT_NAME_C;

/// How many `seq` values to try when IMA already holds the exact entry (an earlier
/// load of the module in this boot measured the same posture with the same `seq`).
const DUPLICATE_RETRIES: u64 = 1024;

/// Outcome of the last measurement, as the status file's `tpm_measurement` shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum MeasureState {
    /// Nothing measured yet (init has not reached its load entry).
    Pending,
    /// IMA logged the entry and extended PCR 10 in every bank of the TPM.
    Measured,
    /// The kernel has no IMA.
    NoIma,
    /// IMA logged the entry, but there is no TPM (IMA's TPM-bypass mode).
    NoTpm,
    /// IMA's policy has no `measure func=CRITICAL_DATA label=milspec` rule.
    NoPolicy,
    /// IMA failed to log the entry (see the kernel log's integrity audit message).
    Failed,
}

impl MeasureState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MeasureState::Pending => "pending",
            MeasureState::Measured => "measured",
            MeasureState::NoIma => "no-ima",
            MeasureState::NoTpm => "no-tpm",
            MeasureState::NoPolicy => "no-policy",
            MeasureState::Failed => "failed",
        }
    }

    /// `feature_tpm_measurement`: `real` when entries reach a TPM through IMA.
    pub(crate) fn feature(self) -> &'static str {
        match self {
            MeasureState::Measured | MeasureState::Failed => "real",
            MeasureState::Pending
            | MeasureState::NoIma
            | MeasureState::NoTpm
            | MeasureState::NoPolicy => "unsupported",
        }
    }
}

/// Measurement bookkeeping, behind the state mutex.
pub(crate) struct Measurements {
    tpm: bool,
    active: bool,
    next_seq: u64,
    last_seq: Option<u64>,
    failures: u64,
    state: MeasureState,
}

impl Measurements {
    /// Looks for the TPM once: IMA binds to its chip at boot and never later.
    pub(crate) fn new() -> Self {
        Measurements {
            tpm: ffi::tpm_present(),
            active: false,
            next_seq: 0,
            last_seq: None,
            failures: 0,
            state: MeasureState::Pending,
        }
    }

    /// Whether the load entry was made (changes during init are part of it).
    pub(crate) fn active(&self) -> bool {
        self.active
    }

    pub(crate) fn state(&self) -> MeasureState {
        self.state
    }

    /// `seq` of the last entry IMA logged.
    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Entries IMA did not log (no policy rule, or an error) while it was present.
    pub(crate) fn failures(&self) -> u64 {
        self.failures
    }

    /// Measures `posture` (its `seq` is assigned here). Never fails the caller: the
    /// outcome shows in the status file and, for errors, the kernel log.
    pub(crate) fn record(&mut self, reason: MeasureReason, mut posture: Posture<'static>) {
        if reason == MeasureReason::Load {
            self.active = true;
        }
        if !ffi::IMA_BUILT {
            self.state = MeasureState::NoIma;
            return;
        }
        let mut result = Err(EEXIST);
        for _ in 0..DUPLICATE_RETRIES {
            posture.seq = self.next_seq;
            self.next_seq += 1;
            let mut buf = PostureBuf::new();
            if posture.encode(&mut buf).is_err() {
                result = Err(ENOSPC);
                break;
            }
            result = ffi::ima_measure(LABEL, EVENT_NAME, buf.as_bytes());
            if result != Err(EEXIST) {
                break;
            }
        }
        match result {
            Ok(()) => {
                self.last_seq = Some(posture.seq);
                self.state = if self.tpm {
                    MeasureState::Measured
                } else {
                    MeasureState::NoTpm
                };
            }
            Err(e) => {
                self.failures += 1;
                let first = self.state != MeasureState::NoPolicy;
                self.state = if e == ENOENT {
                    MeasureState::NoPolicy
                } else {
                    MeasureState::Failed
                };
                if e != ENOENT {
                    pr_warn!(
                        "posture entry {} ({}) not measured: error {}\n",
                        posture.seq,
                        reason.as_str(),
                        e.to_errno()
                    );
                } else if first {
                    pr_info!("IMA policy does not measure label milspec: posture not measured\n");
                }
            }
        }
    }
}

//! Parser for `/proc/milspec/status` (format: `docs/status.md`).

use milspec_abi::{status_keys as keys, PlatformState, SecurityLevel};
use serde::Serialize;
use std::collections::BTreeMap;

/// Why a status text was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// A line is not `key: value`.
    #[error("line {line}: expected 'key: value', got {text:?}")]
    Malformed { line: usize, text: String },
    /// The same key twice.
    #[error("line {line}: duplicate key {key:?}")]
    Duplicate { line: usize, key: String },
    /// A key the ABI requires is absent.
    #[error("missing key {0:?}")]
    Missing(&'static str),
    /// A key's value does not parse.
    #[error("key {key:?}: invalid value {value:?}")]
    InvalidValue { key: &'static str, value: String },
}

/// The parsed status file: the typed keys this tool relies on, plus every line as is
/// (newer modules may add keys; they are kept, not rejected).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcStatus {
    pub abi_version: u32,
    pub module_version: String,
    pub platform_vendor: String,
    pub platform_product: String,
    pub bios_version: String,
    pub platform_state: PlatformStateName,
    /// `security_level` as a number (the file says `name (number)`).
    pub security_level: u32,
    pub security_level_locked: bool,
    pub events_total: u64,
    pub events_lost: u64,
    pub tokens: u32,
    /// All keys in the file, including the ones above.
    pub fields: BTreeMap<String, String>,
}

/// The measured posture's state (`tpm_measurement*` keys, see
/// `docs/attestation.md`); absent from modules older than these keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Measurement {
    /// `measured`, `no-tpm`, `no-policy`, `no-ima`, `failed` or `pending`.
    pub state: String,
    /// `seq` of the last entry IMA logged.
    pub last_seq: Option<u64>,
    /// Entries IMA did not log since load.
    pub failures: u64,
}

impl ProcStatus {
    /// The measurement keys, when the module prints them.
    pub fn measurement(&self) -> Option<Measurement> {
        let state = self.fields.get(keys::TPM_MEASUREMENT)?.clone();
        let last_seq = self
            .fields
            .get(keys::TPM_MEASUREMENT_SEQ)
            .and_then(|v| v.parse().ok());
        let failures = self
            .fields
            .get(keys::TPM_MEASUREMENT_FAILURES)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Some(Measurement {
            state,
            last_seq,
            failures,
        })
    }
}

/// [`PlatformState`] with a serde representation (its status-file word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformStateName(pub PlatformState);

impl Serialize for PlatformStateName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl ProcStatus {
    /// Parses the whole file.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut fields = BTreeMap::new();
        for (idx, raw) in text.lines().enumerate() {
            let line = idx + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let Some((key, value)) = raw.split_once(": ").or_else(|| {
                raw.strip_suffix(':').map(|k| (k, "")) // a key with an empty value
            }) else {
                return Err(ParseError::Malformed {
                    line,
                    text: raw.to_owned(),
                });
            };
            if key.is_empty()
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(ParseError::Malformed {
                    line,
                    text: raw.to_owned(),
                });
            }
            if fields.insert(key.to_owned(), value.to_owned()).is_some() {
                return Err(ParseError::Duplicate {
                    line,
                    key: key.to_owned(),
                });
            }
        }
        let get = |k: &'static str| fields.get(k).cloned().ok_or(ParseError::Missing(k));
        let abi_raw = get(keys::ABI_VERSION)?;
        let abi_version = abi_raw.parse().map_err(|_| ParseError::InvalidValue {
            key: keys::ABI_VERSION,
            value: abi_raw.clone(),
        })?;
        let state_raw = get(keys::PLATFORM_STATE)?;
        let platform_state =
            PlatformState::parse(&state_raw).ok_or_else(|| ParseError::InvalidValue {
                key: keys::PLATFORM_STATE,
                value: state_raw.clone(),
            })?;
        let number = |k: &'static str| -> Result<u64, ParseError> {
            let raw = get(k)?;
            raw.parse()
                .map_err(|_| ParseError::InvalidValue { key: k, value: raw })
        };
        let yes_no = |k: &'static str| -> Result<bool, ParseError> {
            match get(k)?.as_str() {
                "yes" => Ok(true),
                "no" => Ok(false),
                other => Err(ParseError::InvalidValue {
                    key: k,
                    value: other.to_owned(),
                }),
            }
        };
        let level_raw = get(keys::SECURITY_LEVEL)?;
        let security_level = parse_level(&level_raw).ok_or(ParseError::InvalidValue {
            key: keys::SECURITY_LEVEL,
            value: level_raw.clone(),
        })?;
        let tokens = number(keys::TOKENS)?;
        Ok(ProcStatus {
            security_level: security_level as u32,
            security_level_locked: yes_no(keys::SECURITY_LEVEL_LOCKED)?,
            events_total: number(keys::EVENTS_TOTAL)?,
            events_lost: number(keys::EVENTS_LOST)?,
            tokens: u32::try_from(tokens).map_err(|_| ParseError::InvalidValue {
                key: keys::TOKENS,
                value: tokens.to_string(),
            })?,
            abi_version,
            module_version: get(keys::MODULE_VERSION)?,
            platform_vendor: get(keys::PLATFORM_VENDOR)?,
            platform_product: get(keys::PLATFORM_PRODUCT)?,
            bios_version: get(keys::BIOS_VERSION)?,
            platform_state: PlatformStateName(platform_state),
            fields,
        })
    }
}

/// Whether a status text says the module is pinned (`module_pinned: yes`): it
/// cannot be unloaded until reboot. Looks at that line alone, so a status file
/// this tool cannot fully parse still counts.
pub fn module_pinned(text: &str) -> bool {
    text.lines().any(|l| {
        l.trim()
            .strip_prefix(keys::MODULE_PINNED)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|v| v.trim() == "yes")
    })
}

/// Parses `name (number)`; both parts must agree.
fn parse_level(raw: &str) -> Option<SecurityLevel> {
    let (name, rest) = raw.split_once(" (")?;
    let number: u32 = rest.strip_suffix(')')?.parse().ok()?;
    let level = SecurityLevel::parse(name)?;
    (level as u32 == number).then_some(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "abi_version: 1\nmodule_version: 0.1.0\nplatform_vendor: Dell Inc.\n\
platform_product: Latitude 5450\nbios_version: 1.2.3\nplatform_state: supported\n\
security_level: paranoid (3)\nsecurity_level_locked: yes\nevents_total: 12\nevents_lost: 0\n\
tokens: 5\n";

    #[test]
    fn pinned_is_read_from_its_line() {
        assert!(!module_pinned(GOOD));
        assert!(module_pinned(&format!("{GOOD}module_pinned: yes\n")));
        assert!(!module_pinned(&format!("{GOOD}module_pinned: no\n")));
        assert!(module_pinned("garbage\nmodule_pinned: yes\n"));
        assert!(!module_pinned("module_pinned_x: yes\n"));
    }

    #[test]
    fn parses_a_good_file() {
        let s = ProcStatus::parse(GOOD).unwrap();
        assert_eq!(s.abi_version, 1);
        assert_eq!(s.platform_vendor, "Dell Inc.");
        assert_eq!(s.platform_product, "Latitude 5450");
        assert_eq!(s.platform_state.0, PlatformState::Supported);
        assert_eq!(s.security_level, 3);
        assert!(s.security_level_locked);
        assert_eq!((s.events_total, s.events_lost, s.tokens), (12, 0, 5));
        assert_eq!(s.fields.len(), 11);
    }

    #[test]
    fn keeps_unknown_keys_and_empty_values() {
        let s = ProcStatus::parse(&format!("{GOOD}future_key: x\nempty:\n")).unwrap();
        assert_eq!(s.fields["future_key"], "x");
        assert_eq!(s.fields["empty"], "");
    }

    #[test]
    fn rejects_each_kind_of_bad_input() {
        assert!(matches!(
            ProcStatus::parse("abi_version 1\n"),
            Err(ParseError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            ProcStatus::parse(&format!("{GOOD}abi_version: 1\n")),
            Err(ParseError::Duplicate { line: 12, .. })
        ));
        assert_eq!(
            ProcStatus::parse(&GOOD.replace("bios_version: 1.2.3\n", "")),
            Err(ParseError::Missing("bios_version"))
        );
        assert!(matches!(
            ProcStatus::parse(&GOOD.replace("abi_version: 1", "abi_version: one")),
            Err(ParseError::InvalidValue {
                key: "abi_version",
                ..
            })
        ));
        assert!(matches!(
            ProcStatus::parse(&GOOD.replace("supported", "simulated")),
            Err(ParseError::InvalidValue {
                key: "platform_state",
                ..
            })
        ));
        for (from, to) in [
            ("paranoid (3)", "paranoid (2)"),
            ("paranoid (3)", "paranoid"),
            ("paranoid (3)", "max (9)"),
            ("locked: yes", "locked: maybe"),
            ("tokens: 5", "tokens: -1"),
            ("events_lost: 0", "events_lost: many"),
        ] {
            assert!(
                matches!(
                    ProcStatus::parse(&GOOD.replace(from, to)),
                    Err(ParseError::InvalidValue { .. })
                ),
                "{to}"
            );
        }
        assert!(matches!(
            ProcStatus::parse("Bad Key: 1\n"),
            Err(ParseError::Malformed { .. })
        ));
    }
}

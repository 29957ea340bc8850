//! The records of the log and the borrowed view the verifier parses each line into.

use super::*;

/// One action, as the caller describes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What was done: `install`, `load`, `rollback`, ...
    pub action: String,
    /// `ok`, `failed`, `rolled_back`, `refused`, ...
    pub result: String,
    pub deployment_id: Option<String>,
    /// Module versions involved, e.g. `{"from": "1.0.0", "to": "1.0.1"}`.
    pub component_versions: BTreeMap<String, String>,
    pub rollback_occurred: bool,
    pub duration_seconds: f64,
    /// Free-form detail (error message, ...).
    pub detail: Option<String>,
}

/// The link the first record of a segment carries to the sealed segment
/// before it (whose last line's hash is that record's `prev_hash`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentLink {
    /// File name of the previous segment (`audit.<N>.jsonl`).
    pub previous: String,
    /// Its number of lines.
    pub previous_lines: u64,
}

/// A stored line: the action plus who, when, and the chain link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Seconds since the epoch, UTC.
    pub timestamp: u64,
    pub uid: u32,
    /// `SUDO_USER`, when run through sudo.
    pub sudo_user: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    /// SHA-256 (hex) of the previous line's bytes, without its newline.
    pub prev_hash: String,
    /// Only on the first record of a segment after rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentLink>,
}

/// A line as the chain walk reads it: the same fields and types as [`Record`]
/// (so the same lines are malformed), borrowed where possible and without
/// `flatten`, which buffers every field.
#[derive(Deserialize)]
pub(super) struct Line<'a> {
    pub(super) timestamp: u64,
    #[allow(dead_code)]
    uid: u32,
    #[serde(borrow)]
    #[allow(dead_code)]
    sudo_user: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) action: Cow<'a, str>,
    #[serde(borrow)]
    #[allow(dead_code)]
    result: Cow<'a, str>,
    #[serde(borrow)]
    #[allow(dead_code)]
    deployment_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) component_versions: Versions<'a>,
    #[allow(dead_code)]
    rollback_occurred: bool,
    #[allow(dead_code)]
    duration_seconds: f64,
    #[serde(borrow)]
    #[allow(dead_code)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) prev_hash: Cow<'a, str>,
    #[serde(default)]
    pub(super) segment: Option<SegmentLink>,
}

/// `component_versions` as the walk reads it: a map of strings to strings
/// (anything else is malformed, as for [`Action`]), keeping only the one
/// entry the walk needs instead of building a map per line.
pub(super) struct Versions<'a> {
    pub(super) first_segment: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Versions<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Versions<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Self::Value, M::Error> {
                let mut first_segment = None;
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    let v: Cow<'de, str> = m.next_value()?;
                    if k == "first_segment" {
                        first_segment = Some(v);
                    }
                }
                Ok(Versions { first_segment })
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

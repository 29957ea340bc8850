//! Store ids: the name of an entry in the store (its directory name), which is
//! not always the module's version (see the `store` module docs).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The id of a store entry: the module version for a file install (`1.0.1`),
/// `<version>+<kernel release>` for a DKMS build (`1.0.1+6.12.48-upgrade`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoreId(String);

impl StoreId {
    /// An id as given (on the command line, in a journal, ...). Whether such an
    /// entry exists is the store's question.
    pub fn new(id: impl Into<String>) -> Self {
        StoreId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the id is usable as a directory name: no path tricks.
    pub fn is_valid(&self) -> bool {
        let v = self.0.as_str();
        !v.is_empty()
            && v.len() <= 64
            && !v.starts_with('.')
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl AsRef<str> for StoreId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for StoreId {
    fn from(s: &str) -> Self {
        StoreId::new(s)
    }
}

impl From<String> for StoreId {
    fn from(s: String) -> Self {
        StoreId(s)
    }
}

impl PartialEq<str> for StoreId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for StoreId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// How an install names its store entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryId {
    /// The module's version (`install FILE`).
    Version,
    /// `<version>+<kernel release>` (`install --from-dkms`): one entry per kernel.
    VersionAndKernel,
}

/// The id of a DKMS build of `version` for kernel `release`. Characters a
/// directory name must not have become `-`.
pub fn dkms_id(version: &str, release: &str) -> StoreId {
    let release: String = release
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-~".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    StoreId(format!("{version}+{release}"))
}

/// Orders `1.0.9` before `1.0.10`: numeric where both parts are numbers.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    // Part by part, without allocating: `list` sorts hundreds of entries.
    let (mut pa, mut pb) = (a.split(['.', '-', '+']), b.split(['.', '-', '+']));
    loop {
        let (x, y) = match (pa.next(), pb.next()) {
            (Some(x), Some(y)) => (x, y),
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (None, None) => return Ordering::Equal,
        };
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

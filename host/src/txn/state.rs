//! What milspecctl deployed: `<store>/state.json`.

use crate::fsutil::write_atomic;
use crate::store::{Store, StoreError, StoreId};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What milspecctl deployed (`<store>/state.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub current: Option<StoreId>,
    pub previous: Option<StoreId>,
    pub current_params: Vec<String>,
    pub deployments: u64,
    /// Id of the deployment that made `current` current.
    #[serde(default)]
    pub deployment_id: Option<String>,
    /// `/proc/sys/kernel/tainted` right after the current version was loaded.
    pub taint_at_load: Option<u64>,
}

impl State {
    fn path(store: &Store) -> PathBuf {
        store.dir().join("state.json")
    }

    pub fn read(store: &Store) -> Result<State, StoreError> {
        Self::read_file(&Self::path(store))
    }

    /// The state under `root` (`<root>/var/lib/milspec/state.json`) without
    /// opening the store, which would create its directories: for read-only
    /// commands (`status`). Nothing deployed yet reads as the default state.
    pub fn read_under(root: &std::path::Path) -> Result<State, StoreError> {
        Self::read_file(&Store::dir_under(root).join("state.json"))
    }

    fn read_file(path: &std::path::Path) -> Result<State, StoreError> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
                id: "state".into(),
                reason: format!("state.json: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StoreError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    pub(super) fn write(&self, store: &Store) -> Result<(), StoreError> {
        let path = Self::path(store);
        let data = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&path, &data, 0o600).map_err(|source| StoreError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The role `id` has in this state that forbids removing it, if any.
    pub fn role_of(&self, id: &StoreId) -> Option<&'static str> {
        if self.current.as_ref() == Some(id) {
            Some("the deployed version")
        } else if self.previous.as_ref() == Some(id) {
            Some("the rollback target")
        } else {
            None
        }
    }
}

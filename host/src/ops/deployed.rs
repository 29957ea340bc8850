//! What the store says is deployed, for `status`: read from the state file
//! without opening the store (which creates directories and runs recovery), so
//! `status` stays a read-only command.

use crate::error::Error;
use crate::store::StoreId;
use crate::txn::State;
use serde::Serialize;
use std::path::Path;

/// The store's view of the deployment (`status --json`'s `deployed`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Deployed {
    /// The store entry milspecctl last deployed (`None`: never).
    pub store_id: Option<StoreId>,
    /// The rollback target.
    pub previous: Option<StoreId>,
    /// The deployment that made `store_id` current (a fleet's id when the
    /// rollout passed `--deployment-id`).
    pub deployment_id: Option<String>,
    /// Deployments committed so far.
    pub deployments: u64,
}

/// Reads `<root>/var/lib/milspec/state.json`; nothing deployed yet is the
/// default (all `None`).
pub fn deployed(root: &Path) -> Result<Deployed, Error> {
    let s = State::read_under(root)?;
    Ok(Deployed {
        store_id: s.current,
        previous: s.previous,
        deployment_id: s.deployment_id,
        deployments: s.deployments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn reads_the_state_without_creating_the_store() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(deployed(dir.path()).unwrap(), Deployed::default());
        assert!(
            !dir.path().join("var").exists(),
            "status must not create the store"
        );

        let store = dir.path().join("var/lib/milspec");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(
            store.join("state.json"),
            r#"{"current": "1.0.1", "previous": "1.0.0", "current_params": [],
                "deployments": 3, "deployment_id": "fleet-x", "taint_at_load": 0}"#,
        )
        .unwrap();
        let d = deployed(dir.path()).unwrap();
        assert_eq!(d.store_id, Some(StoreId::new("1.0.1")));
        assert_eq!(d.previous, Some(StoreId::new("1.0.0")));
        assert_eq!(d.deployment_id.as_deref(), Some("fleet-x"));
        assert_eq!(d.deployments, 3);

        std::fs::write(store.join("state.json"), "{").unwrap();
        assert_eq!(
            deployed(dir.path()).unwrap_err().kind,
            ErrorKind::StoreCorrupt
        );
    }
}

//! Least privilege: once the device is open and the metrics port bound, the daemon
//! keeps only the capabilities its policy's actions need:
//!
//! | needs                                   | capability      |
//! |-----------------------------------------|-----------------|
//! | raise the level, push the allowlist, lock | CAP_SYS_ADMIN (SET_LEVEL, SET_ALLOWLIST) |
//! | `rollback` action                        | CAP_SYS_MODULE (finit_module/delete_module) and CAP_SYS_ADMIN (SET_LEVEL after load) |
//! | `lockdown` action                        | none beyond root's ownership of `/sys/kernel/security/lockdown` |
//! | `alert`, `log`, health, metrics         | none            |
//!
//! Reading `/proc/milspec/status` and the 0444 device needs nothing. Capabilities
//! dropped here cannot come back: a reload that needs more reports it and asks
//! for a restart.

use crate::policy::{Action, Policy};
use caps::{CapSet, Capability, CapsHashSet};

/// Capabilities `policy` needs.
pub fn needed(policy: &Policy) -> CapsHashSet {
    let mut set = CapsHashSet::new();
    if policy.changes_kernel_state() {
        set.insert(Capability::CAP_SYS_ADMIN);
    }
    if policy.all_actions().contains(&Action::Rollback) {
        set.insert(Capability::CAP_SYS_MODULE);
        set.insert(Capability::CAP_SYS_ADMIN);
    }
    set
}

/// Names, sorted, for logs.
pub fn names(set: &CapsHashSet) -> String {
    let mut v: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    v.sort();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

/// Drops every capability outside `keep` from the bounding, inheritable,
/// permitted and effective sets (and the ambient set).
pub fn drop_all_but(keep: &CapsHashSet) -> Result<(), caps::errors::CapsError> {
    let permitted = caps::read(None, CapSet::Permitted)?;
    // The bounding set needs CAP_SETPCAP to shrink; do it while we still have it.
    if permitted.contains(&Capability::CAP_SETPCAP) {
        for cap in caps::all() {
            if !keep.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)?;
            }
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    let kept: CapsHashSet = keep.intersection(&permitted).copied().collect();
    caps::set(None, CapSet::Effective, &kept)?;
    caps::set(None, CapSet::Permitted, &kept)?;
    Ok(())
}

/// Empties the calling thread's effective, permitted and inheritable sets
/// (Linux keeps capabilities per thread), for a thread that only talks to the
/// network and must not be able to use what the rest of the daemon keeps.
pub fn drop_all_in_this_thread() -> Result<(), caps::errors::CapsError> {
    caps::clear(None, CapSet::Effective)?;
    caps::clear(None, CapSet::Permitted)?;
    caps::clear(None, CapSet::Inheritable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_follow_the_policy() {
        let p = Policy::parse("").unwrap();
        assert!(needed(&p).is_empty());
        let p = Policy::parse("[level]\nminimum = \"enhanced\"\non_below = \"alert\"\n").unwrap();
        assert!(needed(&p).is_empty(), "alert-only needs nothing");
        let p = Policy::parse("[level]\nminimum = \"enhanced\"\n").unwrap();
        assert_eq!(names(&needed(&p)), "CAP_SYS_ADMIN");
        let p = Policy::parse("[actions]\nmodule_not_allowed = [\"rollback\"]\n").unwrap();
        assert_eq!(names(&needed(&p)), "CAP_SYS_ADMIN,CAP_SYS_MODULE");
        let p = Policy::parse("[actions]\nevents_lost = [\"lockdown\"]\n").unwrap();
        assert!(needed(&p).is_empty());
    }

    /// In another thread: it ends up with nothing, this thread keeps its sets.
    #[test]
    fn thread_drop_leaves_other_threads_alone() {
        let before = caps::read(None, CapSet::Permitted).unwrap();
        let after = std::thread::spawn(|| {
            drop_all_in_this_thread().unwrap();
            (
                caps::read(None, CapSet::Effective).unwrap(),
                caps::read(None, CapSet::Permitted).unwrap(),
            )
        })
        .join()
        .unwrap();
        assert!(after.0.is_empty() && after.1.is_empty(), "{after:?}");
        assert_eq!(caps::read(None, CapSet::Permitted).unwrap(), before);
    }

    /// In a child process (dropping is irreversible): after the drop only the kept
    /// capability is effective. Unprivileged runs have nothing to drop.
    #[test]
    fn drop_keeps_only_what_is_asked() {
        let keep: CapsHashSet = [Capability::CAP_SYS_ADMIN].into_iter().collect();
        // SAFETY: fork in a test: the child only calls async-signal-safe-enough
        // capability syscalls and exits without returning into the test harness.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let ok = drop_all_but(&keep).is_ok()
                    && caps::read(None, CapSet::Effective)
                        .map(|e| e.is_subset(&keep))
                        .unwrap_or(false)
                    && caps::read(None, CapSet::Permitted)
                        .map(|p| p.is_subset(&keep))
                        .unwrap_or(false);
                std::process::exit(if ok { 0 } else { 1 });
            }
            nix::unistd::ForkResult::Parent { child } => {
                let status = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
    }
}

//! CPU and memory use of the host and of the daemon itself (`sysinfo`). CPU use
//! is measured between two samples, so the first sample reports 0.

use crate::metrics::ResourceGauges;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Samples resource use; keeps what the CPU deltas need.
pub struct HostSampler {
    sys: System,
    pid: Pid,
}

impl Default for HostSampler {
    fn default() -> Self {
        HostSampler::new()
    }
}

impl HostSampler {
    pub fn new() -> Self {
        HostSampler {
            sys: System::new(),
            pid: Pid::from_u32(std::process::id()),
        }
    }

    /// Takes a sample (reads a few files under /proc).
    pub fn sample(&mut self) -> ResourceGauges {
        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let total = self.sys.total_memory();
        let (daemon_cpu, rss) = self
            .sys
            .process(self.pid)
            .map(|p| (f64::from(p.cpu_usage()) / 100.0, p.memory()))
            .unwrap_or((0.0, 0));
        ResourceGauges {
            host_cpu_ratio: (f64::from(self.sys.global_cpu_usage()) / 100.0).clamp(0.0, 1.0),
            host_memory_ratio: if total == 0 {
                0.0
            } else {
                self.sys.used_memory() as f64 / total as f64
            },
            daemon_cpu_ratio: daemon_cpu.max(0.0),
            daemon_resident_bytes: rss,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_reads_this_process() {
        let mut s = HostSampler::new();
        let _ = s.sample();
        let g = s.sample();
        assert!(g.daemon_resident_bytes > 1024 * 1024, "{g:?}");
        assert!(
            g.host_memory_ratio > 0.0 && g.host_memory_ratio <= 1.0,
            "{g:?}"
        );
        assert!((0.0..=1.0).contains(&g.host_cpu_ratio), "{g:?}");
    }
}

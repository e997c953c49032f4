//! Who holds a lease: `host/pid/run`, so a run can tell that a lease on its own machine
//! belongs to a process that is gone (killed, crashed) and take it over at once instead of
//! waiting for it to expire. Leases of other machines always wait for their expiry.

use std::path::Path;

/// The lease owner of run `run_id` of this process.
pub(crate) fn owner_id(run_id: uuid::Uuid) -> String {
    format!("{}/{}/{run_id}", host_name(), std::process::id())
}

/// Whether `holder` (an [`owner_id`]) names a process of this machine that no longer runs.
/// `false` whenever that cannot be known (another machine, no `/proc`).
pub(crate) fn is_gone(holder: &str) -> bool {
    let mut parts = holder.splitn(3, '/');
    let (Some(host), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != host_name() || !Path::new("/proc/self").exists() {
        return false;
    }
    match pid.parse::<u32>() {
        Ok(pid) => pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists(),
        Err(_) => false,
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().replace('/', "_"))
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_process_is_not_gone_and_a_dead_one_is() {
        let me = owner_id(uuid::Uuid::new_v4());
        assert!(!is_gone(&me), "this process runs");
        // A finished child process: its pid no longer runs.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = format!("{}/{pid}/x", host_name());
        if Path::new("/proc/self").exists() {
            assert!(is_gone(&dead));
        }
        assert!(!is_gone("other-host/1/x"), "other machines wait for expiry");
        assert!(!is_gone("garbage"));
    }
}

//! Who holds a delivery's lease: host, process id and process start time
//! ([`owner_id`]), so that a worker on the same host can tell a dead owner
//! from a live one at once ([`owner_is_dead`]); owners on other hosts are
//! judged by lease expiry (`store::queue::recover`).

/// Who holds a lease: host, process id and process start time, so that a
/// worker on the same host can tell a dead owner from a live one at once.
pub fn owner_id() -> String {
    let host = hostname();
    format!(
        "{host}:{}:{}",
        std::process::id(),
        process_start(std::process::id()).unwrap_or(0)
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// A process's start time in clock ticks since boot (Linux /proc), to tell
/// a reused pid from the original process.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces: fields count from after ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the owner of a lease is known to be dead: it ran on this host
/// and its process is gone. Owners on other hosts are judged by lease expiry.
pub fn owner_is_dead(owner: &str) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (Some(start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != hostname() {
        return false;
    }
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    process_start(pid) != Some(start)
}

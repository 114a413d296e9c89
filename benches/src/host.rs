//! What the benchmark ran on (CPU model, core count), the process's peak memory and CPU time,
//! and how busy the rest of the machine was during a measurement; read from `/proc` on Linux,
//! elsewhere the values are simply absent.

use serde::Serialize;

/// The machine a run was measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub cpu: Option<String>,
    pub logical_cpus: usize,
    pub os: String,
}

impl Host {
    pub fn detect() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        Self {
            cpu,
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.to_string(),
        }
    }
}

/// This process's peak resident set size (`VmHWM`) in MiB, if the OS reports it.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm_kb(&status).map(|kb| kb as f64 / 1024.0)
}

/// `/proc` reports CPU time in USER_HZ ticks, which Linux fixes at 100 per second.
const TICKS_PER_S: f64 = 100.0;

/// CPU time (user + system, all threads) this process has used so far, in seconds.
pub fn process_cpu_s() -> Option<f64> {
    parse_process_cpu_s(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn parse_process_cpu_s(stat: &str) -> Option<f64> {
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    // There the state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_S)
}

/// CPU time all processes on the machine have used since boot (non-idle time), in seconds.
pub fn machine_busy_s() -> Option<f64> {
    parse_machine_busy_s(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_machine_busy_s(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| v.get(i))
        .sum::<f64>();
    Some(busy / TICKS_PER_S)
}

/// Measures how much CPU *other* processes used while something ran: machine-wide busy time
/// minus the measured system's own CPU time, over the wall time, in cores.
#[derive(Debug, Clone, Copy)]
pub struct LoadProbe {
    started: std::time::Instant,
    busy_s: Option<f64>,
}

impl LoadProbe {
    pub fn start() -> Self {
        Self {
            started: std::time::Instant::now(),
            busy_s: machine_busy_s(),
        }
    }

    /// Cores' worth of CPU used by others since [`LoadProbe::start`], given the CPU time the
    /// measured system itself used in that span.
    pub fn others_cores(&self, own_cpu_s: Option<f64>) -> Option<f64> {
        let wall = self.started.elapsed().as_secs_f64();
        let busy = machine_busy_s()? - self.busy_s?;
        let own = own_cpu_s?;
        (wall > 0.0).then(|| ((busy - own) / wall).max(0.0))
    }
}

fn parse_vm_hwm_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status =
            "Name:\tskriva-bench\nVmPeak:\t  900000 kB\nVmHWM:\t  524288 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_vm_hwm_kb(status), Some(524_288));
        assert_eq!(parse_vm_hwm_kb("Name: x\n"), None);
        if cfg!(target_os = "linux") {
            assert!(peak_rss_mb().is_some_and(|mb| mb > 0.0));
        }
    }

    #[test]
    fn reads_cpu_times() {
        let stat = "1234 (my prog) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_process_cpu_s(stat), Some(3.0));
        let machine = "cpu  100 0 50 1000 10 5 5 0 0 0\ncpu0 50 0 25 500 5 2 3 0 0 0\n";
        assert_eq!(parse_machine_busy_s(machine), Some(1.6));
        if cfg!(target_os = "linux") {
            assert!(process_cpu_s().is_some());
            let probe = LoadProbe::start();
            assert!(probe.others_cores(Some(0.0)).is_some_and(|c| c >= 0.0));
        }
    }
}

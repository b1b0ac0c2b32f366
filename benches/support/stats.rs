//! Order statistics the benchmarks print (latency tails): shared so that every table means
//! the same thing by p99. Not part of the daemon: benches include it with `#[path]`.

/// The `p`-quantile (0 < p ≤ 1) of an ascending slice, nearest-rank: the smallest value with
/// at least `p` of the samples at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

//! Threads: one rayon pool for all kernels, sized by `KPIKIT_MAX_THREADS` (default: all cores),
//! and the row-range split that grouped kernels use to run their partial step in parallel.

use std::ops::Range;
use std::sync::atomic::{AtomicPtr, Ordering};

use rayon::prelude::*;

use crate::core::error::{KpiError, KpiResult};

/// Rows below which splitting costs more than it saves.
const MIN_ROWS_PER_TASK: usize = 1 << 17;
/// Bound on the number of partial states to merge (beyond ~10¹¹ rows ranges grow instead).
const MAX_RANGES: usize = 1 << 20;

/// kpikit's pool and the process it was started in.
struct Pool {
    pid: u32,
    pool: Option<rayon::ThreadPool>,
}

/// The current process's pool (null before the first parallel call).
///
/// A child made by `fork()` inherits this memory but none of the pool's threads: handing it work
/// would wait forever for workers that do not exist. So the pool is tagged with the id of the
/// process that started it, and a process that finds another process's pool starts its own,
/// sized as any process's would be (`KPIKIT_MAX_THREADS`). A fresh pool rather than the calling
/// thread alone: a forked worker then runs as fast as a spawned one, and the two start methods
/// of `multiprocessing` give the same behaviour. The parent's pool is leaked in the child (its
/// threads are not there to be stopped; it is a few hundred bytes). The pointer is an atomic,
/// not a mutex, because a mutex held by another thread at the moment of the fork would stay
/// locked in the child forever.
static POOL: AtomicPtr<Pool> = AtomicPtr::new(std::ptr::null_mut());

/// This process's pool, started on first use (None when threads cannot be started).
fn pool() -> &'static Option<rayon::ThreadPool> {
    let pid = std::process::id();
    let mut current = POOL.load(Ordering::Acquire);
    loop {
        // SAFETY: POOL only ever holds null or a pointer from Box::into_raw that is never freed.
        if let Some(p) = unsafe { current.as_ref() } {
            if p.pid == pid {
                return &p.pool;
            }
        }
        let fresh = Box::into_raw(Box::new(Pool {
            pid,
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(max_threads())
                .thread_name(|i| format!("kpikit-{i}"))
                .build()
                .ok(),
        }));
        match POOL.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: published, hence never freed from here on.
            Ok(_) => return unsafe { &(*fresh).pool },
            Err(other) => {
                // Another thread installed a pool first: ours was never shared, so it is
                // dropped (its threads stop), and the loop takes the other one.
                // SAFETY: `fresh` came from Box::into_raw above and was not published.
                drop(unsafe { Box::from_raw(fresh) });
                current = other;
            }
        }
    }
}

/// Number of threads kernels use: `KPIKIT_MAX_THREADS` if set to a positive integer, else all cores.
pub fn max_threads() -> usize {
    std::env::var("KPIKIT_MAX_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Run `f` inside this process's kpikit pool (falls back to the calling thread if the pool
/// cannot start).
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match pool() {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// Split `0..n` into contiguous ranges of about `MIN_ROWS_PER_TASK` rows (one range for small
/// inputs). Many small ranges rather than one per thread: a range's scratch memory is freed as
/// soon as its partial state is made, so the peak stays a few ranges' worth whatever `n` is.
pub fn ranges(n: usize) -> Vec<Range<usize>> {
    let parts = (n / MIN_ROWS_PER_TASK).clamp(1, MAX_RANGES);
    let step = n.div_ceil(parts).max(1);
    (0..parts)
        .map(|i| (i * step).min(n)..((i + 1) * step).min(n))
        .filter(|r| !r.is_empty() || n == 0)
        .take(if n == 0 { 1 } else { parts })
        .collect()
}

/// Apply `f` to every range in parallel; results in range order. When ranges fail with bad
/// values under the same rule, their counts and example rows are combined, so the error reads
/// as if the whole input had been checked in one pass.
pub fn map_ranges<T: Send>(
    n: usize,
    f: impl Fn(Range<usize>) -> KpiResult<T> + Sync + Send,
) -> KpiResult<Vec<T>> {
    let parts = ranges(n);
    if parts.len() == 1 {
        // One range: run it on the calling thread. Handing it to the pool would cost a thread
        // switch (and, on a process's first call, starting the pool and its threads' memory)
        // for no parallelism; small inputs are dominated by such fixed costs.
        let only = parts.into_iter().next().expect("one range");
        return f(only).map(|v| vec![v]);
    }
    let results: Vec<KpiResult<T>> = install(|| parts.into_par_iter().map(&f).collect());
    Errors::all(results)
}

/// Fill `out` (one slot per row) on all threads: `f(rows, &mut out[rows])` for every range of
/// rows, returning each range's result in range order. A large output is first touched by the
/// threads that fill it, so its page faults are spread over them too. Errors combine as in
/// [`map_ranges`].
pub fn fill_ranges<T: Send, R: Send>(
    out: &mut [T],
    f: impl Fn(Range<usize>, &mut [T]) -> KpiResult<R> + Sync + Send,
) -> KpiResult<Vec<R>> {
    let parts = ranges(out.len());
    // The ranges are consecutive from row 0: cut `out` at their ends.
    let mut slices = Vec::with_capacity(parts.len());
    let mut rest = out;
    for r in parts {
        let (head, tail) = rest.split_at_mut(r.len());
        slices.push((r, head));
        rest = tail;
    }
    let results: Vec<KpiResult<R>> = if slices.len() == 1 {
        slices.into_iter().map(|(r, s)| f(r, s)).collect()
    } else {
        install(|| slices.into_par_iter().map(|(r, s)| f(r, s)).collect())
    };
    Errors::all(results)
}

/// As [`map_ranges`], but each range's result is folded into `acc`, in range order, as soon
/// as its window of ranges (one per thread) is done: a window's results are alive at a time
/// instead of every range's. Ranges after a failure still run, to combine their errors.
pub fn fold_ranges<T: Send, A>(
    n: usize,
    mut acc: A,
    f: impl Fn(Range<usize>) -> KpiResult<T> + Sync + Send,
    mut fold: impl FnMut(&mut A, T),
) -> KpiResult<A> {
    let parts = ranges(n);
    let mut errors = Errors::default();
    for window in parts.chunks(max_threads()) {
        // A single range runs on the calling thread (as in map_ranges).
        let results: Vec<KpiResult<T>> = match window {
            [only] => vec![f(only.clone())],
            _ => install(|| window.par_iter().map(|r| f(r.clone())).collect()),
        };
        for r in results {
            if let Some(v) = errors.keep(r) {
                fold(&mut acc, v);
            }
        }
    }
    errors.or(acc)
}

/// The first error of a run over ranges, with later errors under the same rule combined in.
#[derive(Default)]
struct Errors(Option<KpiError>);

impl Errors {
    /// The value of a successful range while no range has failed.
    fn keep<T>(&mut self, r: KpiResult<T>) -> Option<T> {
        match (r, &mut self.0) {
            (Ok(v), None) => return Some(v),
            (Ok(_), Some(_)) => {}
            (Err(e), None) => self.0 = Some(e),
            (
                Err(KpiError::InvalidValues { column, rule, rows }),
                Some(KpiError::InvalidValues {
                    column: c0,
                    rule: r0,
                    rows: rows0,
                }),
            ) if column == *c0 && rule == *r0 => rows0.merge(rows),
            (Err(_), Some(_)) => {}
        }
        None
    }

    /// Every range's value in range order, or the ranges' errors combined.
    fn all<T>(results: Vec<KpiResult<T>>) -> KpiResult<Vec<T>> {
        let mut values = Vec::with_capacity(results.len());
        let mut errors = Errors::default();
        for r in results {
            if let Some(v) = errors.keep(r) {
                values.push(v);
            }
        }
        errors.or(values)
    }

    fn or<T>(self, value: T) -> KpiResult<T> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::BadRows;

    #[test]
    fn ranges_cover_every_row_once() {
        for n in [0, 1, 5, MIN_ROWS_PER_TASK * 3 + 7] {
            let r = ranges(n);
            assert!(!r.is_empty());
            assert_eq!(r.first().unwrap().start, 0);
            assert_eq!(r.last().unwrap().end, n);
            for w in r.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
        }
    }

    #[test]
    fn fold_ranges_folds_in_range_order() {
        let n = MIN_ROWS_PER_TASK * 5 + 3;
        let seen = fold_ranges(n, Vec::new(), Ok, |acc, r| acc.push(r)).unwrap();
        assert_eq!(seen, ranges(n));
    }

    #[test]
    fn fill_ranges_fills_every_row_and_combines_errors() {
        let n = MIN_ROWS_PER_TASK * 3 + 11;
        let mut out = vec![0usize; n];
        let starts = fill_ranges(&mut out, |r, s| {
            for (slot, row) in s.iter_mut().zip(r.clone()) {
                *slot = row * 2;
            }
            Ok(r.start)
        })
        .unwrap();
        assert!(out.iter().enumerate().all(|(i, v)| *v == i * 2));
        let expected: Vec<usize> = ranges(n).iter().map(|r| r.start).collect();
        assert_eq!(starts, expected);
        let err = fill_ranges(&mut out, |r, _| -> KpiResult<()> {
            let mut rows = BadRows::default();
            rows.push(r.end - 1, || "x".into());
            KpiError::check_rows("c", "rule", rows)
        })
        .unwrap_err();
        match err {
            KpiError::InvalidValues { rows, .. } => {
                assert_eq!(rows.count, ranges(n).len());
                assert_eq!(rows.examples[0].row, ranges(n)[0].end - 1);
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn errors_of_one_rule_combine_across_ranges() {
        let n = MIN_ROWS_PER_TASK * 2;
        let err = map_ranges(n, |r| -> KpiResult<()> {
            let mut rows = BadRows::default();
            rows.push(r.start, || "x".into());
            KpiError::check_rows("c", "rule", rows)
        })
        .unwrap_err();
        match err {
            KpiError::InvalidValues { rows, .. } => {
                assert_eq!(rows.count, ranges(n).len());
                assert_eq!(rows.examples[0].row, 0);
            }
            other => panic!("unexpected {other}"),
        }
    }
}

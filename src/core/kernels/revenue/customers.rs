//! Driving the computation over all customers: their rows grouped, every customer's series
//! built and walked in parallel, and segment conflicts reported with rows.

use rayon::prelude::*;

use super::input::*;
use super::series::*;
use crate::core::error::{BadRows, KpiError, KpiResult};
use crate::core::input::time::{start_dates, Freq};

/// Every customer's rows: customer `c`'s are `starts[c]..starts[c + 1]` in `rows`.
pub(super) struct CustomerRows {
    pub(super) starts: Vec<usize>,
    /// Row numbers grouped by customer (a counting sort); None when each customer's rows are
    /// already one run, in order of first appearance (= id order), as exports usually list
    /// them: then `starts` are input rows and the 8-bytes-a-row permutation is not built.
    pub(super) rows: Option<Vec<usize>>,
}

impl CustomerRows {
    pub(super) fn new(ids: &[u32], n_customers: usize) -> Self {
        let mut starts = Vec::with_capacity(n_customers + 1);
        let mut prev = u32::MAX;
        let mut in_runs = true;
        for (r, &c) in ids.iter().enumerate() {
            if c != prev {
                // A run of a customer met before (ids count first appearances).
                if c as usize != starts.len() {
                    in_runs = false;
                    break;
                }
                starts.push(r);
                prev = c;
            }
        }
        if in_runs {
            starts.push(ids.len());
            return CustomerRows { starts, rows: None };
        }
        starts.clear();
        starts.resize(n_customers + 1, 0);
        for &c in ids {
            starts[c as usize + 1] += 1;
        }
        for i in 0..n_customers {
            starts[i + 1] += starts[i];
        }
        let mut fill = starts.clone();
        let mut rows = vec![0usize; ids.len()];
        for (r, &c) in ids.iter().enumerate() {
            rows[fill[c as usize]] = r;
            fill[c as usize] += 1;
        }
        CustomerRows {
            starts,
            rows: Some(rows),
        }
    }

    /// Customer `c`'s rows into `out` (replacing its contents).
    #[inline]
    pub(super) fn fill(&self, c: usize, out: &mut Vec<usize>) {
        let (a, b) = (self.starts[c], self.starts[c + 1]);
        out.clear();
        match &self.rows {
            Some(rows) => out.extend_from_slice(&rows[a..b]),
            None => out.extend(a..b),
        }
    }
}

pub(super) fn series_of(
    prep: &Prepared,
    rows: &mut Vec<usize>,
    freq: Freq,
    out: &mut Series,
) -> KpiResult<Result<(), Conflict>> {
    match &prep.rows {
        Rows::Snapshots {
            period,
            cents,
            kept,
            sum_duplicates,
        } => snapshot_series(
            rows,
            period,
            cents,
            kept.as_deref(),
            *sum_duplicates,
            &prep.segs,
            out,
        ),
        Rows::Subscriptions {
            start,
            end,
            cents,
            snapshot,
        } => subscription_series(
            rows,
            start,
            end,
            cents,
            &prep.segs,
            prep.segmented,
            *snapshot,
            freq,
            out,
        ),
    }
}

/// Run `per_customer` over every customer in parallel and fold the results; the first segment
/// conflict (by customer order) becomes an error naming rows.
pub(super) fn over_customers<T, F, M>(
    input: &RevenueInput,
    prep: &Prepared,
    identity: impl Fn() -> T + Sync + Send,
    per_customer: F,
    merge: M,
) -> KpiResult<T>
where
    T: Send,
    F: Fn(&mut T, u32, &Series) + Sync + Send,
    M: Fn(T, T) -> T + Sync + Send,
{
    let n_customers = prep.customers.len();
    let by_customer = CustomerRows::new(&prep.customers.ids, n_customers);
    // In kpikit's pool, so KPIKIT_MAX_THREADS holds here too (rayon's global pool ignores it).
    let results: Vec<KpiResult<(T, Vec<Conflict>)>> =
        crate::core::engine::parallel::install(|| {
            let chunk = (n_customers / (rayon::current_num_threads() * 8)).max(256);
            (0..n_customers.div_ceil(chunk))
                .into_par_iter()
                .map(|k| {
                    let mut acc = identity();
                    let mut conflicts = Vec::new();
                    // Scratch reused across the task's customers: no allocation per customer.
                    let (mut rows, mut series) = (Vec::new(), Series::default());
                    for c in k * chunk..((k + 1) * chunk).min(n_customers) {
                        by_customer.fill(c, &mut rows);
                        match series_of(prep, &mut rows, input.freq, &mut series)? {
                            Ok(()) => per_customer(&mut acc, c as u32, &series),
                            Err(x) => {
                                if conflicts.len() < crate::core::error::MAX_EXAMPLES {
                                    conflicts.push(x)
                                }
                            }
                        }
                    }
                    Ok((acc, conflicts))
                })
                .collect()
        });
    let mut total = identity();
    let mut conflicts = Vec::new();
    for r in results {
        let (acc, c) = r?;
        total = merge(total, acc);
        conflicts.extend(c);
    }
    // Repeated snapshot rows first: they are the likelier mistake, and also two segments.
    conflicts.sort_by_key(|c| c.3 != Clash::Duplicate);
    if let Some(&(_, _, _, clash)) = conflicts.first() {
        let mut bad = BadRows::default();
        for &(a, b, p, _) in conflicts.iter().filter(|c| c.3 == clash) {
            let date = date_text(start_dates(input.freq, [Some(p)]).value(0) as i64);
            bad.push(b, || match clash {
                Clash::Duplicate => {
                    format!("same customer and period as row {a} (the period of {date})")
                }
                Clash::Segment => {
                    format!("same customer and period ({date}) as row {a} with another segment")
                }
            });
        }
        let (column, rule) = match (clash, &input.source) {
            (Clash::Duplicate, Source::Snapshots { period, .. }) => (
                format!("{}, {}", input.customer.name, period.name),
                "a customer must have one snapshot row per period (duplicates=\"sum\" adds them up)",
            ),
            _ => (
                input
                    .segments
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                "a customer must have one segment value per period",
            ),
        };
        return Err(KpiError::InvalidValues {
            column,
            rule: rule.into(),
            rows: bad,
        });
    }
    Ok(total)
}

pub(super) fn date_text(day: i64) -> String {
    let (y, m, d) = crate::core::input::time::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

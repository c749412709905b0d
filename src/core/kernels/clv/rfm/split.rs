//! The calibration/holdout split of a transaction log (lifetimes' `calibration_and_holdout_data`).

use super::*;
use crate::core::input::time::civil_from_days;

/// The calibration summary (transactions up to `calibration_end`, as [`rfm_summary`] with that
/// observation end) of every customer first seen by then, plus the holdout columns over
/// (calibration_end, observation_end]: `frequency_holdout` (distinct purchase periods),
/// `monetary_value_holdout` (mean transaction amount, as lifetimes) and `duration_holdout`
/// (periods between the two ends ÷ multiplier).
///
/// A log without any transaction up to `calibration_end` is an error naming the parameter and
/// the log's first transaction (as lifetimes' `calibration_and_holdout_data`, which refuses an
/// empty calibration period): an empty table would only fail later, in a model's fit.
pub fn rfm_split(
    customer: &Column,
    time: &Column,
    amount: Option<&Column>,
    spec: &RfmSpec,
    calibration_end: i64,
    observation_end: Option<i64>,
) -> KpiResult<RecordBatch> {
    check_spec(spec)?;
    let kept = Kept::of(customer, time, amount, spec)?;
    let (customer, time, amount) = (&kept.customer, &kept.time, kept.amount.as_ref());
    let log = prepare(customer, time, amount)?;
    let cal_period = spec.unit.ordinal(calibration_end);
    let (cal, latest) = stats(
        &log,
        spec,
        Window {
            upto: Some(calibration_end),
            ..Window::default()
        },
    )?;
    // Transactions, none of them in the calibration period: an error (an empty log keeps the
    // empty result of really empty data).
    if log.groups > 0 && cal.iter().all(Vec::is_empty) {
        return Err(no_calibration_rows(time, spec, calibration_end)?);
    }
    let end = observation_end.or(latest).unwrap_or(calibration_end);
    if end <= calibration_end {
        return Err(KpiError::param(
            "observation_end",
            "must be after calibration_end (the holdout period would be empty)",
        ));
    }
    let (hold, _) = stats(
        &log,
        spec,
        Window {
            after: Some(calibration_end),
            upto: Some(end),
            last_period: None,
        },
    )?;
    let g = log.groups;
    let (mut periods, mut total, mut rows) = (vec![0.0; g], vec![0.0; g], vec![0.0; g]);
    for h in hold.iter().flatten() {
        let c = h.customer as usize;
        periods[c] = h.periods;
        total[c] = h.total;
        rows[c] = h.rows;
    }
    drop(hold);
    let mut columns = finish(&cal, cal_period, spec, amount.is_some());
    let (keys, sorted) = customer_keys(&log, &cal)?;
    let cal = cal.iter().flatten();
    let duration = (spec.unit.ordinal(end) - cal_period) as f64 / spec.multiplier;
    columns.push((
        "frequency_holdout",
        cal.clone().map(|s| periods[s.customer as usize]).collect(),
    ));
    if amount.is_some() {
        columns.push((
            "monetary_value_holdout",
            cal.clone()
                .map(|s| {
                    let c = s.customer as usize;
                    if rows[c] > 0.0 {
                        total[c] / rows[c]
                    } else {
                        0.0
                    }
                })
                .collect(),
        ));
    }
    columns.push(("duration_holdout", vec![duration; cal.count()]));
    let out = build(&customer.name, keys, sorted, columns)?;
    // Rows left out (`invalid="skip"`) are reported through the result's metadata, as the
    // summary's finish does (docs/vocabulary.md).
    match kept.skipped {
        0 => Ok(out),
        n => with_metadata(
            out,
            HashMap::from([(meta::SKIPPED_ROWS.to_string(), n.to_string())]),
        ),
    }
}

/// The error of a calibration period without transactions: an `InvalidValues` of the time
/// column (every row falls after `calibration_end`), naming the parameter and the first
/// transaction (wall-clock time in the spec's zone).
fn no_calibration_rows(time: &Column, spec: &RfmSpec, calibration_end: i64) -> KpiResult<KpiError> {
    let mut first: Option<(usize, i64)> = None;
    let mut rows = 0;
    let mut row = 0;
    for chunk in local_micros(time, spec.zone)? {
        for i in 0..chunk.len() {
            if chunk.is_valid(i) {
                rows += 1;
                let us = chunk.value(i);
                if first.is_none_or(|(_, f)| us < f) {
                    first = Some((row, us));
                }
            }
            row += 1;
        }
    }
    let cal = show_micros(calibration_end);
    Ok(match first {
        None => KpiError::param(
            "calibration_end",
            format!(
                "the table has no transactions, so the calibration period up to {cal} is empty"
            ),
        ),
        Some((row, us)) => {
            let mut bad = BadRows::default();
            bad.push(row, || show_micros(us));
            bad.count = rows;
            KpiError::InvalidValues {
                column: time.name.clone(),
                rule: format!(
                    "no transaction on or before parameter \"calibration_end\" ({cal}): the first transaction is at {}, so the calibration period is empty; choose a calibration_end on or after it",
                    show_micros(us)
                ),
                rows: bad,
            }
        }
    })
}

/// Wall-clock microseconds as "YYYY-MM-DD" (midnight) or "YYYY-MM-DD HH:MM:SS[.ffffff]".
fn show_micros(us: i64) -> String {
    const DAY_US: i64 = 86_400_000_000;
    let (y, m, d) = civil_from_days(us.div_euclid(DAY_US));
    let rest = us.rem_euclid(DAY_US);
    if rest == 0 {
        return format!("{y:04}-{m:02}-{d:02}");
    }
    let secs = rest / 1_000_000;
    let (h, mi, s, f) = (secs / 3600, secs / 60 % 60, secs % 60, rest % 1_000_000);
    if f == 0 {
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{f:06}")
    }
}

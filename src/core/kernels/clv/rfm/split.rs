//! The calibration/holdout split of a transaction log (lifetimes' `calibration_and_holdout_data`).

use super::*;

/// The calibration summary (transactions up to `calibration_end`, as [`rfm_summary`] with that
/// observation end) of every customer first seen by then, plus the holdout columns over
/// (calibration_end, observation_end]: `frequency_holdout` (distinct purchase periods),
/// `monetary_value_holdout` (mean transaction amount, as lifetimes) and `duration_holdout`
/// (periods between the two ends ÷ multiplier).
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

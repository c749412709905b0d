//! Bindings of `core::input::integrity`: the row-level data checks behind `kpikit.check`.

use pyo3::prelude::*;
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::PyTable;

use super::convert::{self, enter, read_table, table_out, AnyInt};
use crate::core::input::integrity::{self, Checks, Cond, Rule, Volume, MAX_TRAILING};

/// Checks of one table: `(rows, findings, spans, periods)` (see `core::input::integrity::report_batches`).
/// `ranges` are `(column, min, max, integer)`; `implies` are `(column, "present"|"true",
/// column, "present"|"true")`; `ordered` lists column sequences that must not go
/// back in time; `judged_until` is a day number (days since 1970-01-01, exclusive end).
#[pyfunction]
#[pyo3(signature = (table, *, not_null=Vec::new(), unique=Vec::new(), ranges=Vec::new(), ordered=Vec::new(), implies=Vec::new(), time=Vec::new(), period=None, freq="day", judged_until=None, drop_ratio=0.5, trailing=AnyInt(6), min_trailing=AnyInt(3), season=AnyInt(1), drop_min_median=0.0, gap_min_median=0.0), text_signature = "(table, *, not_null=..., unique=..., ranges=..., ordered=..., implies=..., time=..., period=None, freq=\"day\", judged_until=None, drop_ratio=0.5, trailing=6, min_trailing=3, season=1, drop_min_median=0.0, gap_min_median=0.0)")]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn check(
    py: Python<'_>,
    table: AnyRecordBatch,
    not_null: Vec<String>,
    unique: Vec<Vec<String>>,
    ranges: Vec<(String, Option<f64>, Option<f64>, bool)>,
    ordered: Vec<Vec<String>>,
    implies: Vec<(String, String, String, String)>,
    time: Vec<String>,
    period: Option<String>,
    freq: &str,
    judged_until: Option<i64>,
    drop_ratio: f64,
    trailing: AnyInt,
    min_trailing: AnyInt,
    season: AnyInt,
    drop_min_median: f64,
    gap_min_median: f64,
) -> PyResult<(usize, PyTable, PyTable, PyTable)> {
    let table = read_table(table)?;
    let freq = freq.to_string();
    let (rows, f, s, p) = enter(py, move || {
        // `check` has no week_start: its weeks start on Monday.
        let freq = convert::freq(&freq, "monday")?;
        let max = MAX_TRAILING as i128;
        let trailing: usize = trailing.bounded("trailing", 1, max)?;
        let min_trailing: usize = min_trailing.bounded("min_trailing", 0, max)?;
        let season: usize = season.bounded("season", 1, max)?;
        if !(drop_ratio.is_finite() && drop_ratio >= 0.0) || trailing == 0 {
            return Err(crate::core::KpiError::param(
                "drop_ratio",
                "needs drop_ratio ≥ 0 and trailing ≥ 1",
            ));
        }
        let mut rules: Vec<Rule> = not_null
            .into_iter()
            .map(|column| Rule::NotNull { column })
            .collect();
        rules.extend(unique.into_iter().map(|columns| Rule::Unique { columns }));
        rules.extend(
            ranges
                .into_iter()
                .map(|(column, min, max, integer)| Rule::Range {
                    column,
                    min,
                    max,
                    integer,
                }),
        );
        rules.extend(ordered.into_iter().map(|columns| Rule::Ordered { columns }));
        for (a, if_, b, need) in implies {
            rules.push(Rule::Implies {
                when: (a, Cond::parse(&if_)?),
                then: (b, Cond::parse(&need)?),
            });
        }
        let checks = Checks {
            rules,
            time,
            volume: period.map(|column| Volume {
                column,
                freq,
                judged_until,
                drop_ratio,
                trailing,
                min_trailing,
                season,
                drop_min_median,
                gap_min_median,
            }),
        };
        let report = integrity::check(&table, &checks)?;
        let (f, s, p) = integrity::report_batches(&report, freq)?;
        Ok((report.rows, f, s, p))
    })?;
    Ok((rows, table_out(f)?, table_out(s)?, table_out(p)?))
}

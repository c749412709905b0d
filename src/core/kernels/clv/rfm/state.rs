//! The RFM summary as an analysis of the partial → merge → finish protocol
//! (docs/architecture.md (partial state → merge → finish)). A state holds one row per customer
//! (first and last period, distinct periods, first-period and all-period totals) and the
//! latest time of its rows. Distinct periods cannot be added up, so every customer's rows must
//! be in one partition (the Dask driver shuffles on the customer): states then hold disjoint
//! customers, and their merge, a concatenation, is exact.

use super::*;

pub(super) const STATE_COLUMNS: [&str; 5] = ["first", "first_total", "last", "periods", "total"];
/// Latest transaction time of the state's rows (wall-clock microseconds), empty without rows.
pub(super) const LATEST_KEY: &str = "kpikit.rfm_summary.latest";
/// Whether the rows had amounts (adds `monetary_value`).
pub(super) const AMOUNT_KEY: &str = "kpikit.rfm_summary.amount";
/// The finish settings: `freq_multiplier`, `include_first`, `observation_end` (wall-clock
/// microseconds, empty for the latest time) and the zone (so that states of different zones
/// do not merge).
pub(super) const MULTIPLIER_KEY: &str = "kpikit.rfm_summary.freq_multiplier";
pub(super) const INCLUDE_FIRST_KEY: &str = "kpikit.rfm_summary.include_first";
pub(super) const END_KEY: &str = "kpikit.rfm_summary.observation_end";
pub(super) const ZONE_KEY: &str = "kpikit.rfm_summary.tz";
/// Whether the state's customers are in ascending key order already (a partial state of
/// dense integer keys), which spares the finish a sort.
pub(super) const SORTED_KEY: &str = "kpikit.rfm_summary.sorted";

/// The columns and settings of [`RfmSummary`]'s partial step. `observation_end` is a
/// wall-clock time in microseconds in `spec.zone` (default: the latest transaction).
#[derive(Clone, Copy)]
pub struct RfmInput<'a> {
    pub customer: &'a Column,
    pub time: &'a Column,
    pub amount: Option<&'a Column>,
    pub spec: RfmSpec,
    pub observation_end: Option<i64>,
}

/// `kpikit.rfm_summary`: frequency, recency, T (and monetary_value) per customer.
pub struct RfmSummary;

impl Analysis for RfmSummary {
    const NAME: &'static str = "rfm_summary";
    type Input<'a> = RfmInput<'a>;

    fn partial(input: &RfmInput<'_>) -> KpiResult<RecordBatch> {
        let spec = &input.spec;
        check_spec(spec)?;
        let kept = Kept::of(input.customer, input.time, input.amount, spec)?;
        let log = prepare(&kept.customer, &kept.time, kept.amount.as_ref())?;
        let window = Window {
            last_period: input.observation_end.map(|e| spec.unit.ordinal(e)),
            ..Window::default()
        };
        let (stats, latest) = stats(&log, spec, window)?;
        let (keys, sorted) = customer_keys(&log, &stats)?;
        let stats: Vec<Stats> = stats.into_iter().flatten().collect();
        let text = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
        let metadata = HashMap::from([
            (meta::ANALYSIS.to_string(), Self::NAME.to_string()),
            (meta::FREQ.to_string(), spec.unit.label()),
            (meta::SKIPPED_ROWS.to_string(), kept.skipped.to_string()),
            (MULTIPLIER_KEY.to_string(), spec.multiplier.to_string()),
            (
                INCLUDE_FIRST_KEY.to_string(),
                spec.include_first.to_string(),
            ),
            (END_KEY.to_string(), text(input.observation_end)),
            (ZONE_KEY.to_string(), format!("{:?}", spec.zone)),
            (LATEST_KEY.to_string(), text(latest)),
            (AMOUNT_KEY.to_string(), input.amount.is_some().to_string()),
            (SORTED_KEY.to_string(), sorted.to_string()),
        ]);
        let fields = vec![
            Field::new(&log.customer.name, keys.data_type().clone(), true),
            Field::new(STATE_COLUMNS[0], DataType::Int64, false),
            f64_field(STATE_COLUMNS[1]),
            Field::new(STATE_COLUMNS[2], DataType::Int64, false),
            f64_field(STATE_COLUMNS[3]),
            f64_field(STATE_COLUMNS[4]),
        ];
        let columns: Vec<ArrayRef> = vec![
            keys,
            Arc::new(Int64Array::from_iter_values(stats.iter().map(|s| s.first))),
            Arc::new(Float64Array::from_iter_values(
                stats.iter().map(|s| s.first_total),
            )),
            Arc::new(Int64Array::from_iter_values(stats.iter().map(|s| s.last))),
            Arc::new(Float64Array::from_iter_values(
                stats.iter().map(|s| s.periods),
            )),
            Arc::new(Float64Array::from_iter_values(
                stats.iter().map(|s| s.total),
            )),
        ];
        Ok(RecordBatch::try_new(
            Arc::new(Schema::new_with_metadata(fields, metadata)),
            columns,
        )?)
    }

    /// The states concatenated, the latest time the latest of theirs. A customer in two states
    /// means the log was not split by customer: an error naming the column, since distinct
    /// periods cannot be added up.
    fn merge(states: &[RecordBatch]) -> KpiResult<RecordBatch> {
        let input = MergeInput::check(states, Self::NAME, &[LATEST_KEY, SORTED_KEY])?;
        let mut latest: Option<i64> = None;
        for s in states {
            let schema = s.schema();
            let l: Option<i64> = Meta::of(&schema, Self::NAME)?.parse_opt(LATEST_KEY)?;
            latest = latest.max(l);
        }
        let plain = input.plain[0].schema();
        let all = arrow::compute::concat_batches(&plain, &input.plain)
            .map_err(|e| KpiError::param("states", format!("states differ in columns: {e}")))?;
        let name = plain.field(0).name().clone();
        let keys = Column::from_array(&name, all.column(0).clone());
        let groups = group_ids(std::slice::from_ref(&keys))?;
        if groups.first_row.len() != all.num_rows() {
            let mut seen = vec![false; groups.first_row.len()];
            let mut bad = BadRows::default();
            for (row, id) in groups.ids.iter().enumerate() {
                if std::mem::replace(&mut seen[*id as usize], true) {
                    bad.push(row, || "in two partitions".to_string());
                }
            }
            KpiError::check_rows(
                &name,
                "must have all its rows in one partition (shuffle on the customer column first)",
                bad,
            )?;
        }
        let sorted =
            states.len() == 1 && Meta::of(&states[0].schema(), Self::NAME)?.parse(SORTED_KEY)?;
        input.finish(
            all,
            &[
                (LATEST_KEY, latest.map_or(String::new(), |l| l.to_string())),
                (SORTED_KEY, sorted.to_string()),
            ],
        )
    }

    fn finish(state: &RecordBatch) -> KpiResult<RecordBatch> {
        let schema = state.schema();
        let m = Meta::of(&schema, Self::NAME)?;
        let spec = RfmSpec {
            unit: Unit::from_label(m.get(meta::FREQ)?)?,
            multiplier: m.parse(MULTIPLIER_KEY)?,
            include_first: m.parse(INCLUDE_FIRST_KEY)?,
            // Not read by the finish: times in the state are wall-clock already.
            zone: Zone::Utc,
            // Nor this: rows were left out (and counted) by the partial step.
            invalid: Invalid::Raise,
        };
        check_spec(&spec)?;
        let observation_end: Option<i64> = m.parse_opt(END_KEY)?;
        let latest: Option<i64> = m.parse_opt(LATEST_KEY)?;
        let has_amount: bool = m.parse(AMOUNT_KEY)?;
        let sorted: bool = m.parse(SORTED_KEY)?;
        if state.num_columns() != 1 + STATE_COLUMNS.len()
            || STATE_COLUMNS
                .iter()
                .enumerate()
                .any(|(i, c)| schema.field(i + 1).name() != c)
        {
            return Err(KpiError::param(
                "state",
                "not an rfm_summary state (columns)",
            ));
        }
        let int = |i: usize| {
            state
                .column(i)
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| KpiError::param("state", "not an rfm_summary state (column types)"))
        };
        let float = |i: usize| {
            state
                .column(i)
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| KpiError::param("state", "not an rfm_summary state (column types)"))
        };
        let (f, ft, l, p, t) = (
            int(1)?.values(),
            float(2)?.values(),
            int(3)?.values(),
            float(4)?.values(),
            float(5)?.values(),
        );
        let stats: Vec<Stats> = (0..state.num_rows())
            .map(|i| Stats {
                customer: i as u32,
                first: f[i],
                first_total: ft[i],
                last: l[i],
                periods: p[i],
                total: t[i],
                rows: 0.0,
            })
            .collect();
        let end_period = match observation_end.or(latest) {
            Some(e) => spec.unit.ordinal(e),
            None => 0,
        };
        let columns = finish(&[stats], end_period, &spec, has_amount);
        let out = build(
            schema.field(0).name(),
            state.column(0).clone(),
            sorted,
            columns,
        )?;
        // Rows left out before the partial step (`invalid="skip"`) are reported through the
        // result's metadata, the one channel for them (docs/vocabulary.md).
        match m.skipped_rows()? {
            0 => Ok(out),
            n => with_metadata(
                out,
                HashMap::from([(meta::SKIPPED_ROWS.to_string(), n.to_string())]),
            ),
        }
    }
}

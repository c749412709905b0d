//! Fixtures of the sales analyses' unit tests.

use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Float64Type};

use crate::core::engine::analyses;
use crate::core::engine::state::Invalid;
use crate::core::input::time::{Zone, US_PER_DAY};
use crate::core::input::Column;

use super::partial::Common;

/// A timestamp column of whole days (None: missing).
pub(crate) fn days(name: &str, days: &[Option<i64>]) -> Column {
    let v: Vec<Option<i64>> = days.iter().map(|d| d.map(|d| d * US_PER_DAY)).collect();
    Column::from_array(name, Arc::new(TimestampMicrosecondArray::from(v)))
}

/// No periods, UTC, bad rows refused.
pub(crate) fn common(segments: &[Column]) -> Common<'_> {
    Common {
        segments,
        freq: None,
        zone: Zone::Utc,
        invalid: Invalid::Raise,
    }
}

/// The state merged with itself through the registry, finished by name.
pub(crate) fn twice(state: RecordBatch) -> RecordBatch {
    analyses::finish(&analyses::merge(&[state.clone(), state]).unwrap()).unwrap()
}

/// The first value of column `name` as a float (None: null).
pub(crate) fn f64_at(b: &RecordBatch, name: &str) -> Option<f64> {
    let a = b.column_by_name(name).unwrap();
    let a = arrow::compute::cast(a, &DataType::Float64).unwrap();
    let a = a.as_primitive::<Float64Type>();
    a.is_valid(0).then(|| a.value(0))
}

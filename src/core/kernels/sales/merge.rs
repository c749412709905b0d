//! Merging partial states of the sales analyses: keys are grouped again, counts and sums add,
//! value lists concatenate (docs/architecture.md (partial state → merge → finish)).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};

use crate::core::engine::groups::{group_ids, take_rows};
use crate::core::engine::state::{meta, MergeInput, Meta};
use crate::core::error::{KpiError, KpiResult};
use crate::core::input::Column;

use super::partial::{list_array, segment_groups};

/// Merge partial states of analysis `name` made of disjoint row sets with equal settings.
pub(crate) fn merge_states(states: &[RecordBatch], name: &'static str) -> KpiResult<RecordBatch> {
    let input = MergeInput::check(states, name, &[])?;
    let first = states[0].schema();
    let m = Meta::of(&first, name)?;
    let n_keys = usize::from(!m.get(meta::FREQ)?.is_empty()) + m.parse::<usize>(meta::SEGMENTS)?;
    let merged = merge_plain(&input.plain, n_keys)?;
    input.finish(merged, &[])
}

fn merge_plain(states: &[RecordBatch], n_keys: usize) -> KpiResult<RecordBatch> {
    let first = &states[0];
    for s in states {
        if s.num_columns() != first.num_columns() || s.num_columns() < n_keys {
            return Err(KpiError::param(
                "states",
                "partial states were computed by different analyses or with different settings",
            ));
        }
    }
    let schema = first.schema();
    let mut fields: Vec<Field> = Vec::new();
    let mut keys: Vec<Column> = Vec::new();
    for j in 0..n_keys {
        // An empty partition may type a key Null, another library Utf8 vs LargeUtf8: cast
        // every key to the first real type.
        let target = states
            .iter()
            .map(|s| s.column(j).data_type().clone())
            .find(|t| *t != DataType::Null)
            .unwrap_or(DataType::Null);
        let chunks = states
            .iter()
            .map(|s| {
                let a = s.column(j);
                if *a.data_type() == target {
                    Ok(a.clone())
                } else {
                    Ok(arrow::compute::cast(a, &target)?)
                }
            })
            .collect::<KpiResult<Vec<_>>>()?;
        fields.push(Field::new(schema.field(j).name(), target, true));
        keys.push(Column::new(schema.field(j).name().clone(), chunks));
    }
    let total: usize = states.iter().map(|s| s.num_rows()).sum();
    let groups = if n_keys == 0 {
        segment_groups(&[], total)?
    } else {
        group_ids(&keys)?
    };
    let mut out: Vec<ArrayRef> = Vec::new();
    for k in &keys {
        out.push(take_rows(k, &groups.first_row)?);
    }
    let ng = groups.len();
    for j in n_keys..schema.fields().len() {
        let f = schema.field(j);
        fields.push(f.clone());
        let mut row = 0;
        let wrong = || {
            KpiError::param(
                "states",
                format!("column {:?} differs in type between the states", f.name()),
            )
        };
        for s in states {
            if s.column(j).data_type() != f.data_type() {
                return Err(wrong());
            }
        }
        match f.data_type() {
            DataType::Int64 => {
                let mut acc = vec![0i64; ng];
                for s in states {
                    for v in s.column(j).as_primitive::<Int64Type>().values() {
                        let g = groups.ids[row] as usize;
                        acc[g] = acc[g].checked_add(*v).ok_or_else(|| KpiError::Overflow {
                            what: format!("sum of {:?}", f.name()),
                        })?;
                        row += 1;
                    }
                }
                out.push(Arc::new(Int64Array::from(acc)));
            }
            DataType::Float64 => {
                let mut acc = vec![0f64; ng];
                for s in states {
                    for v in s.column(j).as_primitive::<Float64Type>().values() {
                        acc[groups.ids[row] as usize] += v;
                        row += 1;
                    }
                }
                out.push(Arc::new(Float64Array::from(acc)));
            }
            DataType::List(_) => {
                let mut acc: Vec<Vec<f64>> = vec![Vec::new(); ng];
                for s in states {
                    let l = s.column(j).as_list::<i32>();
                    for r in 0..l.len() {
                        acc[groups.ids[row] as usize].extend_from_slice(list_values(l, r));
                        row += 1;
                    }
                }
                out.push(Arc::new(list_array(acc)));
            }
            _ => return Err(wrong()),
        }
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), out)?)
}

/// The values of list `r` (a state's lists hold Float64 values).
pub(crate) fn list_values(l: &ListArray, r: usize) -> &[f64] {
    let offs = l.value_offsets();
    let vals = l.values().as_primitive::<Float64Type>().values();
    &vals[offs[r] as usize..offs[r + 1] as usize]
}

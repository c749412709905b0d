//! The one error type of the core. Every variant names what was wrong (column or parameter),
//! the rule that was broken and, for bad values, up to five offending rows.

use std::fmt;

use arrow::error::ArrowError;

/// How many offending rows an error message quotes.
pub const MAX_EXAMPLES: usize = 5;

/// One offending value: its row position in the input and a printable rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub row: usize,
    pub value: String,
}

/// Offending rows of one rule, with the total count (the examples are capped at [`MAX_EXAMPLES`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BadRows {
    pub count: usize,
    pub examples: Vec<BadRow>,
}

impl BadRows {
    pub fn push(&mut self, row: usize, value: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(BadRow {
                row,
                value: value(),
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Combine counts from two parts of the input (rows of `other` are already global positions).
    pub fn merge(&mut self, other: BadRows) {
        self.count += other.count;
        for ex in other.examples {
            if self.examples.len() < MAX_EXAMPLES {
                self.examples.push(ex);
            }
        }
    }
}

impl fmt::Display for BadRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .examples
            .iter()
            .map(|b| format!("row {}: {}", b.row, b.value))
            .collect();
        write!(f, "{} row(s), e.g. {}", self.count, shown.join("; "))
    }
}

/// Every failure the core can report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KpiError {
    /// A column the call needs is not in the table.
    #[error("column {column:?} not found; the table has columns {available:?}")]
    MissingColumn {
        column: String,
        available: Vec<String>,
    },

    /// A column has an Arrow type the computation cannot use.
    #[error("column {column:?} must be {expected}, got {found}")]
    WrongType {
        column: String,
        expected: String,
        found: String,
    },

    /// Values that break a rule of the computation (out of range, missing, not an integer…).
    #[error("column {column:?}: {rule}: {rows}")]
    InvalidValues {
        column: String,
        rule: String,
        rows: BadRows,
    },

    /// Inputs that must align row by row have different lengths.
    #[error(
        "{left:?} has {left_len} rows but {right:?} has {right_len}; they must align row by row"
    )]
    LengthMismatch {
        left: String,
        left_len: usize,
        right: String,
        right_len: usize,
    },

    /// A parameter is out of range or not recognised.
    #[error("parameter {name:?}: {reason}")]
    InvalidParameter { name: String, reason: String },

    /// A count or sum no longer fits its integer type.
    #[error("{what} overflowed")]
    Overflow { what: String },

    /// An iterative computation (a model fit, a series) stopped without an answer it can trust.
    #[error("{what} did not converge: {reason}")]
    NotConverged { what: String, reason: String },

    /// The Arrow compute layer failed.
    #[error("arrow: {0}")]
    Arrow(#[from] ArrowError),

    /// A bug in kpikit (including a caught panic). Never the user's fault.
    #[error("internal error in kpikit: {0}. This is a bug; please report it with the call that produced it")]
    Internal(String),
}

pub type KpiResult<T> = Result<T, KpiError>;

impl KpiError {
    /// The error of a part of the input that starts at row `offset`, with its example rows
    /// renumbered as positions in the whole input.
    pub fn at_offset(self, offset: usize) -> KpiError {
        match self {
            KpiError::InvalidValues {
                column,
                rule,
                mut rows,
            } => {
                for ex in &mut rows.examples {
                    ex.row += offset;
                }
                KpiError::InvalidValues { column, rule, rows }
            }
            other => other,
        }
    }

    pub fn param(name: &str, reason: impl Into<String>) -> Self {
        KpiError::InvalidParameter {
            name: name.to_string(),
            reason: reason.into(),
        }
    }

    /// An integer parameter checked against its documented bound `lo..=hi`, as the integer
    /// type the computation uses. `value` is wide (i128) so that a Python int of any size
    /// reaches the check instead of overflowing on the way in.
    pub fn int_param<T: TryFrom<i128>>(
        name: &str,
        value: i128,
        lo: i128,
        hi: i128,
    ) -> KpiResult<T> {
        if (lo..=hi).contains(&value) {
            if let Ok(v) = T::try_from(value) {
                return Ok(v);
            }
        }
        Err(KpiError::param(
            name,
            format!("must be an integer from {lo} to {hi}, got {value}"),
        ))
    }

    pub fn wrong_type(column: &str, expected: &str, found: impl fmt::Display) -> Self {
        KpiError::WrongType {
            column: column.to_string(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    /// `Ok(())` when no row broke `rule`, otherwise the error naming them.
    pub fn check_rows(column: &str, rule: &str, rows: BadRows) -> KpiResult<()> {
        if rows.is_empty() {
            Ok(())
        } else {
            Err(KpiError::InvalidValues {
                column: column.to_string(),
                rule: rule.to_string(),
                rows,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_values_message_names_column_rule_and_at_most_five_rows() {
        let mut rows = BadRows::default();
        for i in 0..8 {
            rows.push(i * 10, || format!("{}", i as f64 + 0.5));
        }
        let msg = KpiError::check_rows("score", "must be an integer from 0 to 10", rows)
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("column \"score\": must be an integer from 0 to 10: 8 row(s)"));
        assert!(msg.contains("row 40: 4.5"));
        assert!(!msg.contains("row 50"));
    }
}

//! Which fitted categories are infrequent, as scikit-learn's
//! `OneHotEncoder._identify_infrequent` decides (sklearn 1.1 and later),
//! and the high-cardinality warning `fit` logs. Not for the state or its
//! encoding: that is [`crate::state`].

/// How `fit` groups rare categories: the `min_frequency` and
/// `max_categories` params.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grouping {
    /// A category seen fewer times than this is infrequent: an absolute
    /// count when >= 1, a fraction of the rows when in (0, 1); 0 is off.
    pub min_frequency: f64,
    /// At most this many output columns per input column, the infrequent
    /// column included; 0 is no limit.
    pub max_categories: usize,
}

impl Grouping {
    /// No grouping: every category gets its own column.
    pub const NONE: Grouping = Grouping {
        min_frequency: 0.0,
        max_categories: 0,
    };

    /// Which of the categories, whose row counts are `counts` (in category
    /// order), are infrequent; `rows` is the number of rows fitted (nulls
    /// included, as scikit-learn's `n_samples`).
    ///
    /// As scikit-learn: a category is infrequent when its count is below
    /// `min_frequency` (times `rows` for a fraction). Then, if the frequent
    /// categories plus one infrequent column would be more than
    /// `max_categories`, only the `max_categories - 1` most frequent stay
    /// frequent (none when `max_categories` is 1): the categories are
    /// sorted by count with a stable sort and all but the last
    /// `max_categories - 1` become infrequent, so among categories of equal
    /// count the later ones in category order stay frequent.
    pub fn infrequent(&self, counts: &[u64], rows: usize) -> Vec<bool> {
        let threshold = if self.min_frequency >= 1.0 {
            self.min_frequency
        } else {
            self.min_frequency * rows as f64
        };
        let mut infrequent: Vec<bool> = counts.iter().map(|&c| (c as f64) < threshold).collect();
        let frequent = infrequent.iter().filter(|&&i| !i).count();
        if self.max_categories > 0 && self.max_categories < frequent + 1 {
            let keep = self.max_categories - 1;
            let mut order: Vec<usize> = (0..counts.len()).collect();
            // `sort_by_key` is stable, as numpy's `argsort(kind="mergesort")`.
            order.sort_by_key(|&i| counts[i]);
            for &i in &order[..counts.len() - keep] {
                infrequent[i] = true;
            }
        }
        infrequent
    }
}

/// A column makes "many" columns past this count, whatever its rows.
pub const MANY_COLUMNS: usize = 100;

/// A column looks like an id when it makes at least this many columns
/// and its distinct values are at least [`ID_LIKE_SHARE`] of its present
/// rows.
pub const ID_LIKE_MIN_COLUMNS: usize = 10;

/// See [`ID_LIKE_MIN_COLUMNS`].
pub const ID_LIKE_SHARE: f64 = 0.9;

/// The warning `fit` logs for a column that makes `outputs` indicator
/// columns from `distinct` categories over `present` non-null rows, or
/// `None` when that is not many: more than [`MANY_COLUMNS`], or an id-like
/// column (see [`ID_LIKE_MIN_COLUMNS`]).
pub fn high_cardinality_warning(
    column: &str,
    outputs: usize,
    distinct: usize,
    present: usize,
) -> Option<String> {
    let id_like =
        outputs >= ID_LIKE_MIN_COLUMNS && distinct as f64 >= ID_LIKE_SHARE * present as f64;
    if outputs <= MANY_COLUMNS && !id_like {
        return None;
    }
    let looks = if id_like {
        " (nearly one per row: an id column?)"
    } else {
        ""
    };
    Some(format!(
        "one-hot: column '{column}' has {distinct} distinct values in {present} rows and \
         makes {outputs} columns{looks}; set max_categories or min_frequency to group rare \
         categories into '{column}=infrequent', or list only the categorical columns in \
         `columns`"
    ))
}

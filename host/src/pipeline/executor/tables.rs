//! Table memory: the tables the run's steps made (where each node's train
//! and holdout parts are), their batches and the plugin inputs made of
//! them (`PluginInput`) kept for the steps that read them, encoded as
//! Parquet when stored, and let go of when no step needs them. Not for the writing itself (see
//! [`writes`](super::writes)).

use super::error::{Failing, StepAbort};
use super::{RunCtx, lock};
use crate::artifacts::ArtifactDigest;
use crate::pipeline::plan::PlannedStep;
use crate::runtime::view::{ColumnView, TableView};
use crate::{data, wit};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::Arc;

/// Where a table-valued node's parts are: a part is one of the two row
/// sets of the dataset's train/holdout split, carried through every step
/// (the holdout part only when the dataset is split).
#[derive(Debug, Clone)]
pub(super) struct Parts {
    pub(super) train: ArtifactDigest,
    pub(super) holdout: Option<ArtifactDigest>,
}

/// A table output encoded as Parquet (in pieces) and hashed.
pub(super) struct Encoded {
    pub(super) batch: RecordBatch,
    pub(super) pieces: Vec<Bytes>,
    pub(super) digest: ArtifactDigest,
}

/// Encode and hash `batch` on a blocking thread. The work starts at once:
/// the caller can go on (apply to the holdout, encode another part) and
/// await the result when it needs it.
pub(super) fn encode(batch: RecordBatch) -> impl Future<Output = Result<Encoded, String>> {
    let task = tokio::task::spawn_blocking(move || {
        let pieces = data::write_parquet_pieces(&batch).map_err(|e| e.to_string())?;
        let digest = ArtifactDigest::of_pieces(pieces.iter().map(|p| p.as_ref()));
        Ok(Encoded {
            batch,
            pieces,
            digest,
        })
    });
    async move {
        task.await
            .unwrap_or_else(|e| Err(format!("encoding an output as Parquet failed: {e}")))
    }
}

/// A step's input as plugins get it: the features, and the target column
/// (the label) taken out of them when the step has a target and the table
/// holds it. Not a train/holdout split: that is the dataset's
/// ([`SplitDef`](crate::pipeline::definition::SplitDef)).
pub(super) type PluginInput = (Arc<wit::Table>, Option<Arc<wit::Column>>);

impl RunCtx<'_> {
    /// Store a table output as Parquet, and keep the batch for the steps
    /// that read it in this run. They get the same table from it as from
    /// the artifact read back (a resumed run): `batch_to_table` puts
    /// placeholders in null slots, the only place the two can differ.
    pub(super) async fn put_batch(
        &self,
        step: &str,
        batch: RecordBatch,
    ) -> Result<ArtifactDigest, StepAbort> {
        self.put_encoded(step, encode(batch).await).await
    }

    /// [`put_batch`](Self::put_batch) of a batch already [`encode`]d (or
    /// that failed to encode).
    pub(super) async fn put_encoded(
        &self,
        step: &str,
        encoded: Result<Encoded, String>,
    ) -> Result<ArtifactDigest, StepAbort> {
        let Encoded {
            batch,
            pieces,
            digest,
        } = encoded.failed()?;
        let stored = self
            .put_pieces(step, pieces, digest, "application/vnd.apache.parquet")
            .await?;
        lock(&self.state.batches).insert(stored.clone(), Arc::new(batch));
        Ok(stored)
    }

    /// Lets go of the tables (batches and the plugin inputs sharing their values)
    /// that none of `unfinished` reads, so the memory of a table no step
    /// needs any more serves the next step's tables and encodings warm
    /// instead of fresh pages (on the 1M-row e2e benchmark, tables held to
    /// the end of the run made every later step fault fresh memory in:
    /// docs/benchmarks.md; benches/results/2026-11-27-e2e-6-memory-permutations.md,
    /// change 1). A table read
    /// again later comes back from the store.
    pub(super) fn release_tables<'p>(&self, unfinished: impl Iterator<Item = &'p PlannedStep>) {
        let live: HashSet<ArtifactDigest> = {
            let tables = lock(&self.state.tables);
            unfinished
                .flat_map(|step| {
                    std::iter::once(&step.input)
                        .chain(&step.reference)
                        .filter_map(|source| tables.get(source.name()))
                })
                .flat_map(|parts| std::iter::once(&parts.train).chain(&parts.holdout))
                .cloned()
                .collect()
        };
        lock(&self.state.batches).retain(|digest, _| live.contains(digest));
        lock(&self.state.plugin_inputs).retain(|(digest, _), _| live.contains(digest));
    }

    pub(super) async fn batch(
        &self,
        digest: &ArtifactDigest,
    ) -> Result<Arc<RecordBatch>, StepAbort> {
        if let Some(b) = lock(&self.state.batches).get(digest) {
            return Ok(b.clone());
        }
        let bytes = self.blob(digest).await?;
        match data::read_parquet(&bytes) {
            Ok(b) => {
                let b = Arc::new(b);
                lock(&self.state.batches).insert(digest.clone(), b.clone());
                Ok(b)
            }
            Err(e) => Err(StepAbort::Failed(format!("artifact {digest}: {e}"))),
        }
    }
}

/// A step's input as it is lowered into the plugin (see
/// [`view`](crate::runtime::view)): the table a transform returned, kept,
/// or the batch's columns, the f64 and i64 ones sharing its buffers. The
/// plugin gets the same table as from [`data::batch_to_table`], without
/// the copy of the batch that makes.
pub(super) enum LoweredInput {
    Kept(PluginInput),
    Columns {
        features: Vec<data::PluginColumn>,
        label: Option<data::PluginColumn>,
    },
}

impl crate::runtime::view::RowSource for LoweredInput {
    fn features(&self) -> TableView<'_> {
        LoweredInput::features(self)
    }

    fn target(&self) -> Option<ColumnView<'_>> {
        self.label()
    }
}

impl LoweredInput {
    pub(super) fn features(&self) -> TableView<'_> {
        match self {
            LoweredInput::Kept((features, _)) => TableView::from(features.as_ref()),
            LoweredInput::Columns { features, .. } => data::plugin_table(features),
        }
    }

    pub(super) fn label(&self) -> Option<ColumnView<'_>> {
        match self {
            LoweredInput::Kept((_, label)) => label.as_deref().map(ColumnView::from),
            LoweredInput::Columns { label, .. } => label.as_ref().map(data::PluginColumn::view),
        }
    }

    /// The label as an owned column, to put back beside what a transform
    /// returned: the kept one, or a copy of the batch's.
    pub(super) fn label_column(&self) -> Option<Arc<wit::Column>> {
        match self {
            LoweredInput::Kept((_, label)) => label.clone(),
            LoweredInput::Columns { label, .. } => label.as_ref().map(|c| Arc::new(c.to_column())),
        }
    }
}

impl RunCtx<'_> {
    /// The table a transform returned as artifact `digest`, kept with the
    /// label `target` taken out, if it is.
    fn kept_input(&self, digest: &ArtifactDigest, target: Option<&str>) -> Option<PluginInput> {
        let key = (digest.clone(), target.map(str::to_owned));
        lock(&self.state.plugin_inputs).get(&key).cloned()
    }

    /// The input of artifact `digest`, with the label `target` taken out,
    /// as [`LoweredInput`].
    pub(super) async fn lowered_input(
        &self,
        digest: &ArtifactDigest,
        target: Option<&str>,
    ) -> Result<LoweredInput, StepAbort> {
        if let Some(input) = self.kept_input(digest, target) {
            return Ok(LoweredInput::Kept(input));
        }
        let batch = self.batch(digest).await?;
        let mut features = data::batch_to_plugin_columns(&batch).failed()?;
        let label = target
            .and_then(|t| features.iter().position(|c| c.name() == t))
            .map(|i| features.remove(i));
        Ok(LoweredInput::Columns { features, label })
    }
}

/// Take the label column `target` out of a table: the features, and the
/// label if the table has it.
pub(super) fn take_label(
    mut table: wit::Table,
    target: Option<&str>,
) -> (wit::Table, Option<wit::Column>) {
    let Some(target) = target else {
        return (table, None);
    };
    match table.columns.iter().position(|c| c.name == target) {
        Some(i) => {
            let label = table.columns.remove(i);
            (table, Some(label))
        }
        None => (table, None),
    }
}

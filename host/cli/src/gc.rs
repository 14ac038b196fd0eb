//! `sluice gc`: delete artifacts nothing refers to, and clean what killed
//! processes left: staging files of interrupted writes, storage counted
//! for objects no longer stored, storage reserved by dead processes.

use super::output::outln;
use clap::Args;
use sluice::Workspace;
use sluice::artifacts::StoredArtifact;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Delete the unreferenced artifacts; without it, only list them.
    #[arg(long)]
    pub yes: bool,
    /// Keep artifacts written less than this long ago (`90s`, `30m`, `2h`,
    /// `7d`, `0s`), so a run in progress never loses what it just wrote.
    #[arg(long, default_value = "1h", value_parser = parse_age)]
    pub min_age: chrono::Duration,
    /// Print one JSON object: store, count, bytes, deleted, artifacts, and
    /// what was cleaned (staging, records_repaired, reservations_released).
    #[arg(long)]
    pub json: bool,
}

/// An age like `90s`, `30m`, `2h` or `7d`.
pub fn parse_age(text: &str) -> Result<chrono::Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` needs a unit: s, m, h or d"))?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30m"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: unknown unit `{unit}`; use s, m, h or d")),
    };
    n.checked_mul(seconds_per_unit)
        .and_then(chrono::Duration::try_seconds)
        .ok_or_else(|| format!("`{text}` is too long an age"))
}

/// References come from the metadata store: every step's inputs and
/// outputs, every step's plugin component, every digest in a model version.
pub async fn gc(home: &Workspace, args: GcArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let store = home.artifacts()?;
    let cutoff = chrono::Utc::now()
        .checked_sub_signed(args.min_age)
        .ok_or_else(|| {
            anyhow::anyhow!("--min-age reaches back further than dates go (about 262000 years)")
        })?;
    let in_progress = meta
        .runs_in_progress_since(&cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .await?;
    // The tenant's records are read before the listing: an object written
    // and recorded in between is listed, so an object recorded but not
    // listed is truly gone (a gc killed between deleting files and
    // forgetting them left such records).
    let recorded = meta.tenant_artifact_digests(&tenant.name).await?;
    // Listed before the references are read: an artifact written and
    // recorded in between is then either not listed or referenced.
    let stored = store.list_stored().await?;
    let referenced = meta.referenced_artifacts().await?;
    let (garbage, young): (Vec<StoredArtifact>, Vec<StoredArtifact>) = stored
        .iter()
        .filter(|a| !referenced.contains(&a.digest))
        .cloned()
        .partition(|a| a.last_modified <= cutoff);
    let bytes: u64 = garbage.iter().map(|a| a.size).sum();
    let listed: std::collections::HashSet<_> = stored.iter().map(|a| &a.digest).collect();
    let unstored: Vec<_> = recorded
        .into_iter()
        .filter(|d| !listed.contains(d))
        .collect();
    let staging = store.stale_staging(cutoff)?;

    if args.yes && !in_progress.is_empty() {
        anyhow::bail!(
            "runs in progress ({}) started within --min-age; gc deletes nothing while \
             they may still record what they wrote. Wait for them, or lower --min-age if \
             they died",
            in_progress.join(", ")
        );
    }
    let mut released = 0;
    if args.yes {
        // Forgotten first, then deleted: a gc killed midway leaves files
        // nothing counts, which the next gc finds and deletes.
        let deleted: Vec<_> = garbage.iter().map(|a| a.digest.clone()).collect();
        meta.forget_artifacts(&tenant.name, &deleted).await?;
        sluice::crash::point("gc-before-delete");
        for a in &garbage {
            store.delete(&a.digest).await?;
        }
        meta.forget_artifacts(&tenant.name, &unstored).await?;
        for (path, _) in &staging {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => anyhow::bail!("cannot remove staging file {}: {e}", path.display()),
            }
        }
        released = meta.release_dead_reservations(None).await?;
    }
    let staged_bytes: u64 = staging.iter().map(|(_, size)| size).sum();

    if args.json {
        super::output::print_json(&serde_json::json!({
            "store": store.describe(),
            "stored": stored.len(),
            "referenced": stored.len() - garbage.len() - young.len(),
            "unreferenced": garbage.len(),
            "bytes": bytes,
            "kept_young": young.len(),
            "deleted": args.yes,
            "staging": {
                "files": staging.len(),
                "bytes": staged_bytes,
            },
            "records_repaired": unstored.len(),
            "reservations_released": released,
            "artifacts": garbage.iter().map(|a| serde_json::json!({
                "digest": a.digest,
                "size": a.size,
                "last_modified": a.last_modified.to_rfc3339(),
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for a in &garbage {
        outln!(
            "{}  {:>12} bytes  {}",
            a.digest,
            a.size,
            a.last_modified.to_rfc3339()
        );
    }
    let verb = if args.yes { "deleted" } else { "unreferenced" };
    outln!(
        "{verb}: {} artifacts, {} bytes, in {} ({} stored, {} newer than --min-age kept)",
        garbage.len(),
        bytes,
        store.describe(),
        stored.len(),
        young.len()
    );
    if !staging.is_empty() {
        outln!(
            "{}: {} staging files of interrupted writes, {staged_bytes} bytes",
            if args.yes { "removed" } else { "left over" },
            staging.len()
        );
    }
    if !unstored.is_empty() {
        outln!(
            "{}: storage counted for {} artifacts no longer stored",
            if args.yes { "repaired" } else { "to repair" },
            unstored.len()
        );
    }
    if released > 0 {
        outln!("released: {released} storage reservations of processes that died");
    }
    let cleanable = !garbage.is_empty() || !staging.is_empty() || !unstored.is_empty();
    if !args.yes && cleanable {
        outln!("dry run: `sluice gc --yes` deletes and repairs them");
    }
    Ok(ExitCode::SUCCESS)
}

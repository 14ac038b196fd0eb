//! Reading datasets: CSV values that are not what their column holds,
//! damaged Parquet pages, files larger than a tenant may read.

use crate::support::*;
use std::path::{Path, PathBuf};

/// The example's breast cancer CSV, written to `dir/name` with the
/// `mean_radius` (first) field of some lines replaced: `(line, value)`,
/// line 1 being the header.
fn cancer_with(dir: &Path, name: &str, fields: &[(usize, &str)]) -> PathBuf {
    let text = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (line, value) in fields {
        let row = &mut lines[line - 1];
        let rest = row.split_once(',').unwrap().1.to_owned();
        *row = format!("{value},{rest}");
    }
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// `sluice run --json` of `pipeline` in `home`.
fn run(home: &Path, pipeline: &Path) -> std::process::Output {
    sluice(home)
        .args(["run", "--json"])
        .arg(pipeline)
        .output()
        .unwrap()
}

/// The error of the run's dataset step, which must have failed.
fn dataset_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    let report = json(out);
    let step = &report["steps"][0];
    assert_eq!(step["id"], "dataset:cancer", "{report}");
    assert_eq!(step["status"], "failed", "{report}");
    step["error"].as_str().unwrap().to_owned()
}

/// The `mean_radius` column of a run's dataset, train and holdout parts
/// read back from the store of `home` and joined.
fn radius(home: &Path, report: &serde_json::Value) -> arrow::array::ArrayRef {
    let step = &report["steps"][0];
    assert_eq!(step["status"], "succeeded", "{report}");
    let parts: Vec<arrow::array::ArrayRef> = ["train", "holdout"]
        .iter()
        .map(|part| {
            let digest = step["outputs"][part].as_str().unwrap();
            stored_table(home, digest)
                .column_by_name("mean_radius")
                .unwrap()
                .clone()
        })
        .collect();
    let parts: Vec<&dyn arrow::array::Array> = parts.iter().map(|a| a.as_ref()).collect();
    arrow::compute::concat(&parts).unwrap()
}

/// Issue 18, point 15: `NaN`, `nan`, `NA`, `N/A`, an empty field and the
/// infinities leave a CSV number column numeric (the first five missing,
/// as pandas reads them, the infinities infinite).
#[test]
fn nan_na_and_inf_in_a_csv_number_column_keep_it_numeric() {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type};
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = ["NaN", "nan", "NA", "", "N/A"];
    let fields: Vec<(usize, &str)> = missing
        .iter()
        .enumerate()
        .map(|(i, t)| (i + 2, *t))
        .collect();
    let data = cancer_with(dir.path(), "tokens.csv", &fields);
    let out = run(home.path(), &pipeline_reading(dir.path(), "tokens", &data));
    let report = json(&succeeded(
        out,
        "a run over NaN, nan, NA, N/A and an empty field",
    ));
    let column = radius(home.path(), &report);
    assert_eq!(column.data_type(), &DataType::Float64);
    assert_eq!(column.null_count(), missing.len());
    for token in ["inf", "-inf", "Infinity"] {
        let data = cancer_with(dir.path(), "inf.csv", &[(2, token)]);
        let p = pipeline_reading(dir.path(), "inf", &data);
        // What standardize makes of an infinity is its own affair: the
        // dataset step reads it as a number.
        let column = radius(home.path(), &json(&run(home.path(), &p)));
        let values = column.as_primitive::<Float64Type>();
        let infinite: Vec<f64> = values
            .iter()
            .flatten()
            .filter(|v| v.is_infinite())
            .collect();
        let want = if token.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        assert_eq!(infinite, [want], "{token}");
    }
}

/// Issue 18, point 15: a number column with a stray string, or with a
/// literal beyond f64 (`1e999`), fails the dataset step naming the file,
/// the line, the column and the value, instead of becoming text (or
/// infinity) and failing later with no line or value.
#[test]
fn a_stray_string_or_1e999_in_a_csv_number_column_fails_the_dataset_step() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (value, problem) in [
        (
            "oops",
            "\"oops\" is not a number, but 568 of the column's 569 values are",
        ),
        ("1e999", "\"1e999\" is beyond the range of a 64-bit float"),
    ] {
        let data = cancer_with(dir.path(), "stray.csv", &[(10, value)]);
        let out = run(home.path(), &pipeline_reading(dir.path(), "stray", &data));
        let err = dataset_error(&out);
        let want = format!(
            "`{}` line 10, column `mean_radius`: {problem}",
            data.display()
        );
        assert!(err.starts_with(&want), "{value}: {err}");
    }
}

/// `bytes`, a Parquet file written without a page index, with a CRC-32 of
/// each page in its header, as pyarrow writes with
/// `write_page_checksum=True` (the parquet crate does not); and where
/// each page's data lies in the new file.
fn with_page_checksums(bytes: &[u8]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    use parquet::format::{FileMetaData, PageHeader};
    use parquet::thrift::{TCompactOutputProtocol, TSerializable};
    use thrift::protocol::TCompactInputProtocol;
    let tail = bytes.len() - 8;
    let footer_len = u32::from_le_bytes(bytes[tail..tail + 4].try_into().unwrap()) as usize;
    let mut footer = &bytes[tail - footer_len..tail];
    let mut meta =
        FileMetaData::read_from_in_protocol(&mut TCompactInputProtocol::new(&mut footer)).unwrap();
    let mut out = b"PAR1".to_vec();
    let mut pages = Vec::new();
    for group in &mut meta.row_groups {
        let group_start = out.len();
        for chunk in &mut group.columns {
            assert!(chunk.offset_index_offset.is_none() && chunk.column_index_offset.is_none());
            let m = chunk.meta_data.as_mut().unwrap();
            let start = m.dictionary_page_offset.unwrap_or(m.data_page_offset) as usize;
            let mut rest = &bytes[start..start + m.total_compressed_size as usize];
            let chunk_start = out.len();
            m.dictionary_page_offset = m.dictionary_page_offset.map(|_| chunk_start as i64);
            let mut first_data_page = None;
            while !rest.is_empty() {
                let mut header =
                    PageHeader::read_from_in_protocol(&mut TCompactInputProtocol::new(&mut rest))
                        .unwrap();
                let (page, after) = rest.split_at(header.compressed_page_size as usize);
                header.crc = Some(crc32fast::hash(page) as i32);
                if header.dictionary_page_header.is_none() {
                    first_data_page.get_or_insert(out.len());
                }
                header
                    .write_to_out_protocol(&mut TCompactOutputProtocol::new(&mut out))
                    .unwrap();
                pages.push(out.len()..out.len() + page.len());
                out.extend_from_slice(page);
                rest = after;
            }
            let grown = (out.len() - chunk_start) as i64 - m.total_compressed_size;
            m.data_page_offset = first_data_page.unwrap() as i64;
            m.total_compressed_size += grown;
            m.total_uncompressed_size += grown;
            chunk.file_offset = chunk_start as i64;
        }
        group.file_offset = Some(group_start as i64);
        group.total_compressed_size = Some((out.len() - group_start) as i64);
    }
    let footer_start = out.len();
    meta.write_to_out_protocol(&mut TCompactOutputProtocol::new(&mut out))
        .unwrap();
    let footer_len = (out.len() - footer_start) as u32;
    out.extend_from_slice(&footer_len.to_le_bytes());
    out.extend_from_slice(b"PAR1");
    (out, pages)
}

/// Issue 18, point 15: a Parquet dataset whose pages carry checksums is
/// checked against them: with one byte of a page flipped, the dataset
/// step fails naming the file and the checksum (pyarrow refuses the same
/// file), instead of training on the damaged value.
#[test]
fn a_parquet_page_that_fails_its_checksum_fails_the_dataset_step() {
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cancer =
        sluice::data::read_table(&root().join("pipelines/data/breast_cancer.csv")).unwrap();
    // Plain pages, as pyarrow writes floats without a dictionary: a byte
    // flipped in one is a different value, which decodes.
    let properties = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_offset_index_disabled(true)
        .build();
    let mut plain = Vec::new();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(&mut plain, cancer.schema(), Some(properties))
            .unwrap();
    writer.write(&cancer).unwrap();
    writer.close().unwrap();
    let (checked, pages) = with_page_checksums(&plain);
    // The checksums are right: the file reads, and the run succeeds.
    let good = dir.path().join("good.parquet");
    std::fs::write(&good, &checked).unwrap();
    let out = run(home.path(), &pipeline_reading(dir.path(), "good", &good));
    succeeded(out, "a run over a Parquet file with page checksums");
    // One bit of a value in the first column's page flipped.
    let mut damaged = checked;
    damaged[pages[0].start + pages[0].len() / 2] ^= 0x10;
    let bad = dir.path().join("flipped.parquet");
    std::fs::write(&bad, &damaged).unwrap();
    let err = dataset_error(&run(
        home.path(),
        &pipeline_reading(dir.path(), "bad", &bad),
    ));
    assert!(
        err.starts_with(&format!("cannot decode the Parquet of {}", bad.display())),
        "{err}"
    );
    assert!(err.contains("Page CRC checksum mismatch"), "{err}");
}

/// Issue 18, point 13: a dataset file is read a piece at a time, never
/// whole, to the same artifacts as before: the step's `source` is the
/// file's sha256 and the store holds the file's bytes under it, and the
/// train and holdout parts are those decoding the bytes in memory and
/// splitting them gives. A CSV and a Parquet file of several MiB (more
/// than one piece of every reader), split with stratification.
#[test]
fn a_dataset_read_in_pieces_gives_the_artifacts_of_its_bytes() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = cancer_repeated(10 << 20);
    let csv = dir.path().join("big.csv");
    std::fs::write(&csv, &text).unwrap();
    let batch = sluice::data::table_from_bytes(&csv, text.into_bytes().into()).unwrap();
    let parquet = dir.path().join("big.parquet");
    std::fs::write(&parquet, sluice::data::write_parquet(&batch).unwrap()).unwrap();
    for (name, data) in [("csv", &csv), ("parquet", &parquet)] {
        let bytes = std::fs::read(data).unwrap();
        let out = run(home.path(), &pipeline_reading(dir.path(), name, data));
        let report = json(&succeeded(out, &data.display().to_string()));
        let run_id = report["run_id"].as_str().unwrap();
        let shown = ok_json(home.path(), &["runs", "show", run_id, "--json"]);
        let step = &shown["steps"][0];
        assert_eq!(step["step_id"], "dataset:cancer");
        let source = step["inputs"]["source"].as_str().unwrap();
        assert_eq!(
            source,
            sluice::artifacts::ArtifactDigest::of(&bytes).to_hex(),
            "{}",
            data.display()
        );
        let stored = sluice(home.path())
            .args(["artifacts", "get", source, "-o", "-"])
            .output()
            .unwrap();
        assert!(succeeded(stored, "artifacts get").stdout == bytes);
        let whole = sluice::data::table_from_bytes(data, bytes.into()).unwrap();
        let (train, holdout) =
            sluice::data::split_holdout(&whole, 0.25, 7, Some("benign")).unwrap();
        for (part, table) in [("train", train), ("holdout", holdout)] {
            let want = sluice::artifacts::ArtifactDigest::of(
                &sluice::data::write_parquet(&table).unwrap(),
            );
            assert_eq!(
                report["steps"][0]["outputs"][part],
                want.to_hex(),
                "{}: {part}",
                data.display()
            );
        }
    }
}

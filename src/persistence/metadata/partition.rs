//! One Parquet partition: a batch of metadata rows in one file, and the schema they share.
//!
//! Files are written to `<name>.tmp`, fsynced, then renamed, so a crash leaves either the whole
//! file or none; a reader never sees half a partition under its final name. The schema version
//! and the moment of the flush are written into the file's key-value metadata.

use super::heat::Heat;
use super::table::{NONE, Row, Table};
use crate::persistence::PersistenceError;
use crate::persistence::tiered::Tier;
use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The Parquet schema version this build writes (see `migrations/`).
pub const SCHEMA_VERSION: u32 = 1;
pub const KEY_SCHEMA_VERSION: &str = "ipfs_mcp.metadata_schema_version";
pub const KEY_FLUSHED_AT: &str = "ipfs_mcp.flushed_at_ms";

pub fn schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("cid", DataType::Utf8, false),
        Field::new("size_bytes", DataType::UInt64, true),
        Field::new("mime_type", DataType::Utf8, true),
        Field::new("pinned", DataType::Boolean, false),
        Field::new("first_seen", ts(), false),
        Field::new("last_access", ts(), true),
        Field::new("access_count", DataType::UInt64, false),
        // the score as of the flush (`ipfs_mcp.flushed_at_ms`), so one file sorts truthfully
        Field::new("heat_score", DataType::Float64, false),
        Field::new("tier", DataType::Utf8, false),
        Field::new("backend", DataType::Utf8, false),
    ]))
}

/// The rows as one Arrow batch, heat scores as of `now_ms`.
pub fn to_batch(rows: &[&Row], table: &Table, now_ms: i64, half_life_ms: f64) -> RecordBatch {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.cid.to_string()),
        )),
        Arc::new(UInt64Array::from_iter(rows.iter().map(|r| r.size_bytes))),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| table.mimes.get(r.mime)),
        )),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.pinned)))),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.first_seen_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMillisecondArray::from_iter(rows.iter().map(|r| r.last_access_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.access_count),
        )),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.heat.at(now_ms, half_life_ms)),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.tier.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter()
                .map(|r| table.backends.get(r.backend).unwrap_or("")),
        )),
    ];
    RecordBatch::try_new(schema(), columns).expect("columns match the schema")
}

pub fn writer_properties(flushed_at_ms: i64) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![
            KeyValue::new(KEY_SCHEMA_VERSION.into(), SCHEMA_VERSION.to_string()),
            KeyValue::new(KEY_FLUSHED_AT.into(), flushed_at_ms.to_string()),
        ]))
        .build()
}

fn storage(e: impl std::fmt::Display) -> PersistenceError {
    PersistenceError::Storage(e.to_string())
}

/// Writes `batch` durably to `path` (tmp file, fsync, rename, fsync of the directory).
pub fn write(path: &Path, batch: &RecordBatch, flushed_at_ms: i64) -> Result<(), PersistenceError> {
    let tmp = path.with_extension("parquet.tmp");
    let file = File::create(&tmp).map_err(storage)?;
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), Some(writer_properties(flushed_at_ms)))
            .map_err(storage)?;
    writer.write(batch).map_err(storage)?;
    let mut file = writer.into_inner().map_err(storage)?;
    file.flush().map_err(storage)?;
    file.sync_all().map_err(storage)?;
    std::fs::rename(&tmp, path).map_err(storage)?;
    if let Some(dir) = path.parent() {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(storage)?;
    }
    Ok(())
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, String> {
    batch
        .column_by_name(name)
        .ok_or_else(|| format!("missing column {name}"))?
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("column {name} has the wrong type"))
}

fn tier(s: &str) -> Result<Tier, String> {
    Ok(match s {
        "memory" => Tier::Memory,
        "disk" => Tier::Disk,
        "backend" => Tier::Backend,
        other => return Err(format!("unknown tier {other:?}")),
    })
}

/// Reads a whole partition into `table` (later rows replace earlier ones for the same CID).
/// Any error means the file is unusable: the caller moves it aside.
pub fn read_into(path: &Path, table: &mut Table) -> Result<usize, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let kv = builder.metadata().file_metadata().key_value_metadata();
    let value = |key: &str| {
        kv.and_then(|kv| kv.iter().find(|e| e.key == key))
            .and_then(|e| e.value.as_deref())
    };
    let version: u32 = value(KEY_SCHEMA_VERSION)
        .and_then(|v| v.parse().ok())
        .ok_or("no schema version in the file")?;
    if version != SCHEMA_VERSION {
        return Err(format!(
            "schema version {version}, this build reads {SCHEMA_VERSION}"
        ));
    }
    let flushed_at: i64 = value(KEY_FLUSHED_AT)
        .and_then(|v| v.parse().ok())
        .ok_or("no flush time in the file")?;
    let reader = builder.build().map_err(|e| e.to_string())?;
    let mut staged = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let cid = column::<StringArray>(&batch, "cid")?;
        let size = column::<UInt64Array>(&batch, "size_bytes")?;
        let mime = column::<StringArray>(&batch, "mime_type")?;
        let pinned = column::<BooleanArray>(&batch, "pinned")?;
        let first = column::<TimestampMillisecondArray>(&batch, "first_seen")?;
        let last = column::<TimestampMillisecondArray>(&batch, "last_access")?;
        let count = column::<UInt64Array>(&batch, "access_count")?;
        let heat = column::<Float64Array>(&batch, "heat_score")?;
        let tiers = column::<StringArray>(&batch, "tier")?;
        let backend = column::<StringArray>(&batch, "backend")?;
        for i in 0..batch.num_rows() {
            let opt_str = |a: &StringArray| (!a.is_null(i)).then(|| a.value(i).to_string());
            staged.push((
                cid.value(i)
                    .parse::<cid::Cid>()
                    .map_err(|e| e.to_string())?,
                (!size.is_null(i)).then(|| size.value(i)),
                opt_str(mime),
                pinned.value(i),
                first.value(i),
                (!last.is_null(i)).then(|| last.value(i)),
                count.value(i),
                heat.value(i),
                tier(tiers.value(i))?,
                backend.value(i).to_string(),
            ));
        }
    }
    // Only a fully readable file touches the table.
    let n = staged.len();
    for (cid, size_bytes, mime, pinned, first_seen_ms, last_access_ms, access_count, h, tier, be) in
        staged
    {
        let mime = mime.map_or(NONE, |m| table.mimes.intern(&m));
        let backend = table.backends.intern(&be);
        table.put(Row {
            cid,
            size_bytes,
            mime,
            pinned,
            first_seen_ms,
            last_access_ms,
            access_count,
            heat: Heat {
                value: h,
                at_ms: flushed_at,
            },
            tier,
            backend,
        });
    }
    Ok(n)
}

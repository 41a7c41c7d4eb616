//! The local Glue Data Catalog: one JSON file per pipeline
//! (`LocalLayout::catalog()`), which local crawlers write and
//! `pipec query --local` reads.
//!
//! In: the pipeline's declared zone tables, and what crawlers found. Out: the
//! catalog as a value, and the file, written atomically with sorted keys so
//! that the same state always gives the same bytes. Tables are registered as
//! the `glue-catalog` stack declares them (Athena-safe CSV names, quoted CSV
//! as all strings), because that stack creates them at deploy time, before
//! any crawler runs.

use super::layout::LocalLayout;
use crate::model::{Format, Pipeline, TableSchema};
use crate::names;
use crate::render::stacks::table_format;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The catalog of one pipeline: its Glue database and its tables by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The Glue database name, as the `glue-catalog` stack names it.
    pub database: String,
    pub tables: BTreeMap<String, CatalogTable>,
}

/// One table: what Glue's `TableInput` holds that a query needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogTable {
    /// The local directory of the table's files.
    pub location: String,
    /// `csv`, `json`, `parquet`, `orc` or `iceberg` (the table's `classification`).
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvSerde>,
    /// Data columns in order (partition keys not among them).
    pub columns: Vec<CatalogColumn>,
    #[serde(default)]
    pub partition_keys: Vec<CatalogColumn>,
    /// Registered partitions, `key=value/key=value` relative to the location.
    /// Athena reads only these folders of a partitioned table.
    #[serde(default)]
    pub partitions: Vec<String>,
    /// The crawler that last changed the table; none while it is as declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crawled_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// How Athena reads a CSV table: the SerDe and its properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvSerde {
    /// `OpenCSVSerde` (values may be quoted; every column a string) or
    /// `LazySimpleSerDe` (never quoted; declared types and `null_value`).
    pub serde: String,
    pub delimiter: String,
    pub quote: String,
    pub escape: String,
    /// Whether the first line is skipped (`skip.header.line.count`).
    pub header: bool,
    pub null_value: String,
}

impl CatalogColumn {
    fn new(name: &str, ty: &str) -> CatalogColumn {
        CatalogColumn {
            name: name.to_string(),
            ty: ty.to_string(),
        }
    }
}

/// The format word of a table, as its catalog `classification`.
pub fn format_word(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Parquet => "parquet",
        Format::Orc => "orc",
        Format::Iceberg => "iceberg",
    }
}

/// One declared zone table as the `glue-catalog` stack registers it
/// (src/render/stacks/catalog.rs: the same names, types and SerDe choice).
pub fn declared_table(name: &str, t: &TableSchema, layout: &LocalLayout) -> Option<CatalogTable> {
    if t.format == Some(Format::Iceberg) {
        return iceberg_table(name, t, layout);
    }
    let location = layout.table(name, t)?;
    let format = table_format(t);
    let csv = (format == Format::Csv).then(|| t.csv.clone().unwrap_or_default());
    let all_strings = csv.as_ref().is_some_and(|c| c.quoted);
    let columns = t
        .columns
        .iter()
        .filter(|(c, _)| !t.partition_keys.contains(c))
        .map(|(c, col)| {
            let n = if csv.is_some() {
                names::athena_column(c)
            } else {
                c.clone()
            };
            CatalogColumn::new(&n, if all_strings { "string" } else { col.ty() })
        })
        .collect();
    let partition_keys = t
        .partition_keys
        .iter()
        .filter_map(|k| t.columns.get(k).map(|c| CatalogColumn::new(k, c.ty())))
        .collect();
    Some(CatalogTable {
        location: location.to_string_lossy().into_owned(),
        format: format_word(format).to_string(),
        csv: csv.map(|c| CsvSerde {
            serde: if c.quoted {
                "OpenCSVSerde"
            } else {
                "LazySimpleSerDe"
            }
            .to_string(),
            delimiter: c.delimiter.clone(),
            quote: c.quote.clone(),
            escape: c.escape.clone(),
            header: c.header,
            null_value: c.null_value.clone(),
        }),
        columns,
        partition_keys,
        partitions: Vec::new(),
        crawled_by: None,
    })
}

/// An Iceberg table where a local run's Hadoop catalog keeps it: the zone
/// is the namespace, so `<zone>/<table>/` (templates/iceberg.py.j2,
/// `iceberg_ident`). Its files include rows later snapshots deleted, so the
/// query tool reads it through its metadata (pyiceberg), never file by file.
/// Partitions are hidden in Iceberg: every column is a plain column.
fn iceberg_table(name: &str, t: &TableSchema, layout: &LocalLayout) -> Option<CatalogTable> {
    let zone = t.zone.as_deref()?;
    Some(CatalogTable {
        location: layout.zone(zone).join(name).to_string_lossy().into_owned(),
        format: format_word(Format::Iceberg).to_string(),
        csv: None,
        columns: t
            .columns
            .iter()
            .map(|(c, col)| CatalogColumn::new(c, col.ty()))
            .collect(),
        partition_keys: Vec::new(),
        partitions: Vec::new(),
        crawled_by: None,
    })
}

/// The catalog as a deploy creates it: every declared zone table, no
/// partitions yet.
pub fn declared(p: &Pipeline, layout: &LocalLayout) -> Catalog {
    Catalog {
        database: names::glue_database(&p.pipeline),
        tables: p
            .schemas
            .iter()
            .filter_map(|(n, t)| declared_table(n, t, layout).map(|c| (n.clone(), c)))
            .collect(),
    }
}

/// Reads the catalog file; None when there is none yet.
pub fn read(path: &Path) -> Result<Option<Catalog>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{} is not a pipec catalog: {e}", path.display()))
}

/// The catalog to work on: every declared table as declared now (a deploy
/// of the `glue-catalog` stack adds, updates and drops tables), keeping
/// from the file what crawlers added: partitions, and the crawled schema
/// where the crawler that wrote it has `on_schema_change: update-table`.
pub fn open(p: &Pipeline, layout: &LocalLayout) -> Result<Catalog, String> {
    let mut fresh = declared(p, layout);
    if let Some(old) = read(&layout.catalog())? {
        for (name, t) in fresh.tables.iter_mut() {
            let Some(prev) = old.tables.get(name) else {
                continue;
            };
            if prev.location != t.location || prev.format != t.format {
                continue;
            }
            t.partitions = prev.partitions.clone();
            t.crawled_by = prev.crawled_by.clone();
            let updates = prev
                .crawled_by
                .as_ref()
                .and_then(|c| p.crawlers.get(c))
                .is_some_and(|c| {
                    c.on_schema_change == crate::model::SchemaChange::UpdateTable
                        && c.tables.contains(name)
                });
            if updates {
                t.columns = prev.columns.clone();
                t.partition_keys = prev.partition_keys.clone();
            }
        }
    }
    Ok(fresh)
}

/// The file's bytes: pretty JSON, keys in a fixed order, one final newline.
pub fn to_text(c: &Catalog) -> String {
    let mut s = serde_json::to_string_pretty(c).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes the catalog atomically: to a temporary file beside it, then a
/// rename, so a reader never sees half a catalog.
pub fn write(path: &Path, c: &Catalog) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".catalog.json.{}.tmp", std::process::id()));
    std::fs::write(&tmp, to_text(c)).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

/// Seeds the catalog file from the declaration when there is none, and
/// returns the catalog. A local run calls this before its first stage.
pub fn seed(p: &Pipeline, layout: &LocalLayout) -> Result<Catalog, String> {
    let c = open(p, layout)?;
    write(&layout.catalog(), &c)?;
    Ok(c)
}

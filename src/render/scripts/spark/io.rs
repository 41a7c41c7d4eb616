//! Reading inputs and writing outputs: Spark reader and writer calls per
//! format and connection.
//!
//! In: a table schema (and its connection's variable). Out: the statements
//! that load it into a frame or write a frame to it.

use super::*;

impl Builder<'_> {
    pub(super) fn read(
        &self,
        name: &str,
        t: &TableSchema,
        conn_vars: &IndexMap<String, String>,
    ) -> (String, Expr) {
        if let Some(c) = &t.connection {
            let table = t.jdbc_table.clone().unwrap_or_else(|| name.to_string());
            // `read_jdbc` reads through the connection, or a local run's stand-in.
            let load = call(
                "read_jdbc",
                vec![
                    code("spark".to_string()),
                    s(c.clone()),
                    code(conn_vars[c].clone()),
                    s(table),
                ],
            );
            return (
                format!("{name}: JDBC table through connection {c}."),
                call("observed", vec![load, s(name.to_string()), s("rows_read")]),
            );
        }
        if t.format == Some(Format::Iceberg) {
            return self.read_iceberg(name);
        }
        let format = t.format.unwrap_or(Format::Parquet);
        let mut args = vec![
            code(format!("args[{}]", py::literal(&names::input_arg(name)))),
            kw("format", s(format_name(format))),
            kw(
                "schema",
                call("schema_of", vec![code(Self::columns_const(name))]),
            ),
        ];
        let comment = match format {
            Format::Csv => {
                let o = t.csv.clone().unwrap_or_default();
                args.extend(csv_options(&o, true));
                format!(
                    "{name}: CSV {} a header line, columns by position.",
                    if o.header { "with" } else { "without" }
                )
            }
            f => format!("{name}: {} files.", format_title(f)),
        };
        // `observed` counts the rows read in a local run, and is the frame itself elsewhere.
        let load = call("spark.read.load", args);
        (
            comment,
            call("observed", vec![load, s(name.to_string()), s("rows_read")]),
        )
    }

    pub(super) fn write(
        &self,
        o: &Output,
        var: &str,
        conn_vars: &IndexMap<String, String>,
    ) -> Block {
        let t = self.table(&o.table);
        if t.format == Some(Format::Iceberg) {
            return self.write_iceberg(o, var);
        }
        let mode = match o.mode {
            WriteMode::Overwrite => "overwrite",
            WriteMode::Append => "append",
            // Validation allows merges into Iceberg tables only.
            WriteMode::Error | WriteMode::Merge => "error",
        };
        if let Some(c) = &t.connection {
            let table = t.jdbc_table.clone().unwrap_or_else(|| o.table.clone());
            let mut args = vec![
                code(var.to_string()),
                s(c.clone()),
                code(conn_vars[c].clone()),
                s(table),
                kw("mode", s(mode)),
            ];
            let mut comments = vec![format!(
                "{}: JDBC table through connection {c}, {mode}.",
                o.table
            )];
            if o.mode == WriteMode::Overwrite {
                // Keep the table's definition (grants, types): empty it instead of dropping it.
                args.push(kw("truncate", code("True".to_string())));
                comments.push("Overwrite empties the table but keeps its definition.".into());
            }
            let e = call("write_jdbc", args);
            return Block {
                comments: comments.iter().map(|c| format!("# {c}")).collect(),
                code: format!("{}\n{}", counted(var, &o.table), e.fmt(0, 0, 0)),
            };
        }
        let format = t.format.unwrap_or(Format::Parquet);
        let compression = match o.compression {
            Some(c) => compression_name(c),
            None => match format {
                Format::Parquet | Format::Orc => "snappy",
                Format::Csv | Format::Json | Format::Iceberg => "none",
            },
        };
        let mut args = vec![
            code(format!(
                "args[{}]",
                py::literal(&names::output_arg(&o.table))
            )),
            kw("format", s(format_name(format))),
            kw("mode", s(mode)),
        ];
        if !t.partition_keys.is_empty() {
            args.push(kw(
                "partitionBy",
                Expr::List(t.partition_keys.iter().map(|k| s(k.clone())).collect()),
            ));
        }
        args.push(kw("compression", s(compression)));
        if format == Format::Csv {
            args.extend(csv_options(&t.csv.clone().unwrap_or_default(), false));
        }
        let mode_text = match o.mode {
            WriteMode::Overwrite if !t.partition_keys.is_empty() => {
                "overwrite (only the partitions written are replaced)"
            }
            WriteMode::Overwrite => "overwrite",
            WriteMode::Append => "append",
            WriteMode::Error | WriteMode::Merge => "error if data exists",
        };
        let comment = format!(
            "{}: {} ({compression}), {mode_text}.",
            o.table,
            format_title(format)
        );
        let e = call(format!("{var}.write.save"), args);
        Block {
            comments: py::comment_lines(&comment, 0),
            code: format!("{}\n{}", counted(var, &o.table), e.fmt(0, 0, 0)),
        }
    }
}

/// `var = observed(var, "table", "rows_written")`: counts the rows written
/// in a local run, and is the frame itself elsewhere (see the runtime).
pub(super) fn counted(var: &str, table: &str) -> String {
    assign(
        var,
        &call(
            "observed",
            vec![
                code(var.to_string()),
                s(table.to_string()),
                s("rows_written"),
            ],
        ),
    )
}

/// The CSV options of a read or a write. Under RFC 4180 the quote escapes
/// itself (Spark then reads and writes doubled quotes), and reads take
/// `multiLine`, because a quoted value may hold line breaks.
pub(super) fn csv_options(o: &CsvOptions, read: bool) -> Vec<Expr> {
    let mut v = vec![
        kw("header", code(if o.header { "True" } else { "False" })),
        kw("sep", s(o.delimiter.clone())),
        kw("quote", s(o.quote.clone())),
        kw("escape", s(o.spark_escape().to_string())),
        kw("nullValue", s(o.null_value.clone())),
    ];
    if read && o.preset == Some(CsvPreset::Rfc4180) {
        v.push(kw("multiLine", code("True")));
    }
    v
}

pub(super) fn format_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Parquet => "parquet",
        Format::Orc => "orc",
        Format::Iceberg => "iceberg",
    }
}

pub(super) fn format_title(f: Format) -> &'static str {
    match f {
        Format::Csv => "CSV",
        Format::Json => "JSON lines",
        Format::Parquet => "Parquet",
        Format::Orc => "ORC",
        Format::Iceberg => "Iceberg",
    }
}

pub(super) fn compression_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Snappy => "snappy",
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
        Compression::Lz4 => "lz4",
        Compression::Bzip2 => "bzip2",
    }
}

/// A literal separator as a Java regular expression.
pub fn regex_literal(sep: &str) -> String {
    let mut out = String::new();
    for c in sep.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

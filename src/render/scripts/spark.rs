//! The context of a Spark stage's script: every read, step and write as
//! Python statements, already laid out by `py`. The template
//! `templates/spark_job.py.j2` puts them into the script's skeleton.
//!
//! Column names are tracked through the steps (names only, as the validator
//! does with types) so that rename rules and join prefixes become explicit
//! renames in the script. Where a `sql` step without declared columns makes
//! them unknown, the script computes those renames at run time instead.

use super::py::{self, Expr, call, code, col, kw, method, s};
use crate::model::*;
use crate::names;
use crate::validate::ValidPipeline;
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::HashSet;

/// A run of statements with the comment lines above them.
#[derive(Debug, Clone, Serialize)]
pub struct Block {
    pub comments: Vec<String>,
    pub code: String,
}

/// A section of the script: a frame (or the reads, or the writes).
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: Vec<String>,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Uses {
    pub window: bool,
    pub jdbc: bool,
    pub quality: bool,
    pub snake_case: bool,
    pub lower_case: bool,
    pub prefix: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SparkContext {
    pub header: String,
    pub pipeline: String,
    pub stage: String,
    pub description: Vec<String>,
    pub arguments: String,
    pub constants: Vec<Block>,
    pub connections: Vec<Block>,
    pub sections: Vec<Section>,
    pub uses: Uses,
}

const PY_RESERVED: &[&str] = &[
    // keywords and soft keywords
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "match",
    "case",
    "type",
    "_",
    // builtins a script might shadow
    "abs",
    "all",
    "any",
    "bool",
    "bytes",
    "callable",
    "dict",
    "dir",
    "enumerate",
    "eval",
    "exec",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "hasattr",
    "hash",
    "id",
    "input",
    "int",
    "isinstance",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "open",
    "print",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "str",
    "sum",
    "super",
    "tuple",
    "vars",
    "zip",
    "Exception",
    "RuntimeError",
    "ValueError",
    "__name__",
    "__file__",
    // the script's own names
    "argparse",
    "sys",
    "json",
    "re",
    "boto3",
    "F",
    "SparkContext",
    "SparkSession",
    "Window",
    "GlueContext",
    "Job",
    "getResolvedOptions",
    "ARGUMENTS",
    "parse_arguments",
    "args",
    "glue_context",
    "spark",
    "job",
    "quote",
    "col",
    "schema_of",
    "conform",
    "jdbc_options",
    "check_quality",
    "evaluate_locally",
    "evaluate_on_glue",
    "snake_case",
    "lower_case",
    "prefix_clashing",
    "window",
    "grouped",
    "right",
    "outputs",
];

/// Python variable names for the user's frames and tables.
struct Idents {
    used: HashSet<String>,
}

impl Idents {
    fn new() -> Self {
        Idents {
            used: PY_RESERVED.iter().map(|s| s.to_string()).collect(),
        }
    }
    /// A fresh identifier close to `name`.
    fn fresh(&mut self, name: &str) -> String {
        let mut base: String = names::snake_case(name)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        base = base.trim_matches('_').to_string();
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base = format!("frame_{base}");
        }
        let base = base.trim_end_matches('_').to_string();
        let mut candidate = base.clone();
        if self.used.contains(&candidate) {
            candidate = format!("{base}_df");
        }
        let mut n = 2;
        while self.used.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }
}

fn find(cols: &[String], name: &str) -> Option<usize> {
    cols.iter()
        .position(|c| c == name)
        .or_else(|| cols.iter().position(|c| c.eq_ignore_ascii_case(name)))
}

/// Whether a name needs no quoting in Spark SQL.
fn plain(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name as Spark parses it in `fillna` keys and view names: backticks when needed.
fn quoted(name: &str) -> String {
    if plain(name) {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// A Hive type as Spark DDL: Spark reads `char(n)`/`varchar(n)` as strings.
pub fn spark_type(ty: &str) -> String {
    let mut out = String::new();
    let mut rest = ty.trim();
    while !rest.is_empty() {
        let lower = rest.to_ascii_lowercase();
        let word_start = out
            .chars()
            .last()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        let skip = if word_start && lower.starts_with("varchar(") {
            Some("varchar(".len())
        } else if word_start && lower.starts_with("char(") {
            Some("char(".len())
        } else {
            None
        };
        if let Some(n) = skip
            && let Some(close) = rest[n..].find(')')
        {
            out.push_str("string");
            rest = &rest[n + close + 1..];
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn assign(target: &str, e: &Expr) -> String {
    format!("{target} = {}", e.fmt(0, target.len() + 3, 0))
}

fn block(comments: &[&str], code: String) -> Block {
    Block {
        comments: comments
            .iter()
            .flat_map(|c| py::comment_lines(c, 0))
            .collect(),
        code,
    }
}

fn order_expr(o: &str) -> Expr {
    let key = OrderKey::parse(o);
    let m = match (key.descending, key.nulls_first) {
        (false, None) => return col(&key.column),
        (false, Some(true)) => "asc_nulls_first",
        (false, Some(false)) => "asc_nulls_last",
        (true, None) => "desc",
        (true, Some(true)) => "desc_nulls_first",
        (true, Some(false)) => "desc_nulls_last",
    };
    method(col(&key.column), m, vec![])
}

/// A JSON fill value as a Python literal.
fn json_literal(v: &serde_json::Value) -> Expr {
    match v {
        serde_json::Value::String(t) => s(t.clone()),
        serde_json::Value::Bool(true) => code("True"),
        serde_json::Value::Bool(false) => code("False"),
        serde_json::Value::Number(n) => code(n.to_string()),
        _ => code("None"),
    }
}

/// A literal argument of `lag`/`lead`/`ntile` as Python: numbers, quoted
/// strings, booleans and null; anything else is passed as text.
fn arg_literal(a: &str) -> Expr {
    let t = a.trim();
    if t.parse::<i64>().is_ok() || (t.parse::<f64>().is_ok() && t.chars().any(|c| c == '.')) {
        let n: String = t.chars().filter(|c| *c != '+').collect();
        if n.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
        {
            return code(n);
        }
    }
    match t.to_ascii_lowercase().as_str() {
        "true" => return code("True"),
        "false" => return code("False"),
        "null" => return code("None"),
        _ => {}
    }
    if t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')))
    {
        return s(&t[1..t.len() - 1]);
    }
    s(t)
}

/// The PySpark function of an aggregate or window call. Only names from this
/// fixed table reach the script.
fn function_call(c: &Call) -> Option<Expr> {
    let f: &'static str = match c.function.as_str() {
        "count" => "F.count",
        "count_distinct" => "F.count_distinct",
        "approx_count_distinct" => "F.approx_count_distinct",
        "sum" => "F.sum",
        "avg" | "mean" => "F.avg",
        "min" => "F.min",
        "max" => "F.max",
        "first" => "F.first",
        "last" => "F.last",
        "stddev" => "F.stddev",
        "variance" => "F.variance",
        "collect_list" => "F.collect_list",
        "collect_set" => "F.collect_set",
        "row_number" => "F.row_number",
        "rank" => "F.rank",
        "dense_rank" => "F.dense_rank",
        "percent_rank" => "F.percent_rank",
        "cume_dist" => "F.cume_dist",
        "ntile" => "F.ntile",
        "lag" => "F.lag",
        "lead" => "F.lead",
        _ => return None,
    };
    let args = match c.function.as_str() {
        "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" => vec![],
        "ntile" => vec![arg_literal(c.args.first()?)],
        "lag" | "lead" => {
            let mut a = vec![col(c.args.first()?)];
            a.extend(c.args.iter().skip(1).map(|x| arg_literal(x)));
            a
        }
        "count" if c.args.first().map(String::as_str) == Some("*") => {
            vec![call("F.lit", vec![code("1")])]
        }
        _ => vec![col(c.args.first()?)],
    };
    Some(call(f, args))
}

pub struct Builder<'a> {
    v: &'a ValidPipeline,
    stage_name: &'a str,
    stage: &'a Stage,
    idents: Idents,
    /// Frame name -> Python variable.
    vars: IndexMap<String, String>,
    /// Frame name -> columns, when known.
    cols: IndexMap<String, Option<Vec<String>>>,
    uses: Uses,
    temp: usize,
}

impl<'a> Builder<'a> {
    pub fn new(v: &'a ValidPipeline, stage_name: &'a str, stage: &'a Stage) -> Self {
        Builder {
            v,
            stage_name,
            stage,
            idents: Idents::new(),
            vars: IndexMap::new(),
            cols: IndexMap::new(),
            uses: Uses::default(),
            temp: 0,
        }
    }

    fn table(&self, name: &str) -> &'a TableSchema {
        &self.v.pipeline().schemas[name]
    }

    fn columns_const(table: &str) -> String {
        format!("{}_COLUMNS", table.to_ascii_uppercase())
    }

    fn rules_const(table: &str) -> String {
        format!("{}_RULES", table.to_ascii_uppercase())
    }

    fn var(&self, frame: &str) -> String {
        self.vars
            .get(frame)
            .cloned()
            .unwrap_or_else(|| "main".to_string())
    }

    pub fn build(mut self, header: String) -> SparkContext {
        let p = self.v.pipeline();
        let st = self.stage;
        // Job arguments, in order: job name, inputs, outputs, connections.
        let mut arguments = vec!["JOB_NAME".to_string()];
        let mut connections: Vec<&str> = Vec::new();
        let mut tables_used: Vec<&str> = Vec::new();
        for input in &st.inputs {
            let t = self.table(input.table());
            if !tables_used.contains(&input.table()) {
                tables_used.push(input.table());
            }
            match &t.connection {
                Some(c) => {
                    if !connections.contains(&c.as_str()) {
                        connections.push(c);
                    }
                }
                None => {
                    let a = names::input_arg(input.table());
                    if !arguments.contains(&a) {
                        arguments.push(a);
                    }
                }
            }
        }
        for o in &st.outputs {
            let t = self.table(&o.table);
            if !tables_used.contains(&o.table.as_str()) {
                tables_used.push(&o.table);
            }
            match &t.connection {
                Some(c) => {
                    if !connections.contains(&c.as_str()) {
                        connections.push(c);
                    }
                }
                None => arguments.push(names::output_arg(&o.table)),
            }
        }
        for c in &connections {
            arguments.push(names::connection_arg(c));
            arguments.push(names::secret_arg(c));
            arguments.push(names::jdbc_url_arg(c));
        }
        let arguments_code = assign(
            "ARGUMENTS",
            &Expr::List(arguments.iter().map(|a| s(a.clone())).collect()),
        );

        // Table schemas as constants.
        let mut constants = Vec::new();
        for t in &tables_used {
            let table = self.table(t);
            let dict = Expr::Dict(
                table
                    .columns
                    .iter()
                    .map(|(n, c)| (s(n.clone()), s(spark_type(c.ty()))))
                    .collect(),
            );
            // Always expanded: one column per line reads like the YAML.
            let name = Self::columns_const(t);
            let code = if table.columns.len() > 1 {
                format!("{name} = {}", dict.fmt(0, usize::MAX / 2, 0))
            } else {
                assign(&name, &dict)
            };
            constants.push(block(&[&format!("Columns of table {t}, in order.")], code));
        }
        for o in &st.outputs {
            if let Some(q) = &self.table(&o.table).quality {
                self.uses.quality = true;
                let name = Self::rules_const(&o.table);
                let list = Expr::List(q.rules.iter().map(|r| s(r.trim().to_string())).collect());
                let code = format!("{name} = {}", list.fmt(0, usize::MAX / 2, 0));
                constants.push(block(
                    &[&format!(
                        "Data-quality rules (DQDL) of table {}; on failure: {}.",
                        o.table,
                        match q.on_failure {
                            OnFailure::Fail => "fail the stage",
                            OnFailure::Warn => "report only",
                        }
                    )],
                    code,
                ));
            }
        }

        // JDBC connections.
        let mut conn_blocks = Vec::new();
        let mut conn_vars = IndexMap::new();
        for c in &connections {
            self.uses.jdbc = true;
            let conn = &p.connections[*c];
            let var = self.idents.fresh(&format!("{c}_jdbc"));
            let driver = match conn.engine {
                Engine::Postgresql => "org.postgresql.Driver",
                Engine::Redshift => "com.amazon.redshift.jdbc42.Driver",
                Engine::Mysql => "com.mysql.cj.jdbc.Driver",
            };
            let e = call(
                "jdbc_options",
                vec![
                    code(format!("args[{}]", py::literal(&names::jdbc_url_arg(c)))),
                    code(format!("args[{}]", py::literal(&names::secret_arg(c)))),
                    kw("driver", s(driver)),
                ],
            );
            conn_blocks.push(block(
                &[&format!(
                    "Connection {c} ({}): the URL, and credentials from Secrets Manager.",
                    format!("{:?}", conn.engine).to_lowercase()
                )],
                assign(&var, &e),
            ));
            conn_vars.insert(c.to_string(), var);
        }

        let mut sections = Vec::new();
        // Reads.
        let mut reads = Vec::new();
        for input in &st.inputs {
            let frame = input.frame().to_string();
            let var = self.idents.fresh(&frame);
            let table = self.table(input.table());
            let (comment, e) = self.read(input.table(), table, &conn_vars);
            let mut b = block(&[&comment], assign(&var, &e));
            if table.connection.is_some() {
                b.code.push('\n');
                b.code.push_str(&assign(
                    &var,
                    &call(
                        "conform",
                        vec![code(var.clone()), code(Self::columns_const(input.table()))],
                    ),
                ));
            }
            reads.push(b);
            self.vars.insert(frame.clone(), var);
            self.cols
                .insert(frame, Some(table.columns.keys().cloned().collect()));
        }
        sections.push(Section {
            title: vec!["# Read the inputs.".into()],
            blocks: reads,
        });

        // Named frames, then main.
        for (fname, f) in &st.frames {
            let var = self.idents.fresh(fname);
            let from = self.var(&f.from);
            let mut blocks = vec![Block {
                comments: vec![],
                code: format!("{var} = {from}"),
            }];
            let start = self.cols.get(&f.from).cloned().flatten();
            self.vars.insert(fname.clone(), var.clone());
            self.cols.insert(fname.clone(), start);
            for step in &f.steps {
                blocks.push(self.step(fname, step));
            }
            let mut title = vec![format!(
                "# Frame {}, from {}.",
                py::comment_text(fname),
                py::comment_text(&f.from)
            )];
            if title[0].chars().count() > py::WIDTH {
                title = py::comment_lines(&title[0][2..], 0);
            }
            sections.push(Section { title, blocks });
        }
        let main_used = !st.steps.is_empty()
            || st
                .outputs
                .iter()
                .any(|o| o.from.as_deref().is_none_or(|f| f == "main"));
        if main_used && let Some(first) = st.inputs.first() {
            let var = self.idents.fresh("main");
            let from = self.var(first.frame());
            let mut blocks = vec![Block {
                comments: vec![],
                code: format!("{var} = {from}"),
            }];
            let start = self.cols.get(first.frame()).cloned().flatten();
            self.vars.insert("main".into(), var);
            self.cols.insert("main".into(), start);
            for step in &st.steps {
                blocks.push(self.step("main", step));
            }
            sections.push(Section {
                title: vec![format!(
                    "# Frame main, from {}.",
                    py::comment_text(first.frame())
                )],
                blocks,
            });
        }

        // Outputs: conform every table, check quality, then write.
        let mut prepared = Vec::new();
        let mut out_vars = Vec::new();
        for o in &st.outputs {
            let from = o.from.as_deref().unwrap_or("main");
            let var = self.idents.fresh(&format!("{}_out", o.table));
            let mut code_text = assign(
                &var,
                &call(
                    "conform",
                    vec![code(self.var(from)), code(Self::columns_const(&o.table))],
                ),
            );
            let mut comments = vec![format!(
                "# {}: the table's columns, in its order and types.",
                o.table
            )];
            if let Some(n) = o.files {
                code_text.push('\n');
                code_text.push_str(&format!("{var} = {var}.repartition({n})"));
                comments.push(format!(
                    "# ... in {n} file{} per partition.",
                    if n == 1 { "" } else { "s" }
                ));
            }
            if let Some(q) = &self.table(&o.table).quality {
                code_text.push('\n');
                let e = call(
                    "check_quality",
                    vec![
                        code(var.clone()),
                        s(o.table.clone()),
                        code(Self::rules_const(&o.table)),
                        kw(
                            "on_failure",
                            s(match q.on_failure {
                                OnFailure::Fail => "fail",
                                OnFailure::Warn => "warn",
                            }),
                        ),
                    ],
                );
                code_text.push_str(&assign(&var, &e));
                comments.push("# Data quality is checked before anything is written.".into());
            }
            prepared.push(Block {
                comments,
                code: code_text,
            });
            out_vars.push(var);
        }
        sections.push(Section {
            title: vec!["# Prepare the outputs.".into()],
            blocks: prepared,
        });
        let mut writes = Vec::new();
        for (o, var) in st.outputs.iter().zip(&out_vars) {
            writes.push(self.write(o, var, &conn_vars));
        }
        sections.push(Section {
            title: vec!["# Write the outputs.".into()],
            blocks: writes,
        });

        let mut description = Vec::new();
        if let Some(d) = &st.description {
            description = py::comment_lines(d, 0);
        }
        SparkContext {
            header,
            pipeline: p.pipeline.clone(),
            stage: self.stage_name.to_string(),
            description,
            arguments: arguments_code,
            constants,
            connections: conn_blocks,
            sections,
            uses: self.uses,
        }
    }

    fn read(
        &self,
        name: &str,
        t: &TableSchema,
        conn_vars: &IndexMap<String, String>,
    ) -> (String, Expr) {
        if let Some(c) = &t.connection {
            let table = t.jdbc_table.clone().unwrap_or_else(|| name.to_string());
            return (
                format!("{name}: JDBC table through connection {c}."),
                call(
                    "spark.read.load",
                    vec![
                        kw("format", s("jdbc")),
                        kw("dbtable", s(table)),
                        Expr::Splat(Box::new(code(conn_vars[c].clone()))),
                    ],
                ),
            );
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
                args.extend(csv_options(&o));
                format!(
                    "{name}: CSV {} a header line, columns by position.",
                    if o.header { "with" } else { "without" }
                )
            }
            f => format!("{name}: {} files.", format_title(f)),
        };
        (comment, call("spark.read.load", args))
    }

    fn write(&self, o: &Output, var: &str, conn_vars: &IndexMap<String, String>) -> Block {
        let t = self.table(&o.table);
        let mode = match o.mode {
            WriteMode::Overwrite => "overwrite",
            WriteMode::Append => "append",
            WriteMode::Error => "error",
        };
        if let Some(c) = &t.connection {
            let table = t.jdbc_table.clone().unwrap_or_else(|| o.table.clone());
            let mut args = vec![
                kw("format", s("jdbc")),
                kw("mode", s(mode)),
                kw("dbtable", s(table)),
            ];
            let mut comments = vec![format!(
                "{}: JDBC table through connection {c}, {mode}.",
                o.table
            )];
            if o.mode == WriteMode::Overwrite {
                // Keep the table's definition (grants, types): empty it instead of dropping it.
                args.push(kw("truncate", s("true")));
                comments.push("Overwrite empties the table but keeps its definition.".into());
            }
            args.push(Expr::Splat(Box::new(code(conn_vars[c].clone()))));
            let e = call(format!("{var}.write.save"), args);
            return Block {
                comments: comments.iter().map(|c| format!("# {c}")).collect(),
                code: e.fmt(0, 0, 0),
            };
        }
        let format = t.format.unwrap_or(Format::Parquet);
        let compression = match o.compression {
            Some(c) => compression_name(c),
            None => match format {
                Format::Parquet | Format::Orc => "snappy",
                Format::Csv | Format::Json => "none",
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
            args.extend(csv_options(&t.csv.clone().unwrap_or_default()));
        }
        let mode_text = match o.mode {
            WriteMode::Overwrite if !t.partition_keys.is_empty() => {
                "overwrite (only the partitions written are replaced)"
            }
            WriteMode::Overwrite => "overwrite",
            WriteMode::Append => "append",
            WriteMode::Error => "error if data exists",
        };
        let comment = format!(
            "{}: {} ({compression}), {mode_text}.",
            o.table,
            format_title(format)
        );
        let e = call(format!("{var}.write.save"), args);
        Block {
            comments: py::comment_lines(&comment, 0),
            code: e.fmt(0, 0, 0),
        }
    }

    fn temp_name(&mut self, what: &str, cols: Option<&Vec<String>>) -> String {
        loop {
            let name = if self.temp == 0 {
                format!("_pipec_{what}")
            } else {
                format!("_pipec_{what}_{}", self.temp)
            };
            self.temp += 1;
            if cols.is_none_or(|c| find(c, &name).is_none()) {
                return name;
            }
        }
    }

    fn step(&mut self, frame: &str, step: &Step) -> Block {
        let var = self.var(frame);
        let cols = self.cols.get(frame).cloned().flatten();
        let set_cols = |b: &mut Self, c: Option<Vec<String>>| {
            b.cols.insert(frame.to_string(), c);
        };
        match step {
            Step::Select(list) => {
                let e = call(
                    format!("{var}.select"),
                    list.iter().map(|c| col(c)).collect(),
                );
                set_cols(self, Some(list.clone()));
                block(
                    &["Keep only these columns, in this order."],
                    assign(&var, &e),
                )
            }
            Step::Drop(list) => {
                let e = call(format!("{var}.drop"), list.iter().map(|c| col(c)).collect());
                set_cols(
                    self,
                    cols.map(|mut c| {
                        for d in list {
                            if let Some(k) = find(&c, d) {
                                c.remove(k);
                            }
                        }
                        c
                    }),
                );
                block(&["Drop columns."], assign(&var, &e))
            }
            Step::Rename(Rename::Map(map)) => {
                let e = call(
                    format!("{var}.withColumnsRenamed"),
                    vec![Expr::Dict(
                        map.iter()
                            .map(|(a, b)| (s(a.clone()), s(b.clone())))
                            .collect(),
                    )],
                );
                set_cols(
                    self,
                    cols.map(|mut c| {
                        for (old, new) in map {
                            if let Some(k) = find(&c, old) {
                                c[k] = new.clone();
                            }
                        }
                        c
                    }),
                );
                block(&["Rename columns."], assign(&var, &e))
            }
            Step::Rename(Rename::Rule(rule)) => {
                let (word, f): (&str, fn(&str) -> String) = match rule {
                    RenameRule::SnakeCase => ("snake_case", names::snake_case),
                    RenameRule::LowerCase => ("lower_case", |s: &str| s.to_lowercase()),
                };
                match cols {
                    Some(c) => {
                        let renames: Vec<(Expr, Expr)> = c
                            .iter()
                            .filter(|n| f(n) != **n)
                            .map(|n| (s(n.clone()), s(f(n))))
                            .collect();
                        set_cols(self, Some(c.iter().map(|n| f(n)).collect()));
                        if renames.is_empty() {
                            return block(
                                &[&format!("Rename every column to {word}: all already are.")],
                                String::from("pass"),
                            );
                        }
                        let e = call(
                            format!("{var}.withColumnsRenamed"),
                            vec![Expr::Dict(renames)],
                        );
                        block(
                            &[&format!("Rename every column to {word}.")],
                            assign(&var, &e),
                        )
                    }
                    None => {
                        match rule {
                            RenameRule::SnakeCase => self.uses.snake_case = true,
                            RenameRule::LowerCase => self.uses.lower_case = true,
                        }
                        let e = call(
                            format!("{var}.toDF"),
                            vec![code(format!("*[{word}(c) for c in {var}.columns]"))],
                        );
                        block(
                            &[&format!(
                                "Rename every column to {word} (columns known only at run time)."
                            )],
                            assign(&var, &e),
                        )
                    }
                }
            }
            Step::Cast(map) => {
                let e = call(
                    format!("{var}.withColumns"),
                    vec![Expr::Dict(
                        map.iter()
                            .map(|(c, t)| {
                                (s(c.clone()), method(col(c), "cast", vec![s(spark_type(t))]))
                            })
                            .collect(),
                    )],
                );
                block(
                    &["Cast columns; a value that does not convert becomes null."],
                    assign(&var, &e),
                )
            }
            Step::Filter(cond) => {
                let e = call(format!("{var}.filter"), vec![s(cond.clone())]);
                block(
                    &["Keep the rows for which the condition (Spark SQL) holds."],
                    assign(&var, &e),
                )
            }
            Step::Derive(map) => {
                let mut lines = Vec::new();
                let mut c = cols;
                for (name, d) in map {
                    let e = call(
                        format!("{var}.withColumn"),
                        vec![
                            s(name.clone()),
                            call("F.expr", vec![s(d.expr().to_string())]),
                        ],
                    );
                    lines.push(assign(&var, &e));
                    if let Some(t) = d.ty() {
                        let e = call(
                            format!("{var}.withColumn"),
                            vec![
                                s(name.clone()),
                                method(col(name), "cast", vec![s(spark_type(t))]),
                            ],
                        );
                        lines.push(assign(&var, &e));
                    }
                    if let Some(c) = c.as_mut()
                        && find(c, name).is_none()
                    {
                        c.push(name.clone());
                    }
                }
                set_cols(self, c);
                block(
                    &["Add or replace columns computed by Spark SQL expressions."],
                    lines.join("\n"),
                )
            }
            Step::FillNull(map) => {
                let e = call(
                    format!("{var}.fillna"),
                    vec![Expr::Dict(
                        map.iter()
                            .map(|(c, v)| (s(quoted(c)), json_literal(v)))
                            .collect(),
                    )],
                );
                block(&["Replace nulls."], assign(&var, &e))
            }
            Step::Dedupe(d) => {
                if d.keys.is_empty() {
                    return block(
                        &["Drop duplicate rows."],
                        assign(&var, &call(format!("{var}.dropDuplicates"), vec![])),
                    );
                }
                self.uses.window = true;
                let tmp = self.temp_name("row", cols.as_ref());
                let lines = [
                    self.window_code(&d.keys, &d.order_by),
                    assign(
                        &var,
                        &call(
                            format!("{var}.withColumn"),
                            vec![
                                s(tmp.clone()),
                                method(call("F.row_number", vec![]), "over", vec![code("window")]),
                            ],
                        ),
                    ),
                    assign(
                        &var,
                        &method(
                            call(format!("{var}.filter"), vec![s(format!("{tmp} = 1"))]),
                            "drop",
                            vec![s(tmp.clone())],
                        ),
                    ),
                ];
                block(
                    &["Keep one row per key: the first by the given order."],
                    lines.join("\n"),
                )
            }
            Step::Join(j) => self.join(frame, &var, cols, j),
            Step::Aggregate(a) => {
                let group = call(
                    format!("{var}.groupBy"),
                    a.group_by.iter().map(|g| col(g)).collect(),
                );
                let aggs: Vec<Expr> = a
                    .aggregates
                    .iter()
                    .filter_map(|(name, c)| {
                        let f = function_call(&Call::parse(c)?)?;
                        Some(method(f, "alias", vec![s(name.clone())]))
                    })
                    .collect();
                let mut out = a.group_by.clone();
                out.extend(a.aggregates.keys().cloned());
                set_cols(self, Some(out));
                let lines = [
                    assign("grouped", &group),
                    assign(&var, &call("grouped.agg", aggs)),
                ];
                block(&["Group and aggregate."], lines.join("\n"))
            }
            Step::Union(u) => {
                let mut lines = Vec::new();
                let mut c = cols;
                for w in &u.with {
                    let mut args = vec![code(self.var(w))];
                    if u.allow_missing {
                        args.push(kw("allowMissingColumns", code("True")));
                    }
                    lines.push(assign(&var, &call(format!("{var}.unionByName"), args)));
                    let other = self.cols.get(w).cloned().flatten();
                    c = match (c, other) {
                        (Some(mut mine), Some(other)) => {
                            if u.allow_missing {
                                for o in other {
                                    if find(&mine, &o).is_none() {
                                        mine.push(o);
                                    }
                                }
                            }
                            Some(mine)
                        }
                        (mine, _) if !u.allow_missing => mine,
                        _ => None,
                    };
                }
                set_cols(self, c);
                block(
                    &[if u.allow_missing {
                        "Append rows, matching columns by name; missing ones become null."
                    } else {
                        "Append rows, matching columns by name."
                    }],
                    lines.join("\n"),
                )
            }
            Step::Explode(e) => {
                let f = if e.keep_empty {
                    "F.explode_outer"
                } else {
                    "F.explode"
                };
                let values = match &e.separator {
                    Some(sep) => call("F.split", vec![col(&e.column), s(regex_literal(sep))]),
                    None => col(&e.column),
                };
                let out = e.alias.clone().unwrap_or_else(|| e.column.clone());
                let mut lines = vec![assign(
                    &var,
                    &call(
                        format!("{var}.withColumn"),
                        vec![s(out.clone()), call(f, vec![values])],
                    ),
                )];
                let renamed = !out.eq_ignore_ascii_case(&e.column);
                if renamed {
                    lines.push(assign(
                        &var,
                        &call(format!("{var}.drop"), vec![col(&e.column)]),
                    ));
                }
                set_cols(
                    self,
                    cols.map(|mut c| {
                        if let Some(k) = find(&c, &e.column) {
                            c[k] = out.clone();
                        }
                        c
                    }),
                );
                let what = match &e.separator {
                    Some(_) => {
                        "Split the column on the separator (taken literally) into one row per value."
                    }
                    None => "One row per element of the array column.",
                };
                block(&[what], lines.join("\n"))
            }
            Step::Window(w) => {
                self.uses.window = true;
                let mut lines = vec![self.window_code(&w.partition_by, &w.order_by)];
                let mut c = cols;
                for (name, calltext) in &w.columns {
                    if let Some(f) = Call::parse(calltext).as_ref().and_then(function_call) {
                        let e = call(
                            format!("{var}.withColumn"),
                            vec![s(name.clone()), method(f, "over", vec![code("window")])],
                        );
                        lines.push(assign(&var, &e));
                    }
                    if let Some(c) = c.as_mut() {
                        c.push(name.clone());
                    }
                }
                set_cols(self, c);
                block(&["Window functions."], lines.join("\n"))
            }
            Step::Repartition(r) => {
                let mut args = Vec::new();
                if let Some(n) = r.count {
                    args.push(code(n.to_string()));
                }
                args.extend(r.columns.iter().map(|c| col(c)));
                block(
                    &["Redistribute the rows."],
                    assign(&var, &call(format!("{var}.repartition"), args)),
                )
            }
            Step::Sql(q) => {
                let mut lines = vec![format!("{var}.createOrReplaceTempView(\"this\")")];
                let lower = q.query.to_lowercase();
                for (fname, fvar) in &self.vars {
                    if fname == frame || fname == "this" {
                        continue;
                    }
                    if lower.contains(&fname.to_lowercase()) {
                        lines.push(
                            call(
                                format!("{fvar}.createOrReplaceTempView"),
                                vec![s(quoted(fname))],
                            )
                            .fmt(0, 0, 0),
                        );
                    }
                }
                lines.push(assign(&var, &call("spark.sql", vec![s(q.query.clone())])));
                set_cols(
                    self,
                    q.columns.as_ref().map(|m| m.keys().cloned().collect()),
                );
                block(
                    &["A Spark SQL query; the current frame is the view `this`."],
                    lines.join("\n"),
                )
            }
        }
    }

    /// `window = Window.partitionBy(...).orderBy(...)`, split into two
    /// statements when it does not fit one line.
    fn window_code(&self, partition_by: &[String], order_by: &[String]) -> String {
        let parts: Vec<Expr> = partition_by.iter().map(|c| col(c)).collect();
        let orders: Vec<Expr> = order_by.iter().map(|o| order_expr(o)).collect();
        let base = if parts.is_empty() {
            None
        } else {
            Some(call("Window.partitionBy", parts.clone()))
        };
        match (base, orders.is_empty()) {
            (Some(b), true) => assign("window", &b),
            (None, _) => assign("window", &call("Window.orderBy", orders)),
            (Some(b), false) => {
                let chained = method(b.clone(), "orderBy", orders.clone());
                let flat = format!("window = {}", chained.flat());
                if py::width(&flat) <= py::WIDTH {
                    flat
                } else {
                    [
                        assign("window", &b),
                        assign("window", &call("window.orderBy", orders)),
                    ]
                    .join("\n")
                }
            }
        }
    }

    fn join(&mut self, frame: &str, var: &str, cols: Option<Vec<String>>, j: &Join) -> Block {
        let right_var = self.var(&j.with);
        let right_cols = self.cols.get(&j.with).cloned().flatten();
        let how = match j.kind {
            JoinKind::Inner => "inner",
            JoinKind::Left => "left",
            JoinKind::Right => "right",
            JoinKind::Full => "full",
            JoinKind::Semi => "left_semi",
            JoinKind::Anti => "left_anti",
        };
        let semi = matches!(j.kind, JoinKind::Semi | JoinKind::Anti);
        let all_same = j.on.iter().all(|k| matches!(k, JoinKey::Same(_)));
        let same_keys: Vec<String> =
            j.on.iter()
                .filter_map(|k| match k {
                    JoinKey::Same(n) => Some(n.clone()),
                    JoinKey::Pair(_) => None,
                })
                .collect();
        let mut lines = Vec::new();
        let mut comments = vec![format!("Join {} ({how} join).", py::comment_text(&j.with))];
        let mut right = right_var.clone();
        let mut renamed_right = right_cols.clone();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut temps: Vec<(String, String)> = Vec::new(); // (same key, temp name on the right)

        if semi {
            if all_same {
                // Nothing to rename: the result keeps the left side's columns only.
            } else {
                // Only the right side's keys matter: take them under names that cannot clash.
                let mut selected = Vec::new();
                for k in &j.on {
                    let (l, r) = match k {
                        JoinKey::Same(n) => (n.clone(), n.clone()),
                        JoinKey::Pair(p) => (p.left.clone(), p.right.clone()),
                    };
                    let tmp = self.temp_name("key", cols.as_ref());
                    selected.push(method(col(&r), "alias", vec![s(tmp.clone())]));
                    pairs.push((l, tmp));
                }
                lines.push(assign(
                    "right",
                    &call(format!("{right_var}.select"), selected),
                ));
                right = "right".into();
                comments
                    .push("The right side's keys are renamed so that they cannot clash.".into());
            }
        } else {
            // Renames on the right, then the prefix on clashing columns.
            let mut renames: Vec<(String, String)> = j
                .rename
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            if let Some(rc) = renamed_right.as_mut() {
                for (old, new) in &j.rename {
                    if let Some(k) = find(rc, old) {
                        rc[k] = new.clone();
                    }
                }
            }
            let mut runtime_prefix = false;
            if let Some(prefix) = &j.prefix {
                match (&cols, &mut renamed_right) {
                    (Some(left), Some(rc)) => {
                        for c in rc.iter_mut() {
                            if same_keys.iter().any(|k| k.eq_ignore_ascii_case(c)) {
                                continue;
                            }
                            if find(left, c).is_some() {
                                let new = format!("{prefix}{c}");
                                // A column renamed above is renamed once more.
                                if let Some(r) = renames.iter_mut().find(|(_, n)| n == c) {
                                    r.1 = new.clone();
                                } else {
                                    renames.push((c.clone(), new.clone()));
                                }
                                *c = new;
                            }
                        }
                    }
                    _ => runtime_prefix = true,
                }
            }
            if !renames.is_empty() {
                lines.push(assign(
                    "right",
                    &call(
                        format!("{right_var}.withColumnsRenamed"),
                        vec![Expr::Dict(
                            renames
                                .iter()
                                .map(|(a, b)| (s(a.clone()), s(b.clone())))
                                .collect(),
                        )],
                    ),
                ));
                right = "right".into();
            }
            if runtime_prefix && let Some(prefix) = &j.prefix {
                self.uses.prefix = true;
                lines.push(assign(
                    "right",
                    &call(
                        "prefix_clashing",
                        vec![
                            code(right.clone()),
                            code(var.to_string()),
                            s(prefix.clone()),
                            kw(
                                "keys",
                                Expr::List(same_keys.iter().map(|k| s(k.clone())).collect()),
                            ),
                        ],
                    ),
                ));
                right = "right".into();
                renamed_right = None;
            }
            if let Some(prefix) = &j.prefix {
                comments.push(format!(
                    "Right-side columns whose names clash get the prefix {}.",
                    py::comment_text(&py::literal(prefix))
                ));
            }
            if !all_same {
                for k in &j.on {
                    match k {
                        JoinKey::Same(n) => {
                            let tmp = self.temp_name("key", cols.as_ref());
                            temps.push((n.clone(), tmp.clone()));
                            pairs.push((n.clone(), tmp));
                        }
                        JoinKey::Pair(p) => {
                            // The right key under its name after renames and prefix.
                            let mut r = p.right.clone();
                            if let Some((_, new)) =
                                j.rename.iter().find(|(o, _)| o.eq_ignore_ascii_case(&r))
                            {
                                r = new.clone();
                            }
                            if let (Some(prefix), Some(left)) = (&j.prefix, &cols)
                                && find(left, &r).is_some()
                            {
                                r = format!("{prefix}{r}");
                            }
                            pairs.push((p.left.clone(), r));
                        }
                    }
                }
                if !temps.is_empty() {
                    lines.push(assign(
                        "right",
                        &call(
                            format!("{right}.withColumnsRenamed"),
                            vec![Expr::Dict(
                                temps
                                    .iter()
                                    .map(|(a, b)| (s(a.clone()), s(b.clone())))
                                    .collect(),
                            )],
                        ),
                    ));
                    right = "right".into();
                }
            }
        }
        let right_expr = if j.broadcast {
            comments.push("The right side is small: it is broadcast.".into());
            call("F.broadcast", vec![code(right.clone())])
        } else {
            code(right.clone())
        };
        let on = if all_same {
            Expr::List(same_keys.iter().map(|k| s(k.clone())).collect())
        } else {
            let conds: Vec<Expr> = pairs
                .iter()
                .map(|(l, r)| Expr::Binary(Box::new(col(l)), "==", Box::new(col(r))))
                .collect();
            Expr::List(conds)
        };
        lines.push(assign(
            var,
            &call(
                format!("{var}.join"),
                vec![right_expr, kw("on", on), kw("how", s(how))],
            ),
        ));
        // Keys named alike appear once, as in a join USING them.
        for (k, tmp) in &temps {
            match j.kind {
                JoinKind::Right => lines.push(assign(
                    var,
                    &call(format!("{var}.withColumn"), vec![s(k.clone()), col(tmp)]),
                )),
                JoinKind::Full => lines.push(assign(
                    var,
                    &call(
                        format!("{var}.withColumn"),
                        vec![s(k.clone()), call("F.coalesce", vec![col(k), col(tmp)])],
                    ),
                )),
                _ => {}
            }
            lines.push(assign(var, &call(format!("{var}.drop"), vec![col(tmp)])));
        }
        let out = if semi {
            cols
        } else {
            match (cols, renamed_right) {
                (Some(mut l), Some(r)) => {
                    for c in r {
                        if same_keys.iter().any(|k| k.eq_ignore_ascii_case(&c)) {
                            continue;
                        }
                        l.push(c);
                    }
                    Some(l)
                }
                _ => None,
            }
        };
        self.cols.insert(frame.to_string(), out);
        Block {
            comments: comments
                .iter()
                .flat_map(|c| py::comment_lines(c, 0))
                .collect(),
            code: lines.join("\n"),
        }
    }
}

fn csv_options(o: &CsvOptions) -> Vec<Expr> {
    vec![
        kw("header", code(if o.header { "True" } else { "False" })),
        kw("sep", s(o.delimiter.clone())),
        kw("quote", s(o.quote.clone())),
        kw("escape", s(o.escape.clone())),
        kw("nullValue", s(o.null_value.clone())),
    ]
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Parquet => "parquet",
        Format::Orc => "orc",
    }
}

fn format_title(f: Format) -> &'static str {
    match f {
        Format::Csv => "CSV",
        Format::Json => "JSON lines",
        Format::Parquet => "Parquet",
        Format::Orc => "ORC",
    }
}

fn compression_name(c: Compression) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_names() {
        assert_eq!(spark_type("varchar(20)"), "string");
        assert_eq!(spark_type("array<char(3)>"), "array<string>");
        assert_eq!(spark_type("decimal(10,2)"), "decimal(10,2)");
        assert_eq!(regex_literal("|"), "\\|");
        assert_eq!(regex_literal(";"), ";");
        assert_eq!(quoted("a.b`c"), "`a.b``c`");
        let mut ids = Idents::new();
        assert_eq!(ids.fresh("flights"), "flights");
        assert_eq!(ids.fresh("flights"), "flights_df");
        assert_eq!(ids.fresh("class"), "class_df");
        assert_eq!(ids.fresh("my frame \"x\""), "my_frame_x");
        assert_eq!(ids.fresh("日本"), "frame");
    }
}

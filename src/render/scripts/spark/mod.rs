//! The context of a Spark stage's script: every read, step and write as
//! Python statements, already laid out by `py`. The template
//! `templates/spark_job.py.j2` puts them into the script's skeleton.
//!
//! Reads and writes are in `io`, steps in `steps` and `join`.
//!
//! The columns of every frame after every step come from validation
//! (`ValidPipeline::frames`), so every rename, `snake_case` rule and join
//! prefix becomes an explicit rename of named columns in the script, and join
//! conditions name each side's column through its frame. Scripts never look
//! at a DataFrame's columns at run time to decide what to do.

mod calls;
mod casts;
mod iceberg;
mod io;
mod join;
mod steps;

use calls::*;
use io::*;

use super::imports;
use super::py::{self, Expr, call, code, col, kw, method, s};
use crate::model::*;
use crate::names;
use crate::validate::frames::{Column, find_column, same_name};
use crate::validate::{StageFrames, ValidPipeline};
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
    /// A cast counts the values it loses (`check_casts`).
    pub casts: bool,
    /// A cast parses text with a datetime pattern.
    pub datetime_format: bool,
    /// The stage reads or writes an Iceberg table.
    pub iceberg: bool,
}

impl Uses {
    /// Adds what another stage uses: the runtime holds the helpers of all.
    pub fn add(&mut self, other: &Uses) {
        self.window |= other.window;
        self.jdbc |= other.jdbc;
        self.quality |= other.quality;
        self.casts |= other.casts;
        self.datetime_format |= other.datetime_format;
        self.iceberg |= other.iceberg;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SparkContext {
    pub header: String,
    pub pipeline: String,
    pub stage: String,
    pub description: Vec<String>,
    pub arguments: String,
    /// `PIPELINE = ...` and `STAGE = ...`, for messages and metrics.
    pub names: String,
    pub constants: Vec<Block>,
    pub connections: Vec<Block>,
    pub sections: Vec<Section>,
    /// `from pipec_runtime import ...` of the names the code above uses.
    pub imports: String,
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
    "pipec_runtime",
    "F",
    "Window",
    "ARGUMENTS",
    "args",
    "spark",
    "run",
    "start",
    "quote",
    "col",
    "schema_of",
    "conform",
    "jdbc_options",
    "read_jdbc",
    "write_jdbc",
    "observed",
    "check_quality",
    "evaluate_locally",
    "evaluate_on_glue",
    "check_casts",
    "publish_cast_metrics",
    "casts",
    "PIPELINE",
    "STAGE",
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

fn find(cols: &[Column], name: &str) -> Option<usize> {
    find_column(cols, name)
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

pub struct Builder<'a> {
    v: &'a ValidPipeline,
    stage_name: &'a str,
    stage: &'a Stage,
    idents: Idents,
    /// Frame name -> Python variable.
    vars: IndexMap<String, String>,
    /// The columns of every frame after every step, from validation.
    frames: &'a StageFrames,
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
            frames: v.frames(stage_name),
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
        if crate::validate::iceberg::maintains(p, st) {
            arguments.push(crate::validate::iceberg::OPTIMIZER_ROLE_ARG.to_string());
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
            if table.format == Some(Format::Iceberg) {
                let b = self.iceberg_spec(t, table);
                constants.push(b);
            }
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
            if let Some(file_col) = input.input_file_column() {
                b.code.push('\n');
                b.code.push_str(&assign(
                    &var,
                    &call(
                        format!("{var}.withColumn"),
                        vec![s(file_col), call("F.input_file_name", vec![])],
                    ),
                ));
                b.comments.extend(py::comment_lines(
                    &format!(
                        "... with the file each row was read from in column {}.",
                        py::comment_text(file_col)
                    ),
                    0,
                ));
            }
            reads.push(b);
            self.vars.insert(frame, var);
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
            self.vars.insert(fname.clone(), var.clone());
            for (i, step) in f.steps.iter().enumerate() {
                blocks.push(self.step(fname, i, step));
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
            self.vars.insert("main".into(), var);
            for (i, step) in st.steps.iter().enumerate() {
                blocks.push(self.step("main", i, step));
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
            let (prepared_expr, mut comments) = if o.mode == WriteMode::Merge {
                self.merge_source(o, &self.var(from))
            } else {
                (
                    call(
                        "conform",
                        vec![code(self.var(from)), code(Self::columns_const(&o.table))],
                    ),
                    vec![format!(
                        "# {}: the table's columns, in its order and types.",
                        o.table
                    )],
                )
            };
            let mut code_text = assign(&var, &prepared_expr);
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
                        code("run"),
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
        let mut used = std::collections::BTreeSet::from(["start"]);
        for b in constants.iter().chain(&conn_blocks) {
            used.extend(imports::used(&b.code));
        }
        for b in sections.iter().flat_map(|s| &s.blocks) {
            used.extend(imports::used(&b.code));
        }
        SparkContext {
            imports: imports::statement(&used),
            header,
            pipeline: p.pipeline.clone(),
            stage: self.stage_name.to_string(),
            description,
            arguments: arguments_code,
            names: [
                assign("PIPELINE", &s(p.pipeline.clone())),
                assign("STAGE", &s(self.stage_name.to_string())),
            ]
            .join("\n"),
            constants,
            connections: conn_blocks,
            sections,
            uses: self.uses,
        }
    }
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

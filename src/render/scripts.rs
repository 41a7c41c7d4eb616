//! Glue job scripts: one Python file per stage.
//!
//! In: a `ValidPipeline`. Out: `scripts/<stage>.py` -> contents, for every
//! stage: Spark stages from their declared transforms, Python shell stages
//! from their `download`, and stages with their own `script` as the user's
//! file, unchanged. When the pipeline has a generated Spark script, also
//! `scripts/pipec_runtime.py`: the helpers those scripts share (arguments,
//! Spark and Glue start, `conform`, JDBC options, data-quality checks), so
//! that each script holds only its own stage's logic. The Python shell
//! download script stands alone: it runs on Python 3.9 without PySpark.
//!
//! Generated scripts are rendered from the templates in `templates/` (built
//! into the binary). The Python statements of a Spark stage are laid out by
//! `spark` and `py`; every user string in them is a Python string literal
//! made by `py::literal`. The templates cannot print a plain string: the
//! environment's formatter accepts only values marked safe (pipec's own
//! code) and the output of the `py` filter (a string literal), so user text
//! cannot reach a script unescaped.

mod imports;
mod py;
mod spark;
pub use spark::spark_type;

use super::RenderError;
use crate::model::{Stage, StageKind};
use crate::names;
use crate::validate::ValidPipeline;
use minijinja::{Environment, Error, ErrorKind, Value};
use std::collections::BTreeMap;

const SPARK_TEMPLATE: &str = "spark_job.py.j2";
const DOWNLOAD_TEMPLATE: &str = "download.py.j2";
const RUNTIME_TEMPLATE: &str = "runtime.py.j2";

/// Where the shared runtime of a pipeline's Spark scripts is written.
pub const RUNTIME_PATH: &str = "scripts/pipec_runtime.py";
pub use imports::RUNTIME_MODULE;

/// Renders the job script of every stage.
pub fn render(v: &ValidPipeline) -> Result<BTreeMap<String, String>, RenderError> {
    let mut out = BTreeMap::new();
    render_each(v, &mut |path, text| {
        out.insert(path, text);
    })?;
    Ok(out)
}

/// Renders the job script of every stage, handing each to `sink` as soon as
/// it is rendered (in stage order, the shared runtime last), so that a large
/// pipeline never holds all its scripts at once.
pub fn render_each(
    v: &ValidPipeline,
    sink: &mut dyn FnMut(String, String),
) -> Result<(), RenderError> {
    let env = environment()?;
    // The header is one comment line; ruff's 88 columns do not apply to it.
    let mut header = py::comment_text(&super::header(v));
    if py::width(&header) + 2 > py::WIDTH {
        header.push_str("  # noqa: E501");
    }
    let mut uses: Option<spark::Uses> = None;
    for (name, stage) in &v.pipeline().stages {
        let path = format!("scripts/{name}.py");
        let text = if let Some(user) = v.user_script(name) {
            user.to_string()
        } else if stage.kind == StageKind::PythonShell {
            download(&env, v, name, stage, &header)?
        } else {
            let ctx = spark::Builder::new(v, name, stage).build(header.clone());
            uses.get_or_insert_default().add(&ctx.uses);
            render_template(
                &env,
                SPARK_TEMPLATE,
                trusted(
                    &serde_json::to_value(ctx).map_err(|e| RenderError::Template {
                        file: SPARK_TEMPLATE.into(),
                        detail: e.to_string(),
                    })?,
                ),
            )?
        };
        sink(path, text);
    }
    if let Some(uses) = uses {
        sink(RUNTIME_PATH.to_string(), runtime(&env, v, &header, &uses)?);
    }
    Ok(())
}

/// The shared runtime: the helpers that the pipeline's Spark stages use.
fn runtime(
    env: &Environment<'static>,
    v: &ValidPipeline,
    header: &str,
    uses: &spark::Uses,
) -> Result<String, RenderError> {
    let mut exports = vec![
        "F",
        "Window",
        "start",
        "quote",
        "col",
        "schema_of",
        "conform",
        "observed",
    ];
    for (used, name) in [
        (uses.casts, "check_casts"),
        (uses.jdbc, "jdbc_options"),
        (uses.jdbc, "read_jdbc"),
        (uses.jdbc, "write_jdbc"),
        (uses.quality, "check_quality"),
        (uses.iceberg, "read_iceberg"),
        (uses.iceberg, "merge_source"),
        (uses.iceberg, "observed_merge"),
        (uses.iceberg, "write_iceberg"),
    ] {
        if used {
            exports.push(name);
        }
    }
    let all = py::assign(
        "__all__",
        &py::Expr::List(exports.iter().map(|n| py::s(n.to_string())).collect()),
    );
    let ctx = minijinja::context! {
        header => Value::from_safe_string(header.to_string()),
        pipeline => Value::from_safe_string(py::comment_text(&v.pipeline().pipeline)),
        exports => Value::from_safe_string(all),
        uses => trusted(&serde_json::json!(uses)),
    };
    render_template(env, RUNTIME_TEMPLATE, ctx)
}

fn download(
    env: &Environment<'static>,
    v: &ValidPipeline,
    name: &str,
    stage: &Stage,
    header: &str,
) -> Result<String, RenderError> {
    let Some(d) = &stage.download else {
        // Validation guarantees a Python shell stage has `download` or `script`.
        return Err(RenderError::Template {
            file: DOWNLOAD_TEMPLATE.into(),
            detail: format!("stage {name} has neither `download` nor `script`"),
        });
    };
    let description = stage
        .description
        .as_deref()
        .map(|d| py::comment_lines(d, 0))
        .unwrap_or_default();
    let ctx = minijinja::context! {
        header => Value::from_safe_string(header.to_string()),
        pipeline => Value::from_safe_string(v.pipeline().pipeline.clone()),
        stage => Value::from_safe_string(name.to_string()),
        description => description.into_iter().map(Value::from_safe_string).collect::<Vec<_>>(),
        table => Value::from_safe_string(d.to.clone()),
        // Laid out like every other constant, so long values wrap within
        // ruff's line length.
        url_code => Value::from_safe_string(py::assign("URL", &py::s(d.url.clone()))),
        unzip => d.unzip,
        members_code => Value::from_safe_string(py::assign(
            "MEMBERS",
            &py::Expr::List(d.members.iter().map(|m| py::s(m.clone())).collect()),
        )),
        output_arg => Value::from_safe_string(names::output_arg(&d.to)),
        url_arg => names::download_url_arg(),
    };
    render_template(env, DOWNLOAD_TEMPLATE, ctx)
}

fn render_template(
    env: &Environment<'static>,
    name: &str,
    ctx: Value,
) -> Result<String, RenderError> {
    let fail = |e: Error| RenderError::Template {
        file: name.to_string(),
        detail: format!("{e:#}"),
    };
    let t = env.get_template(name).map_err(fail)?;
    let mut text = t.render(ctx).map_err(fail)?;
    // One newline at the end, none doubled.
    while text.ends_with("\n\n") {
        text.pop();
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A context of pipec's own code: every string becomes a safe string.
fn trusted(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::String(s) => Value::from_safe_string(s.clone()),
        serde_json::Value::Array(a) => Value::from(a.iter().map(trusted).collect::<Vec<_>>()),
        serde_json::Value::Object(o) => Value::from(
            o.iter()
                .map(|(k, v)| (k.clone(), trusted(v)))
                .collect::<BTreeMap<String, Value>>(),
        ),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::Null => Value::from(()),
    }
}

fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| RenderError::Template {
            file: "syntax".into(),
            detail: e.to_string(),
        })?;
    env.set_syntax(syntax);
    // Python string literal of any value's text.
    env.add_filter("py", |v: Value| -> Result<Value, Error> {
        match v.as_str() {
            Some(s) => Ok(Value::from_safe_string(py::literal(s))),
            None => Err(Error::new(
                ErrorKind::InvalidOperation,
                "the py filter takes a string",
            )),
        }
    });
    // A list of strings as a Python list of literals.
    env.add_filter("py_list", |v: Vec<String>| -> Value {
        Value::from_safe_string(format!(
            "[{}]",
            v.iter()
                .map(|s| py::literal(s))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    });
    env.set_formatter(|out, _state, value| {
        if value.is_safe() || value.is_number() || value.kind() == minijinja::value::ValueKind::Bool
        {
            if value.kind() == minijinja::value::ValueKind::Bool {
                out.write_str(if value.is_true() { "True" } else { "False" })?;
            } else {
                write!(out, "{value}")?;
            }
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("refusing to print {value:?} unescaped: use the `py` filter"),
            ))
        }
    });
    for (name, source) in [
        (
            SPARK_TEMPLATE,
            include_str!("../../templates/spark_job.py.j2"),
        ),
        (
            DOWNLOAD_TEMPLATE,
            include_str!("../../templates/download.py.j2"),
        ),
        (
            RUNTIME_TEMPLATE,
            include_str!("../../templates/runtime.py.j2"),
        ),
        (
            "quality.py.j2",
            include_str!("../../templates/quality.py.j2"),
        ),
        (
            "iceberg.py.j2",
            include_str!("../../templates/iceberg.py.j2"),
        ),
    ] {
        env.add_template(name, source)
            .map_err(|e| RenderError::Template {
                file: name.to_string(),
                detail: format!("{e:#}"),
            })?;
    }
    Ok(env)
}

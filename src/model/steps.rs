//! Transform steps: the types of `steps:` in a stage or frame, and the call
//! syntax (`sum(x)`, `last(x) by key`, `column desc`) that aggregates,
//! windows and orderings use.
//!
//! In: the JSON of one step, already checked by the JSON Schema. Out: a typed
//! `Step`. The hand-written `JsonSchema` of `Step` keeps one key per step.

use super::*;

/// One transform. Each step is a mapping with exactly one key, the transform's name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Keep only these columns, in this order.
    Select(Vec<String>),
    /// Remove these columns.
    Drop(Vec<String>),
    /// Rename columns (`{old: new}`), or apply a rule to all: `snake_case`, `lower_case`.
    Rename(Rename),
    /// Change column types: `{column: type}`, or `{column: {type, format, clean,
    /// on_invalid}}`. Values that were not null and become null are counted.
    Cast(IndexMap<String, CastSpec>),
    /// Keep rows for which a Spark SQL condition holds.
    Filter(String),
    /// Add or replace columns computed by Spark SQL expressions (`{column: expression}`).
    Derive(IndexMap<String, Derived>),
    /// Replace nulls (`{column: value}`).
    FillNull(IndexMap<String, serde_json::Value>),
    /// Drop duplicate rows: whole rows, or by `keys` keeping the first row by `order_by`.
    Dedupe(Dedupe),
    /// Join another frame.
    Join(Join),
    /// Group and aggregate.
    Aggregate(Aggregate),
    /// Append other frames, matching columns by name.
    Union(Union),
    /// Split a multi-valued column (`"Python;Rust;Go"`) into one row per value.
    Explode(Explode),
    /// Window functions over partitions (`row_number()`, `rank()`, `lag(col)`, ...).
    Window(Window),
    /// Redistribute rows by columns and/or into a number of partitions.
    Repartition(Repartition),
    /// A Spark SQL query over named frames; `this` is the current frame.
    Sql(Sql),
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::Select(_) => "select",
            Step::Drop(_) => "drop",
            Step::Rename(_) => "rename",
            Step::Cast(_) => "cast",
            Step::Filter(_) => "filter",
            Step::Derive(_) => "derive",
            Step::FillNull(_) => "fill_null",
            Step::Dedupe(_) => "dedupe",
            Step::Join(_) => "join",
            Step::Aggregate(_) => "aggregate",
            Step::Union(_) => "union",
            Step::Explode(_) => "explode",
            Step::Window(_) => "window",
            Step::Repartition(_) => "repartition",
            Step::Sql(_) => "sql",
        }
    }
}

/// The schema of `Step`: an object with exactly one known key. Written by hand
/// (not `oneOf`) so that a typo is reported as an unknown key with a suggestion
/// and a wrong value is reported at the value, not as "matches no variant".
impl JsonSchema for Step {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut props = serde_json::Map::new();
        let mut add = |name: &str, desc: &str, mut schema: Schema| {
            schema.insert("description".into(), desc.into());
            props.insert(name.into(), schema.into());
        };
        add(
            "select",
            "Keep only these columns, in this order.",
            generator.subschema_for::<Vec<String>>(),
        );
        add(
            "drop",
            "Remove these columns.",
            generator.subschema_for::<Vec<String>>(),
        );
        add(
            "rename",
            "Rename columns (`{old: new}`), or `snake_case` / `lower_case` for all.",
            generator.subschema_for::<Rename>(),
        );
        add(
            "cast",
            "Change column types: `{column: type}` or `{column: {type, format, clean, on_invalid}}`; values that were not null and become null are counted and reported.",
            generator.subschema_for::<IndexMap<String, CastSpec>>(),
        );
        add(
            "filter",
            "Keep rows for which this Spark SQL condition holds.",
            generator.subschema_for::<String>(),
        );
        add(
            "derive",
            "Add or replace columns from Spark SQL expressions (`{column: expression}`).",
            generator.subschema_for::<IndexMap<String, Derived>>(),
        );
        add(
            "fill_null",
            "Replace nulls (`{column: value}`).",
            generator.subschema_for::<IndexMap<String, serde_json::Value>>(),
        );
        add(
            "dedupe",
            "Drop duplicate rows: whole rows, or by `keys` keeping the first by `order_by`.",
            generator.subschema_for::<Dedupe>(),
        );
        add(
            "join",
            "Join another frame.",
            generator.subschema_for::<Join>(),
        );
        add(
            "aggregate",
            "Group and aggregate.",
            generator.subschema_for::<Aggregate>(),
        );
        add(
            "union",
            "Append other frames, matching columns by name.",
            generator.subschema_for::<Union>(),
        );
        add(
            "explode",
            "Split a multi-valued column into one row per value.",
            generator.subschema_for::<Explode>(),
        );
        add(
            "window",
            "Window functions over partitions.",
            generator.subschema_for::<Window>(),
        );
        add(
            "repartition",
            "Redistribute rows by columns and/or into a number of partitions.",
            generator.subschema_for::<Repartition>(),
        );
        add(
            "sql",
            "A Spark SQL query over named frames; `this` is the current frame.",
            generator.subschema_for::<Sql>(),
        );
        json_schema!({
            "description": "One transform: a mapping with exactly one key, the transform's name.",
            "type": "object",
            "properties": props,
            "additionalProperties": false,
            "minProperties": 1,
            "maxProperties": 1
        })
    }
}

/// A rename map, or a rule applied to every column.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Rename {
    Rule(RenameRule),
    Map(IndexMap<String, String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RenameRule {
    SnakeCase,
    LowerCase,
}

/// The target of one cast: a type, or `{type, format, clean, on_invalid}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CastSpec {
    Type(String),
    Full(CastFull),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CastFull {
    /// Hive/Glue type to cast to.
    #[serde(rename = "type")]
    pub ty: String,
    /// `date` and `timestamp` only: the Spark datetime pattern of the text,
    /// for example `M/d/yyyy H:mm` for `12/1/2010 8:28`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Numeric types only: clean the text before the cast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean: Option<Clean>,
    /// What to do with values that were not null and do not convert. Default:
    /// the stage's `cast_on_invalid`, else `warn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_invalid: Option<OnInvalid>,
}

/// Text cleaning before a numeric cast, in this order: trim, remove the
/// thousands separator, then read the decimal separator as `.`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Clean {
    /// Remove leading and trailing spaces.
    #[serde(default)]
    pub trim: bool,
    /// Thousands separator to remove, one character: `","` in `1,234.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thousands: Option<String>,
    /// Decimal separator, one character, when it is not `.`: `","` in `1.234,5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<String>,
}

/// What a cast does with values that were not null and do not convert:
/// `warn` (count them in the job log and, on Glue, a CloudWatch metric),
/// `fail` (stop the stage before anything is written) or `null` (keep silent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnInvalid {
    #[default]
    Warn,
    Fail,
    Null,
}

impl OnInvalid {
    pub fn as_str(self) -> &'static str {
        match self {
            OnInvalid::Warn => "warn",
            OnInvalid::Fail => "fail",
            OnInvalid::Null => "null",
        }
    }
}

impl CastSpec {
    pub fn ty(&self) -> &str {
        match self {
            CastSpec::Type(t) => t,
            CastSpec::Full(f) => &f.ty,
        }
    }
    pub fn format(&self) -> Option<&str> {
        match self {
            CastSpec::Type(_) => None,
            CastSpec::Full(f) => f.format.as_deref(),
        }
    }
    pub fn clean(&self) -> Option<&Clean> {
        match self {
            CastSpec::Type(_) => None,
            CastSpec::Full(f) => f.clean.as_ref(),
        }
    }
    pub fn on_invalid(&self) -> Option<OnInvalid> {
        match self {
            CastSpec::Type(_) => None,
            CastSpec::Full(f) => f.on_invalid,
        }
    }
}

/// A derived column: an expression, or `{expr, type}` to fix its type.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Derived {
    Expr(String),
    Typed(TypedExpr),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypedExpr {
    pub expr: String,
    #[serde(rename = "type")]
    pub ty: String,
}

impl Derived {
    pub fn expr(&self) -> &str {
        match self {
            Derived::Expr(e) => e,
            Derived::Typed(t) => &t.expr,
        }
    }
    pub fn ty(&self) -> Option<&str> {
        match self {
            Derived::Expr(_) => None,
            Derived::Typed(t) => Some(&t.ty),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dedupe {
    /// Columns that identify a record. Empty: whole rows are compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Which row of a duplicate group is kept: the first by this order
    /// (`column` or `column desc`). Required with `keys` so the result is defined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// Frame joined to the current one (the right side).
    pub with: String,
    /// Join type. Default `inner`.
    #[serde(default, rename = "type")]
    pub kind: JoinKind,
    /// Join keys: a column name present on both sides, or `{left, right}`.
    pub on: Vec<JoinKey>,
    /// Prefix added to right-side columns whose names clash with left-side ones
    /// (as Glue Studio does). Keys named the same on both sides are kept once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Renames applied to right-side columns before the join (`{old: new}`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rename: IndexMap<String, String>,
    /// Broadcast the right side (a small table).
    #[serde(default)]
    pub broadcast: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinKind {
    #[default]
    Inner,
    Left,
    Right,
    Full,
    Semi,
    Anti,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum JoinKey {
    Same(String),
    Pair(JoinPair),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinPair {
    pub left: String,
    pub right: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// Grouping columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Output column to aggregate call: `count(*)`, `count(col)`, `count_distinct(col)`,
    /// `count_if(condition)`, `sum(col)`, `avg(col)`, `min(col)`, `max(col)`,
    /// `first(col) by key`, `last(col) by key` (the value at the least or
    /// greatest `key`), `stddev(col)`, `variance(col)`, `collect_list(col)`,
    /// `collect_set(col)`, `approx_count_distinct(col)`; or `{call, filter}` to
    /// aggregate only the rows for which a Spark SQL condition holds.
    pub aggregates: IndexMap<String, AggregateCall>,
}

/// An aggregate call, or `{call, filter}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AggregateCall {
    Call(String),
    Filtered(FilteredCall),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilteredCall {
    /// The aggregate call, for example `sum(arr_delay)`.
    pub call: String,
    /// Spark SQL condition: only rows for which it holds are aggregated.
    pub filter: String,
}

impl AggregateCall {
    pub fn call(&self) -> &str {
        match self {
            AggregateCall::Call(c) => c,
            AggregateCall::Filtered(f) => &f.call,
        }
    }
    pub fn filter(&self) -> Option<&str> {
        match self {
            AggregateCall::Call(_) => None,
            AggregateCall::Filtered(f) => Some(&f.filter),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Union {
    /// Frames appended to the current one.
    pub with: Vec<String>,
    /// Allow frames that lack some columns (they become null).
    #[serde(default)]
    pub allow_missing: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Explode {
    /// Column holding several values.
    pub column: String,
    /// Separator between values, taken literally (not a regex). Omit for array columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// Name of the output column. Default: the exploded column's own name.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Keep rows whose list is empty or null (as one row with null).
    #[serde(default)]
    pub keep_empty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_by: Vec<String>,
    /// `column` or `column desc`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<String>,
    /// The rows each aggregate function (`sum`, `avg`, `count`, `first`, ...)
    /// sees, unless its column sets its own `frame`. Default: Spark's (the
    /// whole partition without `order_by`, else up to the current row).
    /// Ranking functions and `lag`/`lead` take no frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<WindowFrame>,
    /// Output column to window function: `row_number()`, `rank()`, `dense_rank()`,
    /// `percent_rank()`, `ntile(n)`, `lag(col)`, `lead(col)`, `sum(col)`, `avg(col)`,
    /// `min(col)`, `max(col)`, `count(col)`, `first(col)`, `last(col)`; or
    /// `{call, frame}` for an aggregate function over its own frame.
    pub columns: IndexMap<String, WindowCall>,
}

/// A window function call, or `{call, frame}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum WindowCall {
    Call(String),
    Framed(FramedCall),
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FramedCall {
    /// An aggregate function, for example `sum(flights)`.
    pub call: String,
    pub frame: WindowFrame,
}

impl WindowCall {
    pub fn call(&self) -> &str {
        match self {
            WindowCall::Call(c) => c,
            WindowCall::Framed(f) => &f.call,
        }
    }
    pub fn frame(&self) -> Option<&WindowFrame> {
        match self {
            WindowCall::Call(_) => None,
            WindowCall::Framed(f) => Some(&f.frame),
        }
    }
}

/// A window frame: `rows: [start, end]` counts rows from the current one,
/// `range: [start, end]` takes the rows whose single `order_by` value lies
/// within these offsets of the current row's. `0` is the current row, and
/// `unbounded` the partition's first row (as start) or last row (as end).
/// Set exactly one of the two.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<[FrameBound; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[FrameBound; 2]>,
}

/// An offset from the current row (negative: before it), or `unbounded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum FrameBound {
    Offset(i64),
    Unbounded(Unbounded),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unbounded {
    Unbounded,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repartition {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sql {
    /// The query. Frames are visible as views by their names, the current frame as `this`.
    pub query: String,
    /// Columns the query returns (name to type), in order. pipec must know
    /// every frame's columns, so a query declares them; the script keeps
    /// exactly these columns, cast to these types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<IndexMap<String, String>>,
}

/// One `order_by` item: `column`, `column desc`, `column asc nulls last`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub column: String,
    pub descending: bool,
    /// `Some(true)`: nulls first; `Some(false)`: nulls last; `None`: Spark's default.
    pub nulls_first: Option<bool>,
}

impl OrderKey {
    /// Parses from the end, so that column names with spaces still work.
    pub fn parse(s: &str) -> OrderKey {
        let mut rest = s.trim();
        let mut nulls_first = None;
        let lower = rest.to_ascii_lowercase();
        if lower.ends_with(" nulls first") {
            nulls_first = Some(true);
            rest = rest[..rest.len() - " nulls first".len()].trim_end();
        } else if lower.ends_with(" nulls last") {
            nulls_first = Some(false);
            rest = rest[..rest.len() - " nulls last".len()].trim_end();
        }
        let lower = rest.to_ascii_lowercase();
        let mut descending = false;
        if lower.ends_with(" desc") {
            descending = true;
            rest = rest[..rest.len() - " desc".len()].trim_end();
        } else if lower.ends_with(" asc") {
            rest = rest[..rest.len() - " asc".len()].trim_end();
        }
        OrderKey {
            column: rest.to_string(),
            descending,
            nulls_first,
        }
    }
}

/// A function call in `aggregates` or window `columns`: `sum(amount)`,
/// `count(*)`, `ntile(4)`, `last(price) by invoice_date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub function: String,
    /// Arguments split on top-level commas and trimmed; empty for `row_number()`.
    pub args: Vec<String>,
    /// `first(col) by key` / `last(col) by key`: the order that says which
    /// value is first or last.
    pub by: Option<OrderKey>,
}

impl Call {
    pub fn parse(s: &str) -> Option<Call> {
        let s = s.trim();
        let open = s.find('(')?;
        // The call ends at the parenthesis that closes the first one; an
        // order may follow: `last(x) by key desc`.
        let mut depth = 0;
        let mut close = None;
        for (i, c) in s.char_indices().skip_while(|(i, _)| *i < open) {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let close = close?;
        let rest = s[close + 1..].trim();
        let by = if rest.is_empty() {
            None
        } else {
            let (word, key) = rest.split_at(rest.find(char::is_whitespace)?);
            if !word.eq_ignore_ascii_case("by") || key.trim().is_empty() {
                return None;
            }
            Some(OrderKey::parse(key))
        };
        let s = &s[..=close];
        let inner = s.strip_suffix(')')?.get(open + 1..)?;
        let function = s[..open].trim().to_ascii_lowercase();
        if function.is_empty()
            || !function
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return None;
        }
        let args = if inner.trim().is_empty() {
            Vec::new()
        } else {
            let mut args = Vec::new();
            let mut depth = 0;
            let mut cur = String::new();
            for c in inner.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    ',' if depth == 0 => {
                        args.push(cur.trim().to_string());
                        cur.clear();
                        continue;
                    }
                    _ => {}
                }
                cur.push(c);
            }
            args.push(cur.trim().to_string());
            args
        };
        Some(Call { function, args, by })
    }
}

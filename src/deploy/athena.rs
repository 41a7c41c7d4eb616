//! `pipec query` on AWS: one SQL statement through Athena, in the
//! pipeline's workgroup (which enforces its scan limit) and Glue database.
//!
//! In: the pipeline's `Resources` (workgroup, database), an Athena client,
//! the SQL text and an output format. Out: the result as an aligned table,
//! CSV or JSON lines on stdout, Athena's StateChangeReason when the query
//! fails, and an `Outcome`.

use super::resources::Resources;
use super::{Outcome, describe};
use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultSet};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Csv,
    Json,
}

/// A result: column names and rows (`None`: SQL NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// Appends one page of GetQueryResults. Athena repeats the column names
    /// as the first row of the first page of a SELECT; that row is dropped.
    pub fn add_page(&mut self, set: &ResultSet, first: bool) {
        if first {
            self.columns = set
                .result_set_metadata()
                .map(|m| {
                    m.column_info()
                        .iter()
                        .map(|c| c.name().to_string())
                        .collect()
                })
                .unwrap_or_default();
        }
        for (i, row) in set.rows().iter().enumerate() {
            let cells: Vec<Option<String>> = row
                .data()
                .iter()
                .map(|d| d.var_char_value().map(str::to_string))
                .collect();
            let is_header = first
                && i == 0
                && !self.columns.is_empty()
                && cells.len() == self.columns.len()
                && cells
                    .iter()
                    .zip(&self.columns)
                    .all(|(c, n)| c.as_deref() == Some(n.as_str()));
            if self.columns.is_empty() && first && i == 0 {
                // No metadata: the first row names the columns.
                self.columns = cells
                    .iter()
                    .map(|c| c.clone().unwrap_or_default())
                    .collect();
                continue;
            }
            if !is_header {
                self.rows.push(cells);
            }
        }
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.text(),
            Format::Csv => self.csv(),
            Format::Json => self.json(),
        }
    }

    fn text(&self) -> String {
        let cell = |c: &Option<String>| c.clone().unwrap_or_else(|| "NULL".into());
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell(c).chars().count());
                }
            }
        }
        let line = |cells: Vec<String>| {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
                .collect();
            format!("{}\n", parts.join("  ").trim_end())
        };
        let mut out = line(self.columns.clone());
        out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
        for r in &self.rows {
            out.push_str(&line(r.iter().map(cell).collect()));
        }
        out.push_str(&format!(
            "({} row{})\n",
            self.rows.len(),
            if self.rows.len() == 1 { "" } else { "s" }
        ));
        out
    }

    fn csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| field(c)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for r in &self.rows {
            let cells: Vec<String> = r
                .iter()
                .map(|c| field(c.as_deref().unwrap_or("")))
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// One JSON object per row, keyed by column name.
    fn json(&self) -> String {
        let mut out = String::new();
        for r in &self.rows {
            let mut obj = serde_json::Map::new();
            for (i, name) in self.columns.iter().enumerate() {
                let v = r.get(i).cloned().flatten();
                obj.insert(
                    name.clone(),
                    v.map_or(serde_json::Value::Null, serde_json::Value::String),
                );
            }
            out.push_str(&serde_json::Value::Object(obj).to_string());
            out.push('\n');
        }
        out
    }
}

/// How often to ask Athena for the query's state.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            first: Duration::from_millis(200),
            max: Duration::from_secs(5),
        }
    }
}

/// Runs `sql` and returns its result, or the message to show and the outcome.
pub async fn execute(
    athena: &aws_sdk_athena::Client,
    r: &Resources,
    sql: &str,
    poll: Poll,
) -> Result<Table, (String, Outcome)> {
    let Some(workgroup) = &r.workgroup else {
        return Err((
            format!(
                "pipeline `{}` has no Athena workgroup; add an `athena:` section so queries run within its scan limit",
                r.pipeline
            ),
            Outcome::Usage,
        ));
    };
    let database = r
        .database
        .clone()
        .unwrap_or_else(|| crate::names::glue_database(&r.pipeline));
    let started = athena
        .start_query_execution()
        .query_string(sql)
        .work_group(workgroup)
        .query_execution_context(QueryExecutionContext::builder().database(&database).build())
        .send()
        .await
        .map_err(|e| {
            (
                format!(
                    "Athena refused the query in workgroup `{workgroup}`: {}",
                    describe(&e)
                ),
                Outcome::Usage,
            )
        })?;
    let id = started.query_execution_id().unwrap_or_default().to_string();
    let mut wait = poll.first;
    loop {
        let out = athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .map_err(|e| {
                (
                    format!("cannot read query {id}: {}", describe(&e)),
                    Outcome::Failed,
                )
            })?;
        let status = out.query_execution().and_then(|q| q.status());
        let reason = status
            .and_then(|s| s.state_change_reason())
            .unwrap_or("Athena gave no reason");
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => break,
            Some(QueryExecutionState::Failed) => {
                return Err((format!("query {id} failed: {reason}"), Outcome::Failed));
            }
            Some(QueryExecutionState::Cancelled) => {
                return Err((
                    format!("query {id} was cancelled: {reason}"),
                    Outcome::Failed,
                ));
            }
            _ => {}
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 3 / 2).min(poll.max);
    }
    let mut table = Table::default();
    let mut token: Option<String> = None;
    let mut first = true;
    loop {
        let out = athena
            .get_query_results()
            .query_execution_id(&id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                (
                    format!("cannot read the results of query {id}: {}", describe(&e)),
                    Outcome::Failed,
                )
            })?;
        if let Some(set) = out.result_set() {
            table.add_page(set, first);
        }
        first = false;
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(table)
}

/// `pipec query`: runs the SQL and prints the result.
pub async fn query(
    athena: &aws_sdk_athena::Client,
    r: &Resources,
    sql: &str,
    format: Format,
) -> Outcome {
    match execute(athena, r, sql, Poll::default()).await {
        Ok(t) => {
            print!("{}", t.render(format));
            Outcome::Done
        }
        Err((msg, outcome)) => {
            eprintln!("error: {msg}");
            outcome
        }
    }
}

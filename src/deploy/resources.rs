//! What the rendered stacks of a pipeline name in AWS: its workflow (and,
//! for a pipeline split into chained workflows, the later ones with the
//! Glue event that starts each), jobs, crawlers, Glue database and Athena
//! workgroup.
//!
//! In: a `plan::Pipeline` (its stack templates). Out: `Resources`, the names
//! `run`, `runs` and `athena` call Glue and Athena with. Read from the
//! templates rather than derived again, so a run targets exactly what
//! `deploy` created.

use super::plan::Pipeline;
use serde_json::Value;

/// One Glue job or crawler: the user's name and its AWS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub aws_name: String,
}

/// A later workflow of a split pipeline, started by an EventBridge rule on a
/// Glue state change of a job or crawler in an earlier workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chained {
    pub workflow: String,
    /// The AWS name of the job or crawler whose state change starts it.
    pub after: String,
    /// The state as Glue's event names it (`SUCCEEDED`, or `Succeeded` for a crawler).
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub pipeline: String,
    /// The workflow a run starts: the one named after the pipeline.
    pub workflow: Option<String>,
    /// The later workflows, in the order of their stacks.
    pub chain: Vec<Chained>,
    pub jobs: Vec<Named>,
    pub crawlers: Vec<Named>,
    pub database: Option<String>,
    pub workgroup: Option<String>,
}

impl Resources {
    /// Scans every stack template's `Resources` for the Glue and Athena
    /// resources a run needs. A template that does not parse names nothing.
    pub fn of(p: &Pipeline) -> Resources {
        let mut r = Resources {
            pipeline: p.name.clone(),
            ..Resources::default()
        };
        let prefix = format!("{}-", p.name);
        let short = |aws: &str| aws.strip_prefix(&prefix).unwrap_or(aws).to_string();
        for stack in &p.stacks {
            let file = crate::source::SourceFile::new(&stack.stack_name, &stack.template);
            let Ok((doc, _)) = crate::yaml::parse(&file) else {
                continue;
            };
            let Some(res) = doc.value.get("Resources").and_then(Value::as_object) else {
                continue;
            };
            for v in res.values() {
                let ty = v.get("Type").and_then(Value::as_str).unwrap_or("");
                if ty == "AWS::Events::Rule" {
                    r.chain.extend(chained(v.get("Properties")));
                    continue;
                }
                // A database's name sits in its DatabaseInput.
                let props = v.get("Properties");
                let props = match ty {
                    "AWS::Glue::Database" => props.and_then(|p| p.get("DatabaseInput")),
                    _ => props,
                };
                let Some(name) = props.and_then(|p| p.get("Name")).and_then(Value::as_str) else {
                    continue;
                };
                let named = || Named {
                    name: short(name),
                    aws_name: name.to_string(),
                };
                match ty {
                    "AWS::Glue::Workflow" if r.workflow.is_none() || name == p.name => {
                        r.workflow = Some(name.to_string())
                    }
                    "AWS::Glue::Job" => r.jobs.push(named()),
                    "AWS::Glue::Crawler" => r.crawlers.push(named()),
                    "AWS::Glue::Database" => r.database = Some(name.to_string()),
                    "AWS::Athena::WorkGroup" => r.workgroup = Some(name.to_string()),
                    _ => {}
                }
            }
        }
        r
    }

    /// The user's name of a job or crawler Glue reports by its AWS name.
    pub fn short_name(&self, aws_name: &str) -> String {
        self.jobs
            .iter()
            .chain(&self.crawlers)
            .find(|n| n.aws_name == aws_name)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| aws_name.to_string())
    }

    /// The job of a stage, by its name in the pipeline or its AWS name.
    pub fn job(&self, stage: &str) -> Option<&Named> {
        self.jobs
            .iter()
            .find(|n| n.name == stage || n.aws_name == stage)
    }
}

/// The later workflow an EventBridge rule starts on a Glue job or crawler
/// state change, if it is such a rule.
fn chained(props: Option<&Value>) -> Option<Chained> {
    let props = props?;
    let pattern = props.get("EventPattern")?;
    let first = |v: Option<&Value>| {
        v.and_then(|v| v.get(0))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if first(pattern.get("source")).as_deref() != Some("aws.glue") {
        return None;
    }
    let detail = pattern.get("detail")?;
    let after = first(detail.get("jobName")).or_else(|| first(detail.get("crawlerName")))?;
    let state = first(detail.get("state"))?;
    let target = props.get("Targets")?.get(0)?.get("Arn")?;
    let arn = target
        .get("Fn::Sub")
        .and_then(Value::as_str)
        .or_else(|| target.as_str())?;
    let (_, workflow) = arn.rsplit_once(":workflow/")?;
    Some(Chained {
        workflow: workflow.to_string(),
        after,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_names_its_workflow_jobs_and_database() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
        let pipelines = super::super::plan::load_every(&root).expect("generated/ loads");
        assert!(!pipelines.is_empty());
        for p in &pipelines {
            let r = Resources::of(p);
            assert_eq!(r.workflow.as_deref(), Some(p.name.as_str()), "{}", p.name);
            assert!(!r.jobs.is_empty(), "{}", p.name);
            for j in &r.jobs {
                assert_eq!(j.aws_name, crate::names::glue_job(&p.name, &j.name));
            }
            assert_eq!(
                r.database.as_deref(),
                Some(crate::names::glue_database(&p.name).as_str())
            );
        }
    }

    #[test]
    fn a_split_pipeline_names_its_first_workflow_and_the_chain() {
        let source = crate::synthetic::pipeline(120);
        let dir = std::env::temp_dir().join(format!("pipec-chain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("synthetic.yaml");
        std::fs::write(&path, &source).unwrap();
        let plan = super::super::plan::load(&super::super::plan::Source::File(path), None);
        let _ = std::fs::remove_dir_all(&dir);
        let p = &plan.expect("builds")[0];
        let r = Resources::of(p);
        let loaded = crate::load_bytes("synthetic.yaml", source.as_bytes(), &dir);
        let v = loaded.pipeline.expect("valid");
        assert_eq!(r.workflow.as_deref(), Some("synthetic"));
        assert!(!r.chain.is_empty());
        let split = crate::validate::workflows::partition(v.pipeline()).unwrap();
        assert_eq!(r.chain.len(), split.parts.len() - 1);
        for c in &r.chain {
            assert!(c.workflow.starts_with("synthetic."), "{c:?}");
            assert!(r.jobs.iter().any(|j| j.aws_name == c.after), "{c:?}");
            assert_eq!(c.state, "SUCCEEDED");
        }
    }
}

//! The deploy phase (`pipec deploy`): plan every change set, gate them all,
//! confirm once, then apply in dependency order.
//!
//! In: planned pipelines, the stacks to act on, the user's choices
//! (`Options`) and the target (the caller's ARN names the lock's holder).
//! Out: each out-of-date stack created or updated through a change set, job
//! scripts uploaded under their content-hash keys, and an `Outcome` with
//! one summary line per pipeline. Errors: `DeployError` (`error`).
//!
//! Steps, one module each:
//! 1. `prepare::inspect`, read only, every stack at once: DescribeStacks and
//!    GetTemplate, and one ListObjectsV2 of the scripts. Nothing due: done,
//!    with no write at all.
//! 2. Refuse first: changes are due but there is neither a terminal nor
//!    `--yes`: exit 2 before any upload or change set.
//! 3. `lock`: one deploy of a pipeline at a time. Before the first deploy
//!    there is no bucket to hold it; then the CREATE change set of the
//!    bucket's stack is the exclusive step: once one change set of a stack
//!    executes, CloudFormation deletes the stack's other change sets
//!    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets-execute.html),
//!    so of two first deploys one fails at ExecuteChangeSet, and the other
//!    takes the lock as soon as the bucket exists, before any other step.
//! 4. `prepare::prepare`, every due stack at once: scripts uploaded
//!    (`upload`), then its change set created and read. No CreateChangeSet
//!    depends on another stack existing: pipec's stacks name each other's
//!    resources by deterministic names, never by `Fn::ImportValue`, so they
//!    can all be planned before any runs. The artifacts bucket is the
//!    exception (uploads and templates over 51,200 bytes go there): on a
//!    first deploy its stack is planned, gated and executed alone first.
//! 5. `gate::gate` over all change sets; one refusal, or a declined
//!    confirmation, deletes every change set of the run: nothing changes.
//! 6. `execute`, in dependency order, each stack as soon as its own
//!    dependencies are done.

mod error;
mod execute;
mod gate;
mod prepare;
mod summary;
mod upload;

pub use error::{DeployError, Failure};
pub(crate) use execute::delete_and_wait_with;
pub use execute::{first_failed, protection_unsupported};
pub use gate::{Refusal, gate};
pub use prepare::{Found, Prepared};
pub use summary::Counts;

use super::lock::{self, Holder, Lock, LockError};
use super::plan::{Pipeline, Stack};
use super::{Aws, Log, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use upload::Uploads;

/// The user's choices.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--stack` names (short or CloudFormation names); empty: every stack.
    pub stacks: Vec<String>,
    pub only: bool,
    pub yes: bool,
    /// `--allow-data-loss` (formerly `--allow-replace`): replace or remove
    /// buckets, KMS keys, Glue databases and tables.
    pub allow_replace: bool,
    /// `--allow-breaking-schema`: table changes that break readers
    /// (partition keys, location, narrowed, removed or renamed columns).
    pub allow_breaking_schema: bool,
    pub recreate: bool,
    /// Deploy committed files that differ from what their source renders.
    pub allow_edited: bool,
    /// Remove another deploy's lock (one that died) before taking it.
    pub break_lock: bool,
}

/// What happened to one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Unchanged,
    Created,
    Updated,
}

/// What happened to each stack, by short name.
pub type Results = BTreeMap<String, Result<Done, DeployError>>;

/// What every step of one pipeline's deploy shares.
pub(crate) struct Ctx {
    aws: Aws,
    log: Log,
    opts: Options,
    pipeline: String,
    tags: BTreeMap<String, String>,
    bucket: String,
    /// The account, for the physical names of retained resources.
    account: String,
}

/// The name script uploads are shown under (not a stack, never counted).
const SCRIPTS: &str = "(scripts)";

/// Stacks planned at once: CloudFormation's API rates stay far away.
const PARALLEL_STACKS: usize = 16;

/// Deploys the selected stacks of each pipeline, one pipeline after another.
/// The target is printed first; committed files that differ from what their
/// source renders stop everything before any call, unless `allow_edited`.
pub async fn run(
    aws: &Aws,
    pipelines: &[Pipeline],
    opts: &Options,
    log: &Log,
    target: &super::identity::Target,
) -> Outcome {
    log.target(target);
    let findings: Vec<(String, String)> = pipelines
        .iter()
        .flat_map(|p| p.findings.iter().map(|f| (p.name.clone(), f.message())))
        .collect();
    if !findings.is_empty() {
        if !opts.allow_edited {
            let e = DeployError::Edited {
                findings: findings.into_iter().map(|(_, f)| f).collect(),
            };
            eprintln!("error: {}", e.message());
            return e.outcome();
        }
        for (p, f) in &findings {
            log.event(p, p, "warning", &format!("--allow-edited: {f}"));
        }
    }
    let mut outcome = Outcome::Done;
    for p in pipelines {
        let (o, _) = deploy_pipeline(aws, p, opts, log, target).await;
        outcome = outcome.max(o);
    }
    outcome
}

/// Deploys one pipeline's selected stacks.
pub async fn deploy_pipeline(
    aws: &Aws,
    p: &Pipeline,
    opts: &Options,
    log: &Log,
    target: &super::identity::Target,
) -> (Outcome, Results) {
    let wanted = super::plan::wanted_in(p, &opts.stacks);
    let selected = match p.select(&wanted, opts.only, false) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", e.message());
            return (Outcome::Usage, BTreeMap::new());
        }
    };
    log.expect(selected.len());
    let ctx = Arc::new(Ctx {
        aws: aws.clone(),
        log: log.clone(),
        opts: opts.clone(),
        pipeline: p.name.clone(),
        tags: p.tags.clone(),
        bucket: p.bucket(&target.account, &aws.region),
        account: target.account.clone(),
    });
    let stacks: Vec<Stack> = p
        .stacks
        .iter()
        .filter(|s| selected.contains(&s.name))
        .cloned()
        .collect();
    let mut run = Run {
        ctx: ctx.clone(),
        stacks: stacks.clone(),
        results: Results::new(),
        errors: Vec::new(),
    };

    // 1. Look, read only.
    let found = inspect_all(&ctx, &stacks).await;
    let mut due: Vec<Stack> = Vec::new();
    for s in &stacks {
        match &found[&s.name] {
            Ok(Found::Unchanged) => {
                log.event(&p.name, &s.stack_name, "unchanged", "");
                run.results.insert(s.name.clone(), Ok(Done::Unchanged));
            }
            Ok(_) => due.push(s.clone()),
            Err(e) => {
                log.event(&p.name, &s.stack_name, "failed", "");
                run.results.insert(s.name.clone(), Err(e.clone()));
                run.errors.push(e.clone());
            }
        }
    }
    if !run.errors.is_empty() {
        return run.finish();
    }
    let found: BTreeMap<String, Found> = found
        .into_iter()
        .filter_map(|(k, v)| v.ok().map(|v| (k, v)))
        .collect();
    // pipec's own gate, from the templates just read, before any lock,
    // upload or change set: what CloudFormation's flags miss (moto gives
    // none). The Replacement flags are checked again once change sets exist.
    let allowed = crate::deploy::gate::Allowed {
        data_loss: opts.allow_replace,
        breaking_schema: opts.allow_breaking_schema,
    };
    let pairs: Vec<(&str, Option<&str>, &str)> = due
        .iter()
        .map(|s| {
            let old = match &found[&s.name] {
                Found::Update { deployed } => Some(deployed.as_str()),
                _ => None,
            };
            (s.stack_name.as_str(), old, s.template.as_str())
        })
        .collect();
    let refused = crate::deploy::gate::check(&pairs, allowed);
    drop(pairs);
    if !refused.is_empty() {
        for r in &refused {
            log.event(
                &p.name,
                &r.stack,
                "refused",
                &format!("{}: {}", r.logical_id, r.what),
            );
        }
        for s in &due {
            let mine: Vec<String> = refused
                .iter()
                .filter(|r| r.stack == s.stack_name)
                .map(|r| r.message())
                .collect();
            if !mine.is_empty() {
                let e = DeployError::Gated {
                    stack: s.stack_name.clone(),
                    refusals: mine,
                };
                run.results.insert(s.name.clone(), Err(e.clone()));
                run.errors.push(e);
            }
        }
        return run.finish();
    }
    let bucket_stack = p
        .bucket_stack()
        .filter(|b| selected.contains(&b.name))
        .cloned();
    let bucket_new = bucket_stack
        .as_ref()
        .is_some_and(|b| found.get(&b.name).is_some_and(Found::creates));
    let named: BTreeSet<String> = stacks
        .iter()
        .flat_map(|s| upload::referenced(&s.template))
        .collect();
    let scripts: Vec<_> = p
        .scripts
        .iter()
        .filter(|sc| named.contains(&sc.s3_key))
        .cloned()
        .collect();
    let present = if scripts.is_empty() || bucket_new {
        BTreeSet::new()
    } else {
        match upload::listed(aws, &ctx.bucket).await {
            Ok(k) => k,
            Err(e) => return run.stop(e),
        }
    };
    let uploads = Arc::new(Uploads::new(&scripts, present));
    if due.is_empty() && uploads.missing().is_empty() {
        return run.finish();
    }

    // 2. Refuse first: nothing is written without a way to confirm.
    if !opts.yes && !has_terminal() {
        let mut names: Vec<String> = due.iter().map(|s| s.stack_name.clone()).collect();
        if names.is_empty() {
            names.push(format!("{} job script(s)", uploads.missing().len()));
        }
        return run.stop(DeployError::NeedsYes { stacks: names });
    }

    // 3. The lock. Before the first deploy there is no bucket to hold it:
    // the bucket's stack is then created alone, and the lock taken at once.
    let me = Holder::me(&target.arn);
    let mut held: Option<Lock> = match take_lock(&ctx, &me).await {
        Ok(l) => l,
        Err(e) => return run.stop(e),
    };
    let mut confirmed_creates = false;
    if held.is_none()
        && bucket_new
        && let Some(b) = &bucket_stack
    {
        let others = due.len() - 1;
        let question = format!(
            "Create {} first (it holds the artifacts bucket every other step needs), then the {others} other stack(s)?",
            b.stack_name
        );
        if let Err(()) = run
            .round(std::slice::from_ref(b), &found, &uploads, Some(question))
            .await
        {
            return run.finish();
        }
        confirmed_creates = true;
        held = match take_lock(&ctx, &me).await {
            Ok(l) => l,
            Err(e) => return run.stop(e),
        };
        due.retain(|s| s.name != b.name);
    }
    if held.is_none() {
        log.event(
            &p.name,
            &p.name,
            "warning",
            "no deploy lock: the artifacts bucket does not exist (deploy its stack first)",
        );
    }

    // 4-6. Plan, gate, confirm, execute.
    let all_creates = due.iter().all(|s| found[&s.name].creates());
    let question = (confirmed_creates && all_creates).then(String::new);
    let _ = run.round(&due, &found, &uploads, question).await;
    // Scripts missing while every stack is up to date.
    if due.is_empty()
        && run.errors.is_empty()
        && let Err(e) = uploads.ensure_all(&ctx).await
    {
        run.errors.push(e);
    }
    if let Some(l) = &held
        && let Err(d) = lock::release(aws, l).await
    {
        log.event(
            &p.name,
            &p.name,
            "warning",
            &format!(
                "could not release the deploy lock s3://{}/{}: {d}",
                l.bucket, l.key
            ),
        );
    }
    run.finish()
}

fn has_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

/// Takes the deploy lock; `None` when there is no artifacts bucket yet.
async fn take_lock(ctx: &Ctx, me: &Holder) -> Result<Option<Lock>, DeployError> {
    match lock::acquire(
        &ctx.aws,
        &ctx.bucket,
        &ctx.pipeline,
        me,
        ctx.opts.break_lock,
    )
    .await
    {
        Ok((l, broken)) => {
            if let Some(b) = broken {
                ctx.log.event(
                    &ctx.pipeline,
                    &ctx.pipeline,
                    "lock",
                    &format!("removed the lock of {}", b.describe()),
                );
            }
            ctx.log.event(
                &ctx.pipeline,
                &ctx.pipeline,
                "lock",
                &format!("taken: s3://{}/{}", l.bucket, l.key),
            );
            Ok(Some(l))
        }
        Err(LockError::NoBucket) => Ok(None),
        Err(LockError::Held { holder }) => Err(DeployError::Locked {
            pipeline: ctx.pipeline.clone(),
            holder,
        }),
        Err(LockError::Api(detail)) => Err(DeployError::Lock {
            pipeline: ctx.pipeline.clone(),
            detail,
        }),
    }
}

/// Every selected stack looked at, at most `PARALLEL_STACKS` at once.
async fn inspect_all(
    ctx: &Arc<Ctx>,
    stacks: &[Stack],
) -> BTreeMap<String, Result<Found, DeployError>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(PARALLEL_STACKS));
    let mut set = tokio::task::JoinSet::new();
    for s in stacks {
        let (ctx, s, gate) = (ctx.clone(), s.clone(), gate.clone());
        set.spawn(async move {
            let _permit = gate.acquire().await;
            (s.name.clone(), prepare::inspect(&ctx, &s).await)
        });
    }
    let mut out = BTreeMap::new();
    while let Some(j) = set.join_next().await {
        let (name, r) = j.expect("an inspect task panicked");
        out.insert(name, r);
    }
    out
}

/// One pipeline's deploy in progress: results so far, and the errors to
/// print once at the end.
struct Run {
    ctx: Arc<Ctx>,
    stacks: Vec<Stack>,
    results: Results,
    errors: Vec<DeployError>,
}

impl Run {
    /// Stops the run with one error: every stack not done yet is skipped.
    fn stop(mut self, e: DeployError) -> (Outcome, Results) {
        self.errors.push(e);
        self.finish()
    }

    /// Stacks without a result are skipped; errors are printed once each;
    /// the summary line closes the pipeline.
    fn finish(mut self) -> (Outcome, Results) {
        let ctx = self.ctx.clone();
        for s in &self.stacks {
            if !self.results.contains_key(&s.name) {
                ctx.log.event(&ctx.pipeline, &s.stack_name, "skipped", "");
                self.results.insert(
                    s.name.clone(),
                    Err(DeployError::NotRun {
                        stack: s.stack_name.clone(),
                    }),
                );
            }
        }
        let mut outcome = Outcome::Done;
        for e in &self.errors {
            eprintln!("error: {}", e.message());
            outcome = outcome.max(e.outcome());
        }
        for r in self.results.values() {
            if let Err(e) = r {
                outcome = outcome.max(e.outcome());
            }
        }
        ctx.log.event(
            &ctx.pipeline,
            &ctx.pipeline,
            "summary",
            &Counts::of(&self.results).line(),
        );
        (outcome, self.results)
    }

    /// Plans `stacks` (all at once), gates them, confirms (`question`:
    /// `None` asks about the change sets themselves, an empty text does not
    /// ask again, any other text is asked as is) and executes them in
    /// dependency order. `Err(())` when the run must stop.
    async fn round(
        &mut self,
        stacks: &[Stack],
        found: &BTreeMap<String, Found>,
        uploads: &Arc<Uploads>,
        question: Option<String>,
    ) -> Result<(), ()> {
        if stacks.is_empty() {
            return Ok(());
        }
        let ctx = self.ctx.clone();
        // Plan.
        let gate = Arc::new(tokio::sync::Semaphore::new(PARALLEL_STACKS));
        let mut set = tokio::task::JoinSet::new();
        for s in stacks {
            let (ctx, s, gate, uploads) = (ctx.clone(), s.clone(), gate.clone(), uploads.clone());
            let f = found[&s.name].clone();
            set.spawn(async move {
                let _permit = gate.acquire().await;
                (
                    s.name.clone(),
                    prepare::prepare(&ctx, &s, &f, &uploads).await,
                )
            });
        }
        let mut prepared: Vec<Prepared> = Vec::new();
        let mut failed = false;
        while let Some(j) = set.join_next().await {
            let (name, r) = j.expect("a prepare task panicked");
            match r {
                Ok(Some(p)) => prepared.push(p),
                Ok(None) => {
                    self.results.insert(name, Ok(Done::Unchanged));
                }
                Err(e) => {
                    failed = true;
                    let shown = stack_name(&self.stacks, &name);
                    ctx.log.event(&ctx.pipeline, &shown, "failed", "");
                    self.errors.push(e.clone());
                    self.results.insert(name, Err(e));
                }
            }
        }
        if failed {
            self.discard(&prepared).await;
            return Err(());
        }
        // Gate: one refusal stops every stack of the run.
        let refused = gate::gate(&prepared, &ctx.opts);
        if !refused.is_empty() {
            for r in &refused {
                ctx.log.event(
                    &ctx.pipeline,
                    &r.stack_name,
                    "refused",
                    &r.resources.join(", "),
                );
                let e = DeployError::Refused {
                    stack: r.stack_name.clone(),
                    resources: r.resources.clone(),
                };
                if let Some(p) = prepared.iter().find(|p| p.stack_name == r.stack_name) {
                    self.results.insert(p.name.clone(), Err(e.clone()));
                }
                self.errors.push(e);
            }
            self.discard(&prepared).await;
            return Err(());
        }
        if prepared.is_empty() {
            return Ok(());
        }
        // Confirm once for the whole round.
        if !ctx.opts.yes && question.as_deref() != Some("") {
            let q = question.unwrap_or_else(|| {
                let lines: Vec<String> = prepared
                    .iter()
                    .map(|p| format!("  {}: {}", p.stack_name, p.summary))
                    .collect();
                format!(
                    "Execute {} change set(s)?\n{}\n",
                    prepared.len(),
                    lines.join("\n")
                )
            });
            let names: Vec<String> = prepared.iter().map(|p| p.stack_name.clone()).collect();
            match super::confirm(&q) {
                Some(true) => {}
                None => {
                    self.errors.push(DeployError::NeedsYes { stacks: names });
                    self.discard(&prepared).await;
                    return Err(());
                }
                Some(false) => {
                    self.errors.push(DeployError::Declined { stacks: names });
                    self.discard(&prepared).await;
                    return Err(());
                }
            }
        }
        // Execute, each as soon as its dependencies in this round are done.
        let in_round: BTreeSet<String> = prepared.iter().map(|p| p.name.clone()).collect();
        let mut pending: Vec<Prepared> = prepared;
        let mut running = tokio::task::JoinSet::new();
        let mut bad = false;
        loop {
            let mut i = 0;
            while i < pending.len() {
                let stack = self
                    .stacks
                    .iter()
                    .find(|s| s.name == pending[i].name)
                    .cloned()
                    .expect("a prepared stack is selected");
                let deps: Vec<&String> = stack
                    .depends_on
                    .iter()
                    .filter(|d| in_round.contains(*d))
                    .collect();
                if !deps.iter().all(|d| self.results.contains_key(*d)) {
                    i += 1;
                    continue;
                }
                let p = pending.remove(i);
                if let Some(d) = deps.iter().find(|d| self.results[**d].is_err()) {
                    let e = DeployError::DependencyFailed {
                        stack: p.stack_name.clone(),
                        dependency: stack_name(&self.stacks, d),
                    };
                    ctx.log
                        .event(&ctx.pipeline, &p.stack_name, "skipped", &e.message());
                    execute::discard(&ctx, &p.stack_name, &p.change_set).await;
                    self.results.insert(p.name.clone(), Err(e));
                    continue;
                }
                let ctx = ctx.clone();
                running.spawn(async move {
                    let r = execute::execute(&ctx, &stack, &p).await;
                    (p.name.clone(), r)
                });
            }
            let Some(j) = running.join_next().await else {
                break;
            };
            let (name, r) = j.expect("an execute task panicked");
            if let Err(e) = &r {
                bad = true;
                self.errors.push(e.clone());
            }
            self.results.insert(name, r);
        }
        if bad { Err(()) } else { Ok(()) }
    }

    /// Deletes the change sets of a run that stops before executing them.
    async fn discard(&self, prepared: &[Prepared]) {
        for p in prepared {
            execute::discard(&self.ctx, &p.stack_name, &p.change_set).await;
            self.ctx.log.event(
                &self.ctx.pipeline,
                &p.stack_name,
                "discarded",
                &p.change_set,
            );
        }
    }
}

fn stack_name(stacks: &[Stack], short: &str) -> String {
    stacks
        .iter()
        .find(|s| s.name == short)
        .map(|s| s.stack_name.clone())
        .unwrap_or_else(|| short.to_string())
}

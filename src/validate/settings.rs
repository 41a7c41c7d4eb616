//! Stage settings: the stage's own, then `defaults`, then pipec's.
//!
//! In: a stage. Out: its resolved `Settings` (also used by the renderers) and
//! diagnostics for settings Glue refuses on its Glue version and job type.

use super::*;

/// A stage's settings after applying the pipeline defaults.
pub struct Settings {
    pub glue_version: String,
    pub worker_type: Option<WorkerType>,
    pub workers: Option<u32>,
    pub max_capacity: Option<f64>,
    pub timeout_minutes: u32,
    pub retries: u32,
    pub bookmarks: Bookmarks,
    pub max_concurrent_runs: u32,
    pub metrics: bool,
    pub log_retention_days: u32,
    /// What a cast does with values it loses, unless the cast says.
    pub cast_on_invalid: OnInvalid,
    /// Spark stages only; Python shell stages are always `Standard`.
    pub execution_class: ExecutionClass,
    /// Spark stages only: `workers` is then the most Glue scales to.
    pub auto_scaling: bool,
    pub job_run_queuing: bool,
}

/// Resolves a stage's settings: the stage's own, then `defaults`, then pipec's.
pub fn settings(p: &Pipeline, s: &Stage) -> Settings {
    let d = &p.defaults;
    let o = &s.settings;
    let shell = s.kind == StageKind::PythonShell;
    let glue_version = o
        .glue_version
        .clone()
        .or_else(|| if shell { None } else { d.glue_version.clone() })
        .unwrap_or_else(|| {
            if shell {
                PYTHON_SHELL_GLUE_VERSION
            } else {
                DEFAULT_SPARK_GLUE_VERSION
            }
            .to_string()
        });
    let (worker_type, workers, max_capacity) = if shell {
        (
            o.worker_type,
            o.workers,
            o.max_capacity.or(d.max_capacity).or(Some(0.0625)),
        )
    } else if o.max_capacity.is_some() {
        (o.worker_type, o.workers, o.max_capacity)
    } else {
        (
            o.worker_type.or(d.worker_type).or(Some(WorkerType::G1X)),
            o.workers.or(d.workers).or(Some(2)),
            None,
        )
    };
    Settings {
        glue_version,
        worker_type,
        workers,
        max_capacity,
        timeout_minutes: o.timeout_minutes.or(d.timeout_minutes).unwrap_or(60),
        retries: o.retries.or(d.retries).unwrap_or(0),
        bookmarks: o.bookmarks.or(d.bookmarks).unwrap_or(Bookmarks::Disable),
        max_concurrent_runs: o.max_concurrent_runs.or(d.max_concurrent_runs).unwrap_or(1),
        metrics: o.metrics.or(d.metrics).unwrap_or(true),
        log_retention_days: o.log_retention_days.or(d.log_retention_days).unwrap_or(30),
        cast_on_invalid: o.cast_on_invalid.or(d.cast_on_invalid).unwrap_or_default(),
        // A Python shell stage ignores the Spark-only defaults; its own
        // setting is an error, reported by check_settings.
        execution_class: if shell {
            o.execution_class.unwrap_or_default()
        } else {
            o.execution_class.or(d.execution_class).unwrap_or_default()
        },
        auto_scaling: if shell {
            o.auto_scaling.unwrap_or(false)
        } else {
            o.auto_scaling.or(d.auto_scaling).unwrap_or(false)
        },
        job_run_queuing: o.job_run_queuing.or(d.job_run_queuing).unwrap_or(false),
    }
}

pub(super) fn check_settings(cx: &mut Ctx, base: &str, s: &Stage) {
    let st = settings(cx.p, s);
    let shell = s.kind == StageKind::PythonShell;
    let own = &s.settings;
    // Point at the stage's own setting when it has one, else at `defaults`.
    let at = |key: &str, own_set: bool| {
        if own_set {
            push_pointer(base, key)
        } else {
            ptr(&["defaults", key])
        }
    };
    if shell {
        if st.glue_version != PYTHON_SHELL_GLUE_VERSION {
            cx.at_value(&at("glue_version", own.glue_version.is_some()), SemanticError::Glue { reason: format!("Python shell stages run on Glue version {PYTHON_SHELL_GLUE_VERSION}, not {}", st.glue_version), hint: None });
        }
        if own.worker_type.is_some() || own.workers.is_some() {
            cx.at_key(
                &at(
                    if own.worker_type.is_some() {
                        "worker_type"
                    } else {
                        "workers"
                    },
                    true,
                ),
                SemanticError::Glue {
                    reason: "Python shell stages take `max_capacity` (0.0625 or 1), not workers"
                        .into(),
                    hint: None,
                },
            );
        }
        if let Some(mc) = st.max_capacity
            && mc != 0.0625
            && mc != 1.0
        {
            cx.at_value(
                &at("max_capacity", own.max_capacity.is_some()),
                SemanticError::Glue {
                    reason: format!("Python shell max_capacity is 0.0625 or 1, not {mc}"),
                    hint: None,
                },
            );
        }
        if st.bookmarks == Bookmarks::Enable && own.bookmarks.is_some() {
            cx.at_value(
                &at("bookmarks", true),
                SemanticError::Glue {
                    reason: "job bookmarks work with Spark stages only".into(),
                    hint: None,
                },
            );
        }
        for (key, set) in [
            (
                "execution_class",
                own.execution_class == Some(ExecutionClass::Flex),
            ),
            ("auto_scaling", own.auto_scaling == Some(true)),
        ] {
            if set {
                cx.at_key(&at(key, true), SemanticError::SparkOnlySetting { key });
            }
        }
        if own.cast_on_invalid.is_some() {
            cx.at_key(
                &at("cast_on_invalid", true),
                SemanticError::Glue {
                    reason: "`cast_on_invalid` applies to the casts of Spark stages; a Python shell stage has none".into(),
                    hint: None,
                },
            );
        }
    } else {
        if !SPARK_GLUE_VERSIONS.contains(&st.glue_version.as_str()) {
            let hint = if ["0.9", "1.0", "2.0"].contains(&st.glue_version.as_str()) {
                Some(format!(
                    "Glue {} is past end of support; use 5.0",
                    st.glue_version
                ))
            } else {
                Some(format!(
                    "{} is the newest",
                    crate::glue::NEWEST_GLUE_VERSION
                ))
            };
            cx.at_value(
                &at("glue_version", own.glue_version.is_some()),
                SemanticError::Glue {
                    reason: format!(
                        "Glue version `{}` is not one of {}",
                        st.glue_version,
                        SPARK_GLUE_VERSIONS.join(", ")
                    ),
                    hint,
                },
            );
        }
        // Every Glue version pipec accepts (3.0 and later) runs FLEX and
        // auto-scaling, so only the worker type can rule them out.
        if own.max_capacity.is_some() {
            cx.at_key(&at("max_capacity", true), SemanticError::Glue { reason: "Spark stages on Glue 2.0 and later take `worker_type` and `workers`, not `max_capacity`".into(), hint: Some("remove `max_capacity` and set `workers`".into()) });
        }
        if let Some(wt) = st.worker_type {
            let (key_set, wt_at) = (
                own.worker_type.is_some(),
                at("worker_type", own.worker_type.is_some()),
            );
            let _ = key_set;
            match wt {
                WorkerType::G025X => cx.at_value(
                    &wt_at,
                    SemanticError::Glue {
                        reason: "G.025X workers are for streaming jobs only".into(),
                        hint: Some("use G.1X".into()),
                    },
                ),
                WorkerType::Standard => cx.at_value(
                    &wt_at,
                    SemanticError::Glue {
                        reason: "Standard workers belong to Glue 1.0 and older".into(),
                        hint: Some("use G.1X".into()),
                    },
                ),
                _ => {
                    if let Some(since) = crate::glue::batch_worker_since(wt)
                        && SPARK_GLUE_VERSIONS.contains(&st.glue_version.as_str())
                        && !crate::glue::batch_worker_available(wt, &st.glue_version)
                    {
                        cx.at_value(
                            &wt_at,
                            SemanticError::WorkerTypeVersion {
                                worker_type: wt.as_str(),
                                glue_version: st.glue_version.clone(),
                                since,
                            },
                        );
                    }
                }
            }
            if st.execution_class == ExecutionClass::Flex && !crate::glue::flex_worker(wt) {
                cx.at_value(
                    &at("execution_class", own.execution_class.is_some()),
                    SemanticError::FlexUnsupported {
                        what: format!("{} workers", wt.as_str()),
                    },
                );
            }
            if let Some(n) = st.workers {
                let max = crate::glue::max_workers(wt).unwrap_or(u32::MAX);
                let w_at = at("workers", own.workers.is_some());
                if n < 2 {
                    cx.at_value(&w_at, SemanticError::Glue { reason: format!("a Spark stage needs at least 2 workers (a driver and an executor), not {n}"), hint: None });
                } else if n > max {
                    cx.at_value(
                        &w_at,
                        SemanticError::Glue {
                            reason: format!(
                                "Glue allows at most {max} {} workers, not {n}",
                                wt.as_str()
                            ),
                            hint: None,
                        },
                    );
                }
            }
        }
    }
    if st.timeout_minutes == 0 || st.timeout_minutes > 10080 {
        cx.at_value(
            &at("timeout_minutes", own.timeout_minutes.is_some()),
            SemanticError::Glue {
                reason: format!(
                    "a Glue job timeout is 1 to 10080 minutes (7 days), not {}",
                    st.timeout_minutes
                ),
                hint: None,
            },
        );
    }
    if st.retries > 10 {
        cx.at_value(
            &at("retries", own.retries.is_some()),
            SemanticError::Glue {
                reason: format!("Glue allows at most 10 retries, not {}", st.retries),
                hint: None,
            },
        );
    }
    if st.max_concurrent_runs == 0 {
        cx.at_value(
            &at("max_concurrent_runs", own.max_concurrent_runs.is_some()),
            SemanticError::Glue {
                reason: "max_concurrent_runs must be at least 1".into(),
                hint: None,
            },
        );
    }
    if !LOG_RETENTION_DAYS.contains(&st.log_retention_days) {
        let near = LOG_RETENTION_DAYS
            .iter()
            .min_by_key(|d| d.abs_diff(st.log_retention_days))
            .copied()
            .unwrap_or(30);
        cx.at_value(&at("log_retention_days", own.log_retention_days.is_some()), SemanticError::BadValue { what: "log retention", value: st.log_retention_days.to_string(), reason: "CloudWatch Logs keeps logs for 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days".into() });
        let _ = near;
    }
}

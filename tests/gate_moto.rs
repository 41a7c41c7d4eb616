//! pipec's own data-loss gate end to end, against a `moto_server` this test
//! starts itself (127.0.0.1, port 0). moto's change sets carry no
//! `Replacement` flags, so only pipec's own rules (`src/impact`) can refuse
//! here. `etl` is deployed, then each of five data-destroying edits of its
//! pipeline file is refused before anything runs, with every stack's
//! template unchanged (GetTemplate before and after); with its flag, each
//! edit deploys.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "support/moto.rs"]
mod moto;
use moto::{Moto, root};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn check(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The JSON events pipec printed.
fn events(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Every live stack's template, by stack name.
fn templates(moto: &Moto) -> BTreeMap<String, String> {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudformation::config::Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let cfn = aws_sdk_cloudformation::Client::from_conf(conf);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut out = BTreeMap::new();
        let stacks = cfn.describe_stacks().send().await.unwrap();
        for s in stacks.stacks() {
            let name = s.stack_name().unwrap().to_string();
            if s.stack_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE") {
                continue;
            }
            let t = cfn.get_template().stack_name(&name).send().await.unwrap();
            out.insert(name, t.template_body().unwrap_or_default().to_string());
        }
        out
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Replaces the first occurrence of `from` after the line `after`.
fn edit(src: &str, after: &str, from: &str, to: &str) -> String {
    let start = src.find(after).expect("anchor present");
    let (head, tail) = src.split_at(start);
    assert!(tail.contains(from), "{from:?} after {after:?}");
    format!("{head}{}", tail.replacen(from, to, 1))
}

/// One data-destroying edit: what it changes, the text its refusal names,
/// and the flags that let it through.
struct Case {
    name: &'static str,
    pipeline: String,
    refusal: &'static str,
    flags: &'static [&'static str],
}

fn cases(src: &str) -> Vec<Case> {
    vec![
        // First: moto 5.2.5 fails ExecuteChangeSet (500, AttributeError in
        // its delete) when a stack drops a Glue table it skipped and then
        // updated, so the rename deploys before the edits that update it.
        Case {
            name: "table-rename",
            pipeline: src.replace("orders_clean", "orders_silver"),
            refusal: "TableOrdersClean (AWS::Glue::Table): removed, and TableOrdersSilver added in its place (a renamed table)",
            flags: &["--allow-data-loss"],
        },
        Case {
            name: "partition-key",
            pipeline: edit(
                src,
                "  orders_by_country:",
                "partition_keys: [country]",
                "partition_keys: [stock_code]",
            ),
            refusal: "TableOrdersByCountry (AWS::Glue::Table): partition keys changed from [country string] to [stock_code string]",
            flags: &["--allow-breaking-schema"],
        },
        Case {
            name: "table-path",
            pipeline: edit(
                src,
                "  orders_clean:",
                "    path: orders/\n",
                "    path: orders_v2/\n",
            ),
            refusal: "TableOrdersClean (AWS::Glue::Table): location moved from s3://etl-silver-${AWS::AccountId}-${AWS::Region}/orders/ to s3://etl-silver-${AWS::AccountId}-${AWS::Region}/orders_v2/",
            flags: &["--allow-breaking-schema"],
        },
        Case {
            name: "narrowed-column",
            pipeline: edit(
                src,
                "  orders_clean:",
                "      customer_id: bigint\n",
                "      customer_id: int\n",
            ),
            refusal: "TableOrdersClean (AWS::Glue::Table): column customer_id changed from bigint to int, which is not a widening",
            flags: &["--allow-breaking-schema"],
        },
        // Last: its deploy replaces the raw zone's bucket.
        Case {
            name: "zone-rename",
            pipeline: edit(
                &edit(src, "zones:", "  raw:\n", "  bronze:\n"),
                "  orders_raw:",
                "    zone: raw\n",
                "    zone: bronze\n",
            ),
            refusal: "ZoneRawBucket (AWS::S3::Bucket): removed, and ZoneBronzeBucket added in its place (a renamed zone)",
            flags: &["--allow-data-loss", "--allow-breaking-schema"],
        },
    ]
}

/// The test's work folder, removed however the test ends.
struct Work(PathBuf);

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A work folder `target/<tag>-<pid>` holding the pipeline's samples and
/// `pipelines/<name>.yaml` with `src`; returns it and that file's path.
fn workspace(tag: &str, name: &str, src: &str) -> (Work, String) {
    let work = Work(root().join(format!("target/{tag}-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&work.0);
    let samples = format!("pipelines/samples/{name}");
    copy_dir(&root().join(&samples), &work.0.join(&samples));
    let base = work.0.join(format!("pipelines/{name}.yaml"));
    std::fs::write(&base, src).unwrap();
    let base = base.to_str().unwrap().to_string();
    (work, base)
}

/// `pipec deploy FILE --yes --format json FLAGS...` against moto.
fn deploy(moto: &Moto, file: &str, flags: &[&str]) -> Output {
    let mut args = vec!["deploy", file, "--yes", "--format", "json"];
    args.extend(flags);
    moto.pipec(&args)
}

#[test]
fn data_destroying_edits_are_refused_before_anything_runs() {
    let moto = Moto::start();
    // Without its environments (and what follows them): one pipeline
    // folder, stacks named `etl-*`, as any pipeline without them has.
    let src = std::fs::read_to_string(root().join("pipelines/etl.yaml")).unwrap();
    let src = src.split("\nenvironments:").next().unwrap().to_string();
    let (work, base) = workspace("gate-moto", "etl", &src);
    let (dir, base) = (&work.0, base.as_str());
    let deploy = |file: &str, flags: &[&str]| deploy(&moto, file, flags);

    check(&deploy(base, &[]), 0, "deploy etl");
    let before = templates(&moto);
    assert_eq!(
        before.keys().filter(|k| k.starts_with("etl-")).count(),
        7,
        "{:?}",
        before.keys()
    );

    let cases = cases(&src);
    for c in &cases {
        let file = dir.join(format!("pipelines/{}.yaml", c.name));
        std::fs::write(&file, &c.pipeline).unwrap();
        let out = deploy(file.to_str().unwrap(), &[]);
        check(&out, 1, c.name);
        let err = text(&out.stderr);
        assert!(err.contains(c.refusal), "{}: {err}", c.name);
        assert!(err.contains("no stack of this run was changed"), "{err}");
        for flag in c.flags {
            assert!(
                err.contains(&format!("{flag} allows it")),
                "{}: {err}",
                c.name
            );
        }
        // Refused before any upload, change set or execution.
        let ev = events(&out);
        for e in &ev {
            let what = e["event"].as_str().unwrap_or("");
            assert!(
                !["start", "uploaded", "execute", "done"].contains(&what),
                "{}: {e}",
                c.name
            );
        }
        assert!(ev.iter().any(|e| e["event"] == "refused"), "{}", c.name);
        assert_eq!(templates(&moto), before, "{}: a stack changed", c.name);
    }

    // One flag of two is not enough for a zone rename, which also moves the
    // raw table's path.
    let zone = dir.join("pipelines/zone-rename.yaml");
    let out = deploy(zone.to_str().unwrap(), &["--allow-data-loss"]);
    check(&out, 1, "zone rename with --allow-data-loss only");
    assert!(text(&out.stderr).contains("TableOrdersRaw (AWS::Glue::Table): location moved"));
    assert_eq!(templates(&moto), before);

    // With its flags each edit deploys; the first four are then undone.
    for (i, c) in cases.iter().enumerate() {
        let file = dir.join(format!("pipelines/{}.yaml", c.name));
        let out = deploy(file.to_str().unwrap(), c.flags);
        check(&out, 0, &format!("{} with {:?}", c.name, c.flags));
        assert_ne!(templates(&moto), before, "{}: nothing deployed", c.name);
        if i + 1 < cases.len() {
            check(&deploy(base, c.flags), 0, &format!("undo {}", c.name));
            assert_eq!(templates(&moto), before, "undo {}", c.name);
        }
    }
}

/// Iceberg tables are created and evolved by their job, so their schema
/// lives in the job's `pipec:iceberg` metadata, and the gate grades it as it
/// grades a Glue table: a dropped column or a changed partition spec is
/// refused before anything runs, an added column deploys without a flag.
#[test]
fn breaking_iceberg_edits_are_refused_before_anything_runs() {
    let moto = Moto::start();
    let src = std::fs::read_to_string(root().join("pipelines/orders.yaml")).unwrap();
    let (work, base) = workspace("gate-moto-iceberg", "orders", &src);
    let (dir, base) = (&work.0, base.as_str());
    let deploy = |file: &str, flags: &[&str]| deploy(&moto, file, flags);
    check(&deploy(base, &[]), 0, "deploy orders");
    let before = templates(&moto);

    let breaking = [
        (
            "iceberg-column-dropped",
            edit(&src, "  orders:", "      amount: decimal(10,2)\n", ""),
            "column amount (decimal(10,2)) removed",
        ),
        (
            "iceberg-partition-changed",
            edit(
                &src,
                "  orders:",
                "bucket(8, order_id)",
                "bucket(16, order_id)",
            ),
            "partition keys changed",
        ),
    ];
    for (name, pipeline, refusal) in &breaking {
        let file = dir.join(format!("pipelines/{name}.yaml"));
        std::fs::write(&file, pipeline).unwrap();
        let out = deploy(file.to_str().unwrap(), &[]);
        check(&out, 1, name);
        let err = text(&out.stderr);
        assert!(err.contains("StageUpsertJob"), "{name}: {err}");
        assert!(err.contains(refusal), "{name}: {err}");
        assert!(
            err.contains("--allow-breaking-schema allows it"),
            "{name}: {err}"
        );
        assert!(err.contains("no stack of this run was changed"), "{err}");
        for e in &events(&out) {
            let what = e["event"].as_str().unwrap_or("");
            assert!(
                !["start", "uploaded", "execute", "done"].contains(&what),
                "{name}: {e}"
            );
        }
        assert_eq!(templates(&moto), before, "{name}: a stack changed");
    }

    // A column added (one the source has) is compatible: the job adds it
    // on its next run.
    let added = edit(
        &src,
        "  orders:",
        "      changed_at: timestamp\n",
        "      changed_at: timestamp\n      test_order: boolean\n",
    );
    let file = dir.join("pipelines/iceberg-column-added.yaml");
    std::fs::write(&file, &added).unwrap();
    check(
        &deploy(file.to_str().unwrap(), &[]),
        0,
        "iceberg column added",
    );
    let after = templates(&moto);
    assert_ne!(after, before, "the added column deployed nothing");

    // With its flag, a breaking edit deploys.
    let file = dir.join("pipelines/iceberg-partition-changed.yaml");
    let out = deploy(file.to_str().unwrap(), &["--allow-breaking-schema"]);
    check(&out, 0, "partition change with --allow-breaking-schema");
    assert_ne!(templates(&moto), after);
}

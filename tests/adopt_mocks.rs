//! Re-adopting retained resources, proven with SDK-level mocks
//! (aws-smithy-mocks), since moto 5.2.5 ignores `ResourcesToImport`: the
//! exact requests of the IMPORT flow (type, identifiers, order), a resource
//! that belongs to someone else refused by its name (by its tag, or because
//! S3 will not show its tags), an endpoint whose IMPORT change set would
//! create instead of import, and `destroy --delete-data` of a stack already
//! gone: buckets emptied then deleted, Glue tables before their database,
//! nothing deleted when a bucket is foreign. No network: every call is
//! answered by a mock rule.

include!("support/adopt_fixtures.rs");

#[tokio::test]
async fn retained_resources_are_imported_first_then_the_stack_is_updated() {
    let calls: Calls = Default::default();
    let cfn = cfn_rules(&calls, ChangeAction::Import);
    let (s3, glue) = (s3_rules("demo"), glue_rules());
    let aws = aws(
        &cfn.iter().collect::<Vec<_>>(),
        &s3.iter().collect::<Vec<_>>(),
        &glue.iter().collect::<Vec<_>>(),
    );
    let (o, r) = deploy(&aws).await;
    assert_eq!(r, Ok(Done::Created), "{r:?}");
    assert_eq!(o, Outcome::Done);
    let calls = calls.lock().unwrap().clone();
    // Order: the import is created and executed, then the normal update.
    let kinds: Vec<String> = calls
        .iter()
        .map(|c| match c {
            Call::Create { kind, .. } => format!("create {}", kind.as_str()),
            Call::Execute(arn) => format!("execute {}", arn.rsplit('/').next().unwrap()),
            Call::DeleteChangeSet => "delete".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "create IMPORT",
            "execute IMPORT",
            "create UPDATE",
            "execute UPDATE"
        ]
    );
    let Call::Create { imports, body, .. } = &calls[0] else {
        unreachable!()
    };
    let mut imports = imports.clone();
    imports.sort();
    let want = vec![
        (
            "AccessLogBucket".to_string(),
            "AWS::S3::Bucket".to_string(),
            ids(&[("BucketName", LOGS)]),
        ),
        (
            "DataKey".into(),
            "AWS::KMS::Key".into(),
            ids(&[("KeyId", KEY_ID)]),
        ),
        (
            "GlueDatabase".into(),
            "AWS::Glue::Database".into(),
            ids(&[("DatabaseName", "demo")]),
        ),
        (
            "TableOrders".into(),
            "AWS::Glue::Table".into(),
            ids(&[
                ("CatalogId", ACCOUNT),
                ("DatabaseName", "demo"),
                ("Name", "orders"),
            ]),
        ),
        (
            "ZoneRawBucket".into(),
            "AWS::S3::Bucket".into(),
            ids(&[("BucketName", RAW)]),
        ),
    ];
    assert_eq!(imports, want);
    // The import template: the imported resources with their retain
    // policies, nothing else (no topic, no outputs, no order on the topic).
    assert!(
        !body.contains("Topic") && !body.contains("Outputs"),
        "{body}"
    );
    assert_eq!(body.matches("DeletionPolicy: Retain").count(), 5, "{body}");
    assert!(body.contains("- GlueDatabase"), "{body}");
    // The update that follows carries the whole template.
    let Call::Create { imports, body, .. } = &calls[2] else {
        unreachable!()
    };
    assert!(imports.is_empty());
    assert_eq!(body, TEMPLATE);
}

#[tokio::test]
async fn a_bucket_of_another_pipeline_is_refused_by_name_before_any_change_set() {
    let calls: Calls = Default::default();
    let cfn = cfn_rules(&calls, ChangeAction::Import);
    let (s3, glue) = (s3_rules("someone-else"), glue_rules());
    let aws = aws(
        &cfn.iter().collect::<Vec<_>>(),
        &s3.iter().collect::<Vec<_>>(),
        &glue.iter().collect::<Vec<_>>(),
    );
    let (o, r) = deploy(&aws).await;
    assert_eq!(o, Outcome::Failed);
    let msg = r.unwrap_err().message();
    assert!(msg.contains(&format!("bucket {RAW}")), "{msg}");
    assert!(msg.contains("pipec:pipeline=someone-else"), "{msg}");
    assert!(msg.contains("does not belong to pipeline demo"), "{msg}");
    assert!(calls.lock().unwrap().is_empty(), "no change set was made");
}

#[tokio::test]
async fn an_endpoint_that_would_create_instead_of_import_is_refused_and_cleaned_up() {
    let calls: Calls = Default::default();
    let cfn = cfn_rules(&calls, ChangeAction::Add);
    let (s3, glue) = (s3_rules("demo"), glue_rules());
    let aws = aws(
        &cfn.iter().collect::<Vec<_>>(),
        &s3.iter().collect::<Vec<_>>(),
        &glue.iter().collect::<Vec<_>>(),
    );
    let (o, r) = deploy(&aws).await;
    assert_eq!(o, Outcome::Failed);
    let msg = r.unwrap_err().message();
    assert!(msg.contains("does not import resources"), "{msg}");
    assert!(msg.contains(&format!("bucket {RAW}")), "{msg}");
    let calls = calls.lock().unwrap().clone();
    assert!(
        matches!(
            calls.as_slice(),
            [
                Call::Create {
                    kind: ChangeSetType::Import,
                    ..
                },
                Call::DeleteChangeSet
            ]
        ),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_bucket_whose_tags_s3_will_not_show_is_another_accounts() {
    use aws_sdk_s3::Client as S3;
    use aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingError;
    let calls: Calls = Default::default();
    let cfn = cfn_rules(&calls, ChangeAction::Import);
    let denied = mock!(S3::get_bucket_tagging).then_error(|| {
        GetBucketTaggingError::generic(
            aws_sdk_s3::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("Access Denied")
                .build(),
        )
    });
    let none = mock!(S3::list_buckets)
        .then_output(|| aws_sdk_s3::operation::list_buckets::ListBucketsOutput::builder().build());
    let glue = glue_rules();
    let aws = aws(
        &cfn.iter().collect::<Vec<_>>(),
        &[&denied, &none],
        &glue.iter().collect::<Vec<_>>(),
    );
    let (o, r) = deploy(&aws).await;
    assert_eq!(o, Outcome::Failed);
    let msg = r.unwrap_err().message();
    assert!(
        msg.contains(&format!("bucket {RAW} already exists")),
        "{msg}"
    );
    assert!(
        msg.contains("access denied, so it is another account's"),
        "{msg}"
    );
    assert!(calls.lock().unwrap().is_empty(), "no change set was made");
}

#[tokio::test]
async fn delete_data_after_the_stack_is_gone_deletes_buckets_tables_then_the_database() {
    use pipec::deploy::destroy;
    let calls: Calls = Default::default();
    let deleted: Deleted = Default::default();
    // The stack is gone (no execution ever happens, so DescribeStacks says so).
    let cfn = cfn_rules(&calls, ChangeAction::Import);
    let (mut s3, mut glue) = (s3_rules("demo"), glue_rules());
    let (s3_del, glue_del) = deleting_rules(&deleted);
    s3.extend(s3_del);
    glue.extend(glue_del);
    let aws = aws(
        &cfn.iter().collect::<Vec<_>>(),
        &s3.iter().collect::<Vec<_>>(),
        &glue.iter().collect::<Vec<_>>(),
    );
    let opts = destroy::Options {
        yes: true,
        delete_data: true,
        ..Default::default()
    };
    let o = destroy::run(
        &aws,
        &[pipeline()],
        &opts,
        &Log::new(Style::Json),
        &target(),
    )
    .await;
    assert_eq!(o, Outcome::Done);
    let mut buckets: Vec<String> = deleted
        .lock()
        .unwrap()
        .iter()
        .filter(|d| d.starts_with("bucket "))
        .cloned()
        .collect();
    buckets.sort();
    assert_eq!(buckets, [format!("bucket {LOGS}"), format!("bucket {RAW}")]);
    let catalog: Vec<String> = deleted
        .lock()
        .unwrap()
        .iter()
        .filter(|d| d.starts_with("table ") || d.starts_with("database "))
        .cloned()
        .collect();
    assert_eq!(catalog, ["table demo.orders", "database demo"]);
    // Each bucket was emptied before it was deleted.
    let all = deleted.lock().unwrap().clone();
    for b in [RAW, LOGS] {
        let emptied = all.iter().position(|d| d == &format!("objects {b}"));
        let gone = all.iter().position(|d| d == &format!("bucket {b}"));
        assert!(emptied.is_some() && emptied < gone, "{all:?}");
    }
    assert!(calls.lock().unwrap().is_empty(), "no stack was touched");
}

#[tokio::test]
async fn delete_data_refuses_a_foreign_bucket_before_deleting_anything() {
    use pipec::deploy::destroy;
    let calls: Calls = Default::default();
    let deleted: Deleted = Default::default();
    let cfn = cfn_rules(&calls, ChangeAction::Import);
    let (mut s3, mut glue) = (s3_rules("someone-else"), glue_rules());
    let (s3_del, glue_del) = deleting_rules(&deleted);
    s3.extend(s3_del);
    glue.extend(glue_del);
    let aws = aws(
        &cfn.iter().collect::<Vec<_>>(),
        &s3.iter().collect::<Vec<_>>(),
        &glue.iter().collect::<Vec<_>>(),
    );
    let opts = destroy::Options {
        yes: true,
        delete_data: true,
        ..Default::default()
    };
    let o = destroy::run(
        &aws,
        &[pipeline()],
        &opts,
        &Log::new(Style::Json),
        &target(),
    )
    .await;
    assert_eq!(o, Outcome::Failed);
    assert!(
        deleted.lock().unwrap().is_empty(),
        "{:?}",
        deleted.lock().unwrap()
    );
}

#[tokio::test]
async fn a_glue_database_without_pipecs_description_is_someone_elses() {
    use aws_sdk_glue::Client as Glue;
    use aws_sdk_glue::operation::get_database::GetDatabaseOutput;
    use aws_sdk_glue::types::Database;
    let calls: Calls = Default::default();
    let cfn = cfn_rules(&calls, ChangeAction::Import);
    let s3 = s3_rules("demo");
    let db = mock!(Glue::get_database).then_output(|| {
        GetDatabaseOutput::builder()
            .database(
                Database::builder()
                    .name("demo")
                    .description("The finance team's tables.")
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let aws = aws(
        &cfn.iter().collect::<Vec<_>>(),
        &s3.iter().collect::<Vec<_>>(),
        &[&db],
    );
    let (o, r) = deploy(&aws).await;
    assert_eq!(o, Outcome::Failed);
    let msg = r.unwrap_err().message();
    assert!(msg.contains("Glue database demo already exists"), "{msg}");
    assert!(
        msg.contains("its description is \"The finance team's tables.\""),
        "{msg}"
    );
    assert!(calls.lock().unwrap().is_empty(), "no change set was made");
}

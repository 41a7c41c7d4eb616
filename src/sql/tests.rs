//! Unit tests of the SQL checker: typing, resolution and star expansion.

use super::*;

fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.into(),
        ty: Some(ty.into()),
    }
}

fn orders() -> Vec<Column> {
    vec![
        col("invoice_no", "string"),
        col("quantity", "int"),
        col("unit_price", "decimal(10,2)"),
        col("Country", "string"),
        col("ts", "timestamp"),
        col("tags", "array<string>"),
        col("address", "struct<city:string,zip:int>"),
    ]
}

fn names(cols: &[Column]) -> Vec<String> {
    cols.iter()
        .map(|c| format!("{}:{}", c.name, c.ty.as_deref().unwrap_or("?")))
        .collect()
}

fn ty(text: &str) -> Option<String> {
    check_expr(text, &orders())
        .unwrap_or_else(|e| panic!("{text}: {e:?}"))
        .ty
}

#[test]
fn types_common_expressions() {
    assert_eq!(
        ty("quantity * unit_price").as_deref(),
        Some("decimal(21,2)")
    );
    assert_eq!(ty("quantity + 1").as_deref(), Some("int"));
    assert_eq!(ty("quantity / 2").as_deref(), Some("double"));
    assert_eq!(ty("CAST(quantity AS BIGINT)").as_deref(), Some("bigint"));
    assert_eq!(ty("quantity::string").as_deref(), Some("string"));
    assert_eq!(
        ty("invoice_no IS NOT NULL AND quantity > 0").as_deref(),
        Some("boolean")
    );
    assert_eq!(
        ty("concat(invoice_no, '-', country)").as_deref(),
        Some("string")
    );
    assert_eq!(ty("date_format(ts, 'yyyy-MM')").as_deref(), Some("string"));
    assert_eq!(ty("to_date(ts)").as_deref(), Some("date"));
    assert_eq!(ty("year(ts)").as_deref(), Some("int"));
    assert_eq!(ty("ts + interval 7 days").as_deref(), Some("timestamp"));
    assert_eq!(ty("address.city").as_deref(), Some("string"));
    assert_eq!(ty("tags[0]").as_deref(), Some("string"));
    assert_eq!(ty("size(tags)").as_deref(), Some("int"));
    assert_eq!(
        ty("transform(tags, t -> upper(t))").as_deref(),
        Some("array<string>")
    );
    assert_eq!(
        ty("filter(tags, t -> t <> '')").as_deref(),
        Some("array<string>")
    );
    assert_eq!(
        ty("CASE WHEN quantity > 10 THEN 'big' ELSE 'small' END").as_deref(),
        Some("string")
    );
    assert_eq!(ty("coalesce(quantity, 0L)").as_deref(), Some("bigint"));
    assert_eq!(ty("`Country` RLIKE '^[A-Z]'").as_deref(), Some("boolean"));
    assert_eq!(ty("array(1, 2)").as_deref(), Some("array<int>"));
    assert_eq!(ty("from_json(invoice_no, 'a int')"), None);
}

#[test]
fn reports_columns_used_and_aggregates() {
    let info = check_expr("sum(quantity * unit_price)", &orders()).unwrap();
    assert!(info.is_aggregate);
    assert_eq!(info.columns_used, vec!["quantity", "unit_price"]);
    assert_eq!(info.ty.as_deref(), Some("decimal(31,2)"));
    let info = check_expr("sum(quantity) OVER (PARTITION BY country)", &orders()).unwrap();
    assert!(!info.is_aggregate);
    assert_eq!(info.columns_used, vec!["quantity", "Country"]);
}

#[test]
fn unknown_columns_and_functions_are_located_with_suggestions() {
    let text = "invoce_no IS NOT NULL";
    let errs = check_expr(text, &orders()).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].offset, errs[0].len), (0, 9));
    assert_eq!(errs[0].hint.as_deref(), Some("did you mean `invoice_no`?"));
    let text = "quantity > 0 AND upperr(country) = 'FR'";
    let errs = check_expr(text, &orders()).unwrap_err();
    assert_eq!(
        &text[errs[0].offset..errs[0].offset + errs[0].len],
        "upperr"
    );
    assert_eq!(errs[0].hint.as_deref(), Some("did you mean `upper`?"));
    let errs = check_expr("address.town", &orders()).unwrap_err();
    assert!(errs[0].message.contains("no field `town`"), "{errs:?}");
    let errs = check_expr("row_number()", &orders()).unwrap_err();
    assert!(errs[0].message.contains("needs `OVER"), "{errs:?}");
    // Lambda parameters are not columns.
    assert!(check_expr("exists(tags, x -> x = 'a')", &orders()).is_ok());
}

fn frames<'a>(this: &'a [Column], other: &'a [Column]) -> Vec<Frame<'a>> {
    vec![
        Frame {
            name: "this",
            columns: this,
        },
        Frame {
            name: "countries",
            columns: other,
        },
    ]
}

fn countries() -> Vec<Column> {
    vec![
        col("country", "string"),
        col("name", "string"),
        col("population", "bigint"),
    ]
}

#[test]
fn expands_stars_and_follows_aliases() {
    let (o, c) = (orders(), countries());
    let f = frames(&o, &c);
    let cols = query_columns("SELECT * FROM this", &f).unwrap();
    assert_eq!(cols, orders());
    let cols = query_columns(
        "SELECT o.*, c.name AS country_name FROM this o JOIN countries c ON o.country = c.country",
        &f,
    )
    .unwrap();
    assert_eq!(cols.len(), orders().len() + 1);
    assert_eq!(cols.last().unwrap().name, "country_name");
    let cols = query_columns("SELECT * FROM this JOIN countries USING (country)", &f).unwrap();
    assert_eq!(
        names(&cols)[orders().len()..],
        ["name:string", "population:bigint"]
    );
    let cols = query_columns(
        "SELECT * FROM this LEFT SEMI JOIN countries USING (country)",
        &f,
    )
    .unwrap();
    assert_eq!(cols, orders());
    let errs = query_columns(
        "SELECT * FROM this JOIN countries ON this.country = countries.country",
        &f,
    )
    .unwrap_err();
    assert!(errs[0].message.contains("appears twice"), "{errs:?}");
}

#[test]
fn group_by_cte_union_subquery_and_lateral_view() {
    let (o, c) = (orders(), countries());
    let f = frames(&o, &c);
    let q = "WITH t AS (SELECT country, quantity * unit_price AS amount FROM this)
             SELECT country, count(*) AS n, sum(amount) AS total, avg(amount) AS mean
             FROM t GROUP BY country";
    assert_eq!(
        names(&query_columns(q, &f).unwrap()),
        [
            "Country:string",
            "n:bigint",
            "total:decimal(31,2)",
            "mean:decimal(25,6)"
        ]
    );
    let q = "SELECT invoice_no FROM this UNION ALL SELECT name FROM countries";
    assert_eq!(names(&query_columns(q, &f).unwrap()), ["invoice_no:string"]);
    let q = "SELECT s.x FROM (SELECT quantity AS x FROM this) s WHERE s.x > 1";
    assert_eq!(names(&query_columns(q, &f).unwrap()), ["x:int"]);
    let q = "SELECT invoice_no, tag FROM this LATERAL VIEW OUTER explode(tags) t AS tag";
    assert_eq!(
        names(&query_columns(q, &f).unwrap()),
        ["invoice_no:string", "tag:string"]
    );
    let q = "SELECT address.city, upper(invoice_no) AS inv FROM this ORDER BY inv";
    assert_eq!(
        names(&query_columns(q, &f).unwrap()),
        ["city:string", "inv:string"]
    );
}

#[test]
fn says_why_columns_cannot_be_derived() {
    let (o, c) = (orders(), countries());
    let f = frames(&o, &c);
    let msg = |q: &str| {
        let errs = query_columns(q, &f).unwrap_err();
        errs.iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert!(
        msg("SELECT upper(invoice_no) FROM this").contains("give this expression a name with AS")
    );
    assert!(
        msg("SELECT * FROM this PIVOT (sum(quantity) FOR country IN ('FR'))").contains("PIVOT")
    );
    assert!(
        msg("SELECT from_json(invoice_no, 'a int') AS j FROM this")
            .contains("result type of `from_json`")
    );
    assert!(msg("SELECT * FROM orders").contains("no frame `orders`"));
    assert!(msg("SELECT a FROM this QUALIFY 1 = 1").contains("QUALIFY"));
    assert!(
        msg("SELECT invoice_no FROM this UNION SELECT name, country FROM countries")
            .contains("1 and 2")
    );
}

#[test]
fn long_and_odd_input_is_an_answer_not_a_crash() {
    let long = format!("quantity{}", " + quantity".repeat(990));
    let _ = check_expr(&long, &orders());
    let long = format!(
        "SELECT quantity{} AS x FROM this",
        " * quantity".repeat(990)
    );
    let _ = query_columns(&long, &frames(&orders(), &countries()));
    let too_long = format!("quantity{}", " + quantity".repeat(1_001));
    let errs = check_expr(&too_long, &orders()).unwrap_err();
    assert!(
        errs[0].message.contains("more than 1000 operators"),
        "{errs:?}"
    );
    for text in [
        "CAST(quantity AS DECIMAL(2,5)) * 1.5",
        "",
        "   ",
        "`",
        "'",
        "a.",
        "(",
        "SELECT",
    ] {
        let _ = check_expr(text, &orders());
        let _ = query_columns(text, &frames(&orders(), &countries()));
    }
}

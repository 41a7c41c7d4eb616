//! Spark 3.5's built-in functions: which exist, which aggregate, and the
//! result types pipec derives for the common ones.
//!
//! In: a function name (any case) and the types of its arguments, where
//! known. Out: whether Spark has it, its kind, and its result type (`Ret`).

use super::types::{self, element, is_integral, map_parts, wider};

/// Every built-in function of Spark 3.5 by name (`SHOW SYSTEM FUNCTIONS` on
/// pyspark 3.5, operators left out), sorted for binary search.
#[rustfmt::skip]
pub const BUILTINS: [&str; 418] = [
    "abs", "acos", "acosh", "add_months", "aes_decrypt", "aes_encrypt", "aggregate", "and", "any",
    "any_value", "approx_count_distinct", "approx_percentile", "array", "array_agg",
    "array_append", "array_compact", "array_contains", "array_distinct", "array_except",
    "array_insert", "array_intersect", "array_join", "array_max", "array_min", "array_position",
    "array_prepend", "array_remove", "array_repeat", "array_size", "array_sort", "array_union",
    "arrays_overlap", "arrays_zip", "ascii", "asin", "asinh", "assert_true", "atan", "atan2",
    "atanh", "avg", "base64", "between", "bigint", "bin", "binary", "bit_and", "bit_count",
    "bit_get", "bit_length", "bit_or", "bit_xor", "bitmap_bit_position", "bitmap_bucket_number",
    "bitmap_construct_agg", "bitmap_count", "bitmap_or_agg", "bool_and", "bool_or", "boolean",
    "bround", "btrim", "cardinality", "case", "cast", "cbrt", "ceil", "ceiling", "char",
    "char_length", "character_length", "chr", "coalesce", "collect_list", "collect_set", "concat",
    "concat_ws", "contains", "conv", "convert_timezone", "corr", "cos", "cosh", "cot", "count",
    "count_if", "count_min_sketch", "covar_pop", "covar_samp", "crc32", "csc", "cume_dist",
    "curdate", "current_catalog", "current_database", "current_date", "current_schema",
    "current_timestamp", "current_timezone", "current_user", "date", "date_add", "date_diff",
    "date_format", "date_from_unix_date", "date_part", "date_sub", "date_trunc", "dateadd",
    "datediff", "datepart", "day", "dayofmonth", "dayofweek", "dayofyear", "decimal", "decode",
    "degrees", "dense_rank", "div", "double", "e", "element_at", "elt", "encode", "endswith",
    "equal_null", "every", "exists", "exp", "explode", "explode_outer", "expm1", "extract",
    "factorial", "filter", "find_in_set", "first", "first_value", "flatten", "float", "floor",
    "forall", "format_number", "format_string", "from_csv", "from_json", "from_unixtime",
    "from_utc_timestamp", "get", "get_json_object", "getbit", "greatest", "grouping",
    "grouping_id", "hash", "hex", "histogram_numeric", "hll_sketch_agg", "hll_sketch_estimate",
    "hll_union", "hll_union_agg", "hour", "hypot", "if", "ifnull", "ilike", "in", "initcap",
    "inline", "inline_outer", "input_file_block_length", "input_file_block_start",
    "input_file_name", "instr", "int", "isnan", "isnotnull", "isnull", "java_method",
    "json_array_length", "json_object_keys", "json_tuple", "kurtosis", "lag", "last", "last_day",
    "last_value", "lcase", "lead", "least", "left", "len", "length", "levenshtein", "like", "ln",
    "localtimestamp", "locate", "log", "log10", "log1p", "log2", "lower", "lpad", "ltrim",
    "luhn_check", "make_date", "make_dt_interval", "make_interval", "make_timestamp",
    "make_timestamp_ltz", "make_timestamp_ntz", "make_ym_interval", "map", "map_concat",
    "map_contains_key", "map_entries", "map_filter", "map_from_arrays", "map_from_entries",
    "map_keys", "map_values", "map_zip_with", "mask", "max", "max_by", "md5", "mean", "median",
    "min", "min_by", "minute", "mod", "mode", "monotonically_increasing_id", "month",
    "months_between", "named_struct", "nanvl", "negative", "next_day", "not", "now", "nth_value",
    "ntile", "nullif", "nvl", "nvl2", "octet_length", "or", "overlay", "parse_url", "percent_rank",
    "percentile", "percentile_approx", "pi", "pmod", "posexplode", "posexplode_outer", "position",
    "positive", "pow", "power", "printf", "quarter", "radians", "raise_error", "rand", "randn",
    "random", "range", "rank", "reduce", "reflect", "regexp", "regexp_count", "regexp_extract",
    "regexp_extract_all", "regexp_instr", "regexp_like", "regexp_replace", "regexp_substr",
    "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx",
    "regr_sxy", "regr_syy", "repeat", "replace", "reverse", "right", "rint", "rlike", "round",
    "row_number", "rpad", "rtrim", "schema_of_csv", "schema_of_json", "sec", "second", "sentences",
    "sequence", "session_window", "sha", "sha1", "sha2", "shiftleft", "shiftright",
    "shiftrightunsigned", "shuffle", "sign", "signum", "sin", "sinh", "size", "skewness", "slice",
    "smallint", "some", "sort_array", "soundex", "space", "spark_partition_id", "split",
    "split_part", "sql_keywords", "sqrt", "stack", "startswith", "std", "stddev", "stddev_pop",
    "stddev_samp", "str_to_map", "string", "struct", "substr", "substring", "substring_index",
    "sum", "tan", "tanh", "timestamp", "timestamp_micros", "timestamp_millis", "timestamp_seconds",
    "tinyint", "to_binary", "to_char", "to_csv", "to_date", "to_json", "to_number", "to_timestamp",
    "to_timestamp_ltz", "to_timestamp_ntz", "to_unix_timestamp", "to_utc_timestamp", "to_varchar",
    "transform", "transform_keys", "transform_values", "translate", "trim", "trunc", "try_add",
    "try_aes_decrypt", "try_avg", "try_divide", "try_element_at", "try_multiply", "try_subtract",
    "try_sum", "try_to_binary", "try_to_number", "try_to_timestamp", "typeof", "ucase", "unbase64",
    "unhex", "unix_date", "unix_micros", "unix_millis", "unix_seconds", "unix_timestamp", "upper",
    "url_decode", "url_encode", "user", "uuid", "var_pop", "var_samp", "variance", "version",
    "weekday", "weekofyear", "when", "width_bucket", "window", "window_time", "xpath",
    "xpath_boolean", "xpath_double", "xpath_float", "xpath_int", "xpath_long", "xpath_number",
    "xpath_short", "xpath_string", "xxhash64", "year", "zip_with",
];

/// The aggregate functions among them (the classes in Spark's
/// `expressions.aggregate` package).
#[rustfmt::skip]
pub const AGGREGATES: [&str; 58] = [
    "any", "any_value", "approx_count_distinct", "approx_percentile", "array_agg", "avg",
    "bit_and", "bit_or", "bit_xor", "bool_and", "bool_or", "collect_list", "collect_set", "corr",
    "count", "count_if", "count_min_sketch", "covar_pop", "covar_samp", "every", "first",
    "first_value", "histogram_numeric", "hll_sketch_agg", "hll_union_agg", "kurtosis", "last",
    "last_value", "max", "max_by", "mean", "median", "min", "min_by", "mode", "percentile",
    "percentile_approx", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2",
    "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "skewness", "some", "std", "stddev",
    "stddev_pop", "stddev_samp", "sum", "try_avg", "try_sum", "var_pop", "var_samp", "variance",
];

/// Functions that only work with `OVER (...)`.
pub const WINDOW_ONLY: [&str; 9] = [
    "cume_dist",
    "dense_rank",
    "lag",
    "lead",
    "nth_value",
    "ntile",
    "percent_rank",
    "rank",
    "row_number",
];

/// Functions that make several rows or columns from one (generators).
pub const GENERATORS: [&str; 8] = [
    "explode",
    "explode_outer",
    "inline",
    "inline_outer",
    "json_tuple",
    "posexplode",
    "posexplode_outer",
    "stack",
];

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.binary_search(&name).is_ok()
}

pub fn is_aggregate(name: &str) -> bool {
    AGGREGATES.binary_search(&name).is_ok()
}

pub fn is_window_only(name: &str) -> bool {
    WINDOW_ONLY.contains(&name)
}

/// The result type of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Ret {
    /// Spark's result type.
    Is(String),
    /// It depends on an argument whose type is not known.
    Unknown,
    /// pipec has no typing rule for this function.
    Untyped,
}

fn is(t: &str) -> Ret {
    Ret::Is(t.to_string())
}

/// The result type of built-in `name` (lowercase) over arguments of `args`.
/// `body` is the type of a lambda's body, for `transform`.
pub fn return_type(name: &str, args: &[Option<String>], body: Option<&str>) -> Ret {
    let a0 = args.first().cloned().flatten();
    let a1 = args.get(1).cloned().flatten();
    let same = |t: Option<String>| t.map(Ret::Is).unwrap_or(Ret::Unknown);
    let all_known = || args.iter().all(Option::is_some);
    match name {
        "count"
        | "count_if"
        | "approx_count_distinct"
        | "regr_count"
        | "unix_timestamp"
        | "to_unix_timestamp"
        | "monotonically_increasing_id"
        | "xxhash64"
        | "unix_seconds"
        | "unix_millis"
        | "unix_micros"
        | "unix_date"
        | "bit_count" => is("bigint"),
        "length" | "char_length" | "character_length" | "octet_length" | "bit_length" | "instr"
        | "locate" | "position" | "ascii" | "size" | "cardinality" | "array_size" | "dayofweek"
        | "dayofmonth" | "day" | "dayofyear" | "month" | "year" | "quarter" | "hour" | "minute"
        | "second" | "weekofyear" | "weekday" | "datediff" | "date_diff" | "levenshtein"
        | "find_in_set" | "hash" | "spark_partition_id" | "row_number" | "rank" | "dense_rank"
        | "ntile" | "array_position" | "sign" => {
            if matches!(name, "array_position") {
                is("bigint")
            } else if name == "sign" {
                is("double")
            } else {
                is("int")
            }
        }
        "avg" | "mean" | "try_avg" => match a0.as_deref() {
            Some(t) if types::decimal(t).is_some() => {
                let (p, s) = types::decimal(t).unwrap_or((10, 0));
                Ret::Is(format!("decimal({},{})", (p + 4).min(38), (s + 4).min(38)))
            }
            Some(_) => is("double"),
            None => Ret::Unknown,
        },
        "sum" | "try_sum" => match a0.as_deref() {
            Some(t) if types::decimal(t).is_some() => {
                let (p, s) = types::decimal(t).unwrap_or((10, 0));
                Ret::Is(format!("decimal({},{s})", (p + 10).min(38)))
            }
            Some(t) if is_integral(t) => is("bigint"),
            Some(_) => is("double"),
            None => Ret::Unknown,
        },
        "stddev" | "stddev_pop" | "stddev_samp" | "std" | "variance" | "var_pop" | "var_samp"
        | "corr" | "covar_pop" | "covar_samp" | "skewness" | "kurtosis" | "percentile"
        | "median" | "percent_rank" | "cume_dist" | "months_between" | "sqrt" | "cbrt" | "exp"
        | "expm1" | "ln" | "log" | "log10" | "log2" | "log1p" | "pow" | "power" | "sin" | "cos"
        | "tan" | "asin" | "acos" | "atan" | "atan2" | "sinh" | "cosh" | "tanh" | "degrees"
        | "radians" | "rand" | "random" | "randn" | "signum" | "pi" | "e" | "hypot" | "cot"
        | "regr_slope" | "regr_intercept" | "regr_r2" => is("double"),
        "min" | "max" | "first" | "last" | "first_value" | "last_value" | "any_value" | "mode"
        | "max_by" | "min_by" | "lag" | "lead" | "nth_value" | "abs" | "negative" | "positive"
        | "percentile_approx" | "approx_percentile" | "sort_array" | "array_sort"
        | "array_distinct" | "shuffle" | "slice" | "array_remove" | "array_compact"
        | "array_union" | "array_intersect" | "array_except" | "filter" | "reverse" => {
            if matches!(name, "percentile_approx" | "approx_percentile")
                && a1.as_deref().is_some_and(|t| t.starts_with("array"))
            {
                return same(a0.map(|t| format!("array<{t}>")));
            }
            same(a0)
        }
        "collect_list" | "collect_set" | "array_agg" => same(a0.map(|t| format!("array<{t}>"))),
        "bool_and" | "bool_or" | "every" | "some" | "any" | "isnull" | "isnotnull" | "isnan"
        | "like" | "ilike" | "rlike" | "regexp" | "regexp_like" | "startswith" | "endswith"
        | "contains" | "array_contains" | "exists" | "forall" | "arrays_overlap"
        | "map_contains_key" | "equal_null" | "in" | "not" => is("boolean"),
        "concat" => match a0.as_deref() {
            Some(t) if t.starts_with("array") => Ret::Is(t.to_string()),
            _ => is("string"),
        },
        "concat_ws" | "upper" | "lower" | "ucase" | "lcase" | "trim" | "ltrim" | "rtrim"
        | "btrim" | "substring" | "substr" | "left" | "right" | "lpad" | "rpad" | "replace"
        | "regexp_replace" | "regexp_extract" | "initcap" | "translate" | "format_string"
        | "printf" | "date_format" | "from_unixtime" | "md5" | "sha1" | "sha" | "sha2"
        | "base64" | "hex" | "repeat" | "split_part" | "string" | "uuid" | "to_char"
        | "overlay" | "soundex" | "format_number" | "current_user" | "user" | "input_file_name"
        | "substring_index" | "array_join" | "to_json" | "get_json_object" | "typeof"
        | "current_database" | "current_catalog" | "chr" | "char" | "bin" | "conv" | "space"
        | "quote" | "url_encode" | "url_decode" | "parse_url" | "version" | "current_timezone"
        | "elt" | "mask" | "to_varchar" | "try_to_char" => is("string"),
        "to_date"
        | "current_date"
        | "curdate"
        | "date_add"
        | "date_sub"
        | "dateadd"
        | "add_months"
        | "last_day"
        | "next_day"
        | "date_from_unix_date"
        | "make_date"
        | "trunc"
        | "date" => is("date"),
        "to_timestamp" | "current_timestamp" | "now" | "localtimestamp" | "timestamp_seconds"
        | "timestamp_millis" | "timestamp_micros" | "make_timestamp" | "from_utc_timestamp"
        | "to_utc_timestamp" | "date_trunc" | "timestamp" | "try_to_timestamp"
        | "to_timestamp_ntz" | "to_timestamp_ltz" | "convert_timezone" => is("timestamp"),
        "int" => is("int"),
        "bigint" => is("bigint"),
        "smallint" => is("smallint"),
        "tinyint" => is("tinyint"),
        "double" => is("double"),
        "float" => is("float"),
        "boolean" => is("boolean"),
        "binary" | "unhex" | "unbase64" | "to_binary" => is("binary"),
        "ceil" | "ceiling" | "floor" if args.len() == 1 => match a0.as_deref() {
            Some(t) if types::decimal(t).is_some() => {
                let (p, s) = types::decimal(t).unwrap_or((10, 0));
                Ret::Is(format!("decimal({},0)", (p.saturating_sub(s) + 1).min(38)))
            }
            Some(_) => is("bigint"),
            None => Ret::Unknown,
        },
        "round" | "bround" => match a0.as_deref() {
            Some(t) if types::decimal(t).is_some() => Ret::Untyped,
            Some(t) => Ret::Is(t.to_string()),
            None => Ret::Unknown,
        },
        "coalesce" | "nvl" | "ifnull" | "greatest" | "least" | "nullif" => {
            if !all_known() {
                return Ret::Unknown;
            }
            let mut t = a0.unwrap_or_default();
            for a in args.iter().skip(1).flatten() {
                match wider(&t, a) {
                    Some(w) => t = w,
                    None => return Ret::Untyped,
                }
            }
            if name == "nullif" {
                return same(args.first().cloned().flatten());
            }
            Ret::Is(t)
        }
        "if" | "iff" | "nvl2" => {
            let (b, c) = (
                args.get(1).cloned().flatten(),
                args.get(2).cloned().flatten(),
            );
            match (b, c) {
                (Some(b), Some(c)) => wider(&b, &c).map(Ret::Is).unwrap_or(Ret::Untyped),
                _ => Ret::Unknown,
            }
        }
        "array" => {
            if args.is_empty() {
                return Ret::Untyped;
            }
            if !all_known() {
                return Ret::Unknown;
            }
            let mut t = a0.unwrap_or_default();
            for a in args.iter().skip(1).flatten() {
                match wider(&t, a) {
                    Some(w) => t = w,
                    None => return Ret::Untyped,
                }
            }
            Ret::Is(format!("array<{t}>"))
        }
        "split" => is("array<string>"),
        "map_keys" => match a0.as_deref().and_then(map_parts) {
            Some((k, _)) => Ret::Is(format!("array<{k}>")),
            None if a0.is_none() => Ret::Unknown,
            None => Ret::Untyped,
        },
        "map_values" => match a0.as_deref().and_then(map_parts) {
            Some((_, v)) => Ret::Is(format!("array<{v}>")),
            None if a0.is_none() => Ret::Unknown,
            None => Ret::Untyped,
        },
        "element_at" | "try_element_at" => match a0.as_deref() {
            Some(t) if element(t).is_some() => Ret::Is(element(t).unwrap_or_default().into()),
            Some(t) if map_parts(t).is_some() => {
                Ret::Is(map_parts(t).map(|(_, v)| v).unwrap_or_default().into())
            }
            Some(_) => Ret::Untyped,
            None => Ret::Unknown,
        },
        "array_min" | "array_max" | "explode" | "explode_outer" => match a0.as_deref() {
            Some(t) if element(t).is_some() => Ret::Is(element(t).unwrap_or_default().into()),
            Some(_) => Ret::Untyped,
            None => Ret::Unknown,
        },
        "flatten" => match a0.as_deref().and_then(element) {
            Some(t) if t.starts_with("array") => Ret::Is(t.to_string()),
            _ if a0.is_none() => Ret::Unknown,
            _ => Ret::Untyped,
        },
        "transform" => match body {
            Some(b) => Ret::Is(format!("array<{b}>")),
            None => Ret::Unknown,
        },
        "map" => {
            if args.len() < 2 || args.len() % 2 == 1 {
                return Ret::Untyped;
            }
            match (a0, a1) {
                (Some(k), Some(v)) => Ret::Is(format!("map<{k},{v}>")),
                _ => Ret::Unknown,
            }
        }
        _ => Ret::Untyped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        assert!(BUILTINS.windows(2).all(|w| w[0] < w[1]));
        assert!(AGGREGATES.windows(2).all(|w| w[0] < w[1]));
        assert!(AGGREGATES.iter().all(|a| is_builtin(a)));
        assert!(
            WINDOW_ONLY
                .iter()
                .chain(GENERATORS.iter())
                .all(|a| is_builtin(a))
        );
        for f in [
            "date_format",
            "named_struct",
            "transform",
            "div",
            "count_if",
            "try_cast",
        ] {
            assert!(is_builtin(f) || f == "try_cast", "{f}");
        }
        assert!(!is_builtin("count_distinct"));
    }

    #[test]
    fn common_result_types() {
        let t = |s: &str| Some(s.to_string());
        assert_eq!(return_type("count", &[None], None), is("bigint"));
        assert_eq!(return_type("sum", &[t("int")], None), is("bigint"));
        assert_eq!(
            return_type("sum", &[t("decimal(10,2)")], None),
            is("decimal(20,2)")
        );
        assert_eq!(return_type("avg", &[t("int")], None), is("double"));
        assert_eq!(
            return_type("avg", &[t("decimal(10,2)")], None),
            is("decimal(14,6)")
        );
        assert_eq!(
            return_type("collect_set", &[t("string")], None),
            is("array<string>")
        );
        assert_eq!(
            return_type("coalesce", &[t("int"), t("bigint")], None),
            is("bigint")
        );
        assert_eq!(return_type("max", &[None], None), Ret::Unknown);
        assert_eq!(return_type("from_json", &[t("string")], None), Ret::Untyped);
    }
}

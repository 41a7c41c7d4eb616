//! Spark's types as Hive type text, and the typing rules of its operators.
//!
//! In: `sqlparser` data types, literals, and the types of operands. Out: the
//! Hive type text of a result (`bigint`, `decimal(12,2)`, `array<string>`),
//! following Spark 3.5 with ANSI mode off: integral operands widen, decimals
//! follow Spark's precision rules (capped at 38 digits), `/` is `double`.

use sqlparser::ast::{ArrayElemTypeDef, DataType, ExactNumberInfo, StructBracketKind};

/// The Hive text of a data type in a `CAST`, or why pipec does not know it.
pub(crate) fn data_type(t: &DataType) -> Result<String, String> {
    Ok(match t {
        DataType::TinyInt(_) => "tinyint".into(),
        DataType::SmallInt(_) => "smallint".into(),
        DataType::Int(_) | DataType::Integer(_) => "int".into(),
        DataType::BigInt(_) => "bigint".into(),
        DataType::Float(_) | DataType::Real => "float".into(),
        DataType::Double(_) | DataType::DoublePrecision => "double".into(),
        DataType::Decimal(info) | DataType::Numeric(info) | DataType::Dec(info) => match info {
            ExactNumberInfo::None => "decimal(10,0)".into(),
            ExactNumberInfo::Precision(p) => format!("decimal({p},0)"),
            ExactNumberInfo::PrecisionAndScale(p, s) => format!("decimal({p},{s})"),
        },
        DataType::String(_)
        | DataType::Varchar(_)
        | DataType::Char(_)
        | DataType::Text
        | DataType::CharVarying(_)
        | DataType::CharacterVarying(_)
        | DataType::Character(_) => "string".into(),
        DataType::Boolean | DataType::Bool => "boolean".into(),
        DataType::Date => "date".into(),
        DataType::Timestamp(_, _) | DataType::TimestampNtz(_) => "timestamp".into(),
        DataType::Binary(_) | DataType::Bytea => "binary".into(),
        DataType::Array(ArrayElemTypeDef::AngleBracket(inner)) => {
            format!("array<{}>", data_type(inner)?)
        }
        DataType::Map(k, v, _) => format!("map<{},{}>", data_type(k)?, data_type(v)?),
        DataType::Struct(fields, StructBracketKind::AngleBrackets) => {
            let mut parts = Vec::new();
            for f in fields {
                let name = f.field_name.as_ref().map(|n| n.value.clone());
                let Some(name) = name else {
                    return Err("a struct type needs field names".into());
                };
                parts.push(format!("{name}:{}", data_type(&f.field_type)?));
            }
            format!("struct<{}>", parts.join(","))
        }
        DataType::Custom(name, args) if args.is_empty() => {
            let n = name.to_string().to_ascii_lowercase();
            match n.as_str() {
                "long" => "bigint".into(),
                "short" => "smallint".into(),
                "byte" => "tinyint".into(),
                _ => return Err(format!("`{name}` is not a type pipec knows")),
            }
        }
        other => return Err(format!("`{other}` is not a type pipec knows")),
    })
}

/// Spark's integral types, narrowest first.
const INTEGRAL: [&str; 4] = ["tinyint", "smallint", "int", "bigint"];

pub(crate) fn is_integral(t: &str) -> bool {
    INTEGRAL.contains(&t)
}

pub(crate) fn is_numeric(t: &str) -> bool {
    is_integral(t) || matches!(t, "float" | "double") || decimal(t).is_some()
}

pub(crate) fn is_stringy(t: &str) -> bool {
    t == "string" || t.starts_with("varchar") || t.starts_with("char")
}

/// Precision and scale of `decimal(p,s)`.
pub(crate) fn decimal(t: &str) -> Option<(u32, u32)> {
    let inner = t.strip_prefix("decimal(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',')?;
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

fn dec(p: u32, s: u32) -> String {
    format!("decimal({p},{s})")
}

/// Spark's bounded decimal after an operation that may lose precision.
fn adjust(p: u32, s: u32) -> String {
    if p <= 38 {
        return dec(p, s);
    }
    let int_digits = p.saturating_sub(s);
    let min_scale = s.min(6);
    let s = (38u32.saturating_sub(int_digits)).max(min_scale);
    dec(38, s)
}

/// An integral type as the decimal Spark promotes it to.
fn as_decimal(t: &str) -> Option<(u32, u32)> {
    match t {
        "tinyint" => Some((3, 0)),
        "smallint" => Some((5, 0)),
        "int" => Some((10, 0)),
        "bigint" => Some((20, 0)),
        _ => decimal(t),
    }
}

/// The type both sides widen to (coalesce, CASE branches, comparisons).
pub(crate) fn wider(a: &str, b: &str) -> Option<String> {
    if a == b {
        return Some(a.to_string());
    }
    if a == "void" {
        return Some(b.to_string());
    }
    if b == "void" {
        return Some(a.to_string());
    }
    if is_integral(a) && is_integral(b) {
        let rank = |t: &str| INTEGRAL.iter().position(|x| *x == t).unwrap_or(0);
        return Some(if rank(a) >= rank(b) { a } else { b }.to_string());
    }
    if is_numeric(a) && is_numeric(b) {
        if matches!(a, "float" | "double") || matches!(b, "float" | "double") {
            return Some(if a == "float" && b == "float" {
                "float".into()
            } else {
                "double".into()
            });
        }
        let (p1, s1) = as_decimal(a)?;
        let (p2, s2) = as_decimal(b)?;
        let s = s1.max(s2);
        let p = p1.saturating_sub(s1).max(p2.saturating_sub(s2)) + s;
        return Some(dec(p.min(38), s.min(38)));
    }
    if is_stringy(a) && is_stringy(b) {
        return Some("string".into());
    }
    if matches!((a, b), ("date", "timestamp") | ("timestamp", "date")) {
        return Some("timestamp".into());
    }
    None
}

/// The type of `a op b` for `+ - * / %`, or `None` when pipec cannot tell.
pub(crate) fn arithmetic(op: char, a: &str, b: &str) -> Option<String> {
    if op == '/' {
        if let (Some((p1, s1)), Some((p2, s2))) = (as_decimal(a), as_decimal(b))
            && (decimal(a).is_some() || decimal(b).is_some())
        {
            let s = 6.max(s1 + p2 + 1);
            let p = p1.saturating_sub(s1) + s2 + s;
            return Some(adjust(p, s));
        }
        return (is_numeric(a) && is_numeric(b)).then(|| "double".into());
    }
    if op == '+' || op == '-' {
        // Date arithmetic: date + int, timestamp +/- interval.
        if a == "date" && is_integral(b) {
            return Some("date".into());
        }
        if a.starts_with("interval") && (b == "date" || b == "timestamp") {
            return Some(b.to_string());
        }
        if (a == "date" || a == "timestamp") && b.starts_with("interval") {
            return Some(if b == "interval day" && a == "date" {
                "date".into()
            } else {
                "timestamp".into()
            });
        }
    }
    if !(is_numeric(a) && is_numeric(b)) {
        // Spark casts numeric strings in arithmetic to double when ANSI is off.
        if (is_stringy(a) && is_numeric(b)) || (is_numeric(a) && is_stringy(b)) {
            return Some("double".into());
        }
        return None;
    }
    if matches!(a, "float" | "double") || matches!(b, "float" | "double") {
        return Some("double".into());
    }
    if is_integral(a) && is_integral(b) {
        return wider(a, b);
    }
    let (p1, s1) = as_decimal(a)?;
    let (p2, s2) = as_decimal(b)?;
    Some(match op {
        '+' | '-' => {
            let s = s1.max(s2);
            adjust(p1.saturating_sub(s1).max(p2.saturating_sub(s2)) + s + 1, s)
        }
        '*' => adjust(p1 + p2 + 1, s1 + s2),
        _ => {
            // Remainder.
            let s = s1.max(s2);
            adjust(p1.saturating_sub(s1).min(p2.saturating_sub(s2)) + s, s)
        }
    })
}

/// The element type of `array<T>`.
pub(crate) fn element(t: &str) -> Option<&str> {
    t.strip_prefix("array<")?.strip_suffix('>')
}

/// Key and value types of `map<K,V>`.
pub(crate) fn map_parts(t: &str) -> Option<(&str, &str)> {
    let inner = t.strip_prefix("map<")?.strip_suffix('>')?;
    let parts = split_top(inner, ',');
    match parts.as_slice() {
        [k, v] => Some((k, v)),
        _ => None,
    }
}

/// The type of field `name` of `struct<a:T,...>` (field names compare without case).
pub(crate) fn field<'t>(t: &'t str, name: &str) -> Option<&'t str> {
    let inner = t.strip_prefix("struct<")?.strip_suffix('>')?;
    split_top(inner, ',').into_iter().find_map(|f| {
        let (n, ty) = f.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then_some(ty.trim())
    })
}

/// Splits on `sep` outside angle brackets and parentheses.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The type of a numeric literal as Spark reads it: `1` is `int`, `10L` is
/// `bigint`, `1.50` is `decimal(3,2)`, `1e3` and `0.5D` are `double`.
pub(crate) fn number(text: &str, long: bool) -> String {
    if long {
        return "bigint".into();
    }
    let lower = text.to_ascii_lowercase();
    if let Some(body) = lower.strip_suffix("bd") {
        return decimal_literal(body);
    }
    if lower.ends_with('d') || lower.contains('e') {
        return "double".into();
    }
    if lower.ends_with('f') {
        return "float".into();
    }
    match lower.chars().last() {
        Some('l') => return "bigint".into(),
        Some('s') => return "smallint".into(),
        Some('y') => return "tinyint".into(),
        _ => {}
    }
    if lower.contains('.') {
        return decimal_literal(&lower);
    }
    match lower.parse::<i64>() {
        Ok(n) if i32::try_from(n).is_ok() => "int".into(),
        Ok(_) => "bigint".into(),
        Err(_) => decimal_literal(&lower),
    }
}

/// The type of a number with Spark's suffix that the dialect reads as a
/// word: `10L`, `2S`, `1Y`, `1.5D`, `2F`, `1.25BD`; `None` if it is not one.
pub(crate) fn suffixed_number(word: &str) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    let split = lower.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (digits, suffix) = lower.split_at(split);
    if digits.is_empty() || digits.matches('.').count() > 1 {
        return None;
    }
    match suffix {
        "l" | "s" | "y" if !digits.contains('.') => Some(number(&lower, false)),
        "d" | "f" | "bd" => Some(number(&lower, false)),
        e if e.starts_with('e')
            && e[1..]
                .trim_start_matches(['+', '-'])
                .chars()
                .all(|c| c.is_ascii_digit())
            && e.len() > 1 =>
        {
            Some("double".into())
        }
        _ => None,
    }
}

fn decimal_literal(body: &str) -> String {
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let int = int.trim_start_matches('0');
    let s = frac.len() as u32;
    let p = (int.len() as u32 + s).max(1).max(s);
    dec(p.min(38), s.min(38))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_arithmetic_follows_spark() {
        assert_eq!(
            arithmetic('*', "int", "decimal(10,2)").as_deref(),
            Some("decimal(21,2)")
        );
        assert_eq!(
            arithmetic('+', "decimal(10,2)", "decimal(5,4)").as_deref(),
            Some("decimal(13,4)")
        );
        assert_eq!(
            arithmetic('/', "decimal(10,2)", "decimal(10,2)").as_deref(),
            Some("decimal(23,13)")
        );
        assert_eq!(
            arithmetic('*', "decimal(38,10)", "decimal(38,10)").as_deref(),
            Some("decimal(38,6)")
        );
        assert_eq!(arithmetic('/', "int", "int").as_deref(), Some("double"));
        assert_eq!(arithmetic('+', "int", "bigint").as_deref(), Some("bigint"));
        assert_eq!(arithmetic('-', "date", "int").as_deref(), Some("date"));
    }

    #[test]
    fn literals_and_nested_types() {
        assert_eq!(number("1", false), "int");
        assert_eq!(number("3000000000", false), "bigint");
        assert_eq!(number("1.50", false), "decimal(3,2)");
        assert_eq!(number("0.5", false), "decimal(1,1)");
        assert_eq!(number("1e3", false), "double");
        assert_eq!(number("10", true), "bigint");
        assert_eq!(
            map_parts("map<string,array<int>>"),
            Some(("string", "array<int>"))
        );
        assert_eq!(
            field("struct<a:int,B:map<string,int>>", "b"),
            Some("map<string,int>")
        );
        assert_eq!(element("array<struct<a:int>>"), Some("struct<a:int>"));
        assert_eq!(
            wider("int", "decimal(10,2)").as_deref(),
            Some("decimal(12,2)")
        );
    }
}

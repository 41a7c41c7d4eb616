//! Stand-alone rules of AWS and Hive: name syntax, S3 bucket names, Glue cron
//! expressions, Hive/Glue column types, byte sizes and DQDL rules.
//!
//! In: one string. Out: `Ok` or the reason it is invalid, worded to follow
//! "... is not valid: ". These are the checks cfn-lint does not make.

/// Rule for names that become parts of AWS names and logical IDs.
pub fn identifier(name: &str, allow_hyphen: bool, max: usize) -> Result<(), String> {
    let ok_char = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (allow_hyphen && c == '-')
    };
    let allowed = if allow_hyphen {
        "lowercase letters, digits, `_` and `-`"
    } else {
        "lowercase letters, digits and `_`"
    };
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "it must start with a lowercase letter and use only {allowed}"
        ));
    }
    if let Some(c) = name.chars().find(|c| !ok_char(*c)) {
        return Err(format!("{c:?} is not allowed; use only {allowed}"));
    }
    if name.ends_with(['-', '_']) {
        return Err("it must not end with `-` or `_`".into());
    }
    if name.len() > max {
        return Err(format!(
            "it has {} characters; at most {max} are allowed",
            name.len()
        ));
    }
    Ok(())
}

/// A frame name: also the name of its view in `sql` steps (quoted there, so
/// any one-line text works), but `this` is the current frame.
pub fn frame_name(name: &str) -> Result<(), String> {
    if name.eq_ignore_ascii_case("this") {
        return Err("`this` names the current frame in `sql` steps".into());
    }
    if name.trim().is_empty() {
        return Err("it is empty".into());
    }
    if name.chars().count() > 128 {
        return Err("frame names have at most 128 characters".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!("{c:?} is not allowed in a frame name"));
    }
    invisible_in_name(name)
}

/// Names take visible characters only: bidirectional controls and zero-width
/// characters would hide or reorder a name for a reviewer.
fn invisible_in_name(name: &str) -> Result<(), String> {
    match name.chars().find(|c| super::text::invisible(*c)) {
        Some(c) => Err(format!(
            "it holds the invisible or bidirectional character U+{:04X}, which hides text from a reviewer",
            c as u32
        )),
        None => Ok(()),
    }
}

/// The pipeline name: it prefixes stacks and buckets, so S3's rules apply.
pub fn pipeline_name(name: &str) -> Result<(), String> {
    identifier(name, true, 32)?;
    if name.contains('_') {
        return Err("`_` is not allowed in S3 bucket names; use `-`".into());
    }
    Ok(())
}

/// S3 general purpose bucket naming rules.
pub fn bucket_name(name: &str) -> Result<(), String> {
    let n = name.len();
    if !(3..=63).contains(&n) {
        return Err(format!(
            "bucket names have 3 to 63 characters, this one has {n}"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(format!(
            "{c:?} is not allowed; use lowercase letters, digits, `-` and `.`"
        ));
    }
    let first = name.chars().next().unwrap_or('-');
    let last = name.chars().last().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err("bucket names begin and end with a letter or digit".into());
    }
    if name.contains("..") {
        return Err("bucket names must not contain `..`".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("bucket names must not look like an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(format!("bucket names must not start with `{prefix}`"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Err(format!("bucket names must not end with `{suffix}`"));
        }
    }
    if name.contains('.') {
        return Err("dots in bucket names break TLS virtual-host addressing; use `-`".into());
    }
    Ok(())
}

/// A Glue column name: one line of visible characters, 1 to 255 bytes.
pub fn column_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("column names must not be empty".into());
    }
    let max = super::limits::COLUMN_NAME.max;
    if name.len() > max {
        return Err(format!(
            "column names have at most {max} bytes, this one has {}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(format!("{c:?} is not allowed in a Glue column name"));
    }
    invisible_in_name(name)
}

/// Longest table or event prefix. S3 keys have at most 1,024 bytes
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html);
/// the rest is left for partition folders and file names.
pub const MAX_PREFIX_BYTES: usize = 512;

/// Whether a character is one that S3 keys and IAM ARNs both take literally.
///
/// S3's "safe characters" are letters, digits and `! - _ . * ' ( )`
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html#object-key-guidelines);
/// every other character may need URL encoding or special handling. Of the
/// safe ones, IAM reads `*` (and `?`) in a resource ARN as a wildcard
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html#reference_policies_elements_resource_wildcards),
/// and `$` would start a policy variable, so `*` is left out and `/`
/// separates folders.
pub fn literal_prefix_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '!' | '-' | '_' | '.' | '\'' | '(' | ')' | '/')
}

/// A prefix inside a bucket that S3 and IAM read literally: relative, folders
/// separated by single `/`, no `.` or `..` folder, only `literal_prefix_char`s.
/// Then the IAM grant on `prefix*` covers exactly the keys under the prefix.
pub fn s3_prefix(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.contains("://") {
        return Err("give the prefix inside the zone bucket, not a URL".into());
    }
    if path.starts_with('/') {
        return Err("the prefix is relative to the zone bucket: remove the leading `/`".into());
    }
    if path.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err("`.` and `..` are not allowed in S3 prefixes".into());
    }
    if path.contains("//") {
        return Err("empty path segments (`//`) are not allowed".into());
    }
    if let Some(c) = path.chars().find(|c| !literal_prefix_char(*c)) {
        let why = match c {
            '*' | '?' => "IAM reads it as a wildcard, which would grant access beyond this table",
            '$' => "IAM reads `${...}` as a policy variable",
            _ => "S3 keys and IAM ARNs may not read it literally",
        };
        return Err(format!(
            "{c:?} is not allowed: {why}; use letters, digits, `/` and `! - _ . ' ( )`"
        ));
    }
    if path.len() > MAX_PREFIX_BYTES {
        return Err(format!(
            "it has {} bytes; prefixes have at most {MAX_PREFIX_BYTES}, leaving room in S3's 1,024-byte keys",
            path.len()
        ));
    }
    Ok(())
}

/// The index pairs `(nested, outer)` of locations where `outer`'s prefix is a
/// prefix of `nested`'s (equal ones included) within one zone, each nested
/// location paired with the closest enclosing one. Sorting puts every prefix
/// right before the prefixes it contains, so one pass with a stack of the
/// enclosing prefixes finds them: O(N log N) comparisons.
pub fn nested_locations(locations: &[(&str, &str)]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..locations.len()).collect();
    // Equal prefixes keep declaration order, so the later one is reported.
    order.sort_by(|&a, &b| locations[a].cmp(&locations[b]).then(a.cmp(&b)));
    let mut found = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for i in order {
        let (zone, prefix) = locations[i];
        while let Some(&top) = stack.last() {
            let (tz, tp) = locations[top];
            if tz == zone && prefix.starts_with(tp) {
                break;
            }
            stack.pop();
        }
        if let Some(&top) = stack.last() {
            found.push((i, top));
        }
        stack.push(i);
    }
    found
}

/// Decodes `%XX` escapes as a JDBC driver would; a malformed escape stays as
/// written. Bytes that are not UTF-8 after decoding become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Whether a (decoded) JDBC URL carries credentials: a `user:password@` part
/// before the host, or a password parameter in the query or the `;k=v` list
/// that SQL Server and Redshift drivers read.
pub fn jdbc_has_credentials(url: &str) -> bool {
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    if after_scheme.split('/').next().unwrap_or("").contains('@') {
        return true;
    }
    let lower = url.to_lowercase();
    lower
        .split(['?', '&', ';'])
        .skip(1)
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.trim()))
        .any(|k| {
            matches!(
                k,
                "password" | "pwd" | "passwd" | "pass" | "secret" | "sslpassword" | "sslkey"
            ) || k.ends_with("password")
        })
        || lower.contains("password=")
        || lower.contains("pwd=")
}

/// Glue's cron syntax: `cron(Minutes Hours Day-of-month Month Day-of-week Year)`.
pub fn glue_cron(expr: &str) -> Result<(), String> {
    let inner = expr
        .trim()
        .strip_prefix("cron(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or("Glue schedules look like `cron(15 12 * * ? *)`")?;
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!(
            "a Glue cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one has {}",
            fields.len()
        ));
    }
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let specs: [(&str, u32, u32, &[&str], &str); 6] = [
        ("minutes", 0, 59, &[], ""),
        ("hours", 0, 23, &[], ""),
        ("day-of-month", 1, 31, &[], "?LW"),
        ("month", 1, 12, &MONTHS, ""),
        ("day-of-week", 1, 7, &DAYS, "?L#"),
        ("year", 1970, 2199, &[], ""),
    ];
    for (field, (name, lo, hi, names, extra)) in fields.iter().zip(specs) {
        cron_field(field, lo, hi, names, extra)
            .map_err(|e| format!("{name} field `{field}`: {e}"))?;
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return Err(
            "exactly one of day-of-month and day-of-week must be `?` (for example `cron(0 3 * * ? *)`)"
                .into(),
        );
    }
    Ok(())
}

fn cron_field(field: &str, lo: u32, hi: u32, names: &[&str], extra: &str) -> Result<(), String> {
    if field == "?" {
        return if extra.contains('?') {
            Ok(())
        } else {
            Err("`?` is only allowed in day-of-month and day-of-week".into())
        };
    }
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(lo + i as u32);
        }
        let v: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        if v < lo || v > hi {
            return Err(format!("{v} is outside {lo}-{hi}"));
        }
        Ok(v)
    };
    for part in field.split(',') {
        if part.is_empty() {
            return Err("empty list item".into());
        }
        // Special day forms: L, LW, 15W, 5L, 6#3.
        if extra.contains('L') && (part == "L" || part == "LW" && extra.contains('W')) {
            continue;
        }
        if extra.contains('W')
            && let Some(d) = part.strip_suffix('W')
        {
            value(d)?;
            continue;
        }
        if extra.contains('#')
            && let Some((d, n)) = part.split_once('#')
        {
            value(d)?;
            match n.parse::<u32>() {
                Ok(1..=5) => continue,
                _ => return Err(format!("`#{n}`: the week number is 1 to 5")),
            }
        }
        if extra.contains('L')
            && extra.contains('#')
            && let Some(d) = part.strip_suffix('L')
        {
            value(d)?;
            continue;
        }
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s
                    .parse()
                    .map_err(|_| format!("`{s}` is not a step number"))?;
                if s == 0 {
                    return Err("a step of 0 never fires".into());
                }
                (r, Some(s))
            }
            None => (part, None),
        };
        let _ = step;
        if range == "*" {
            continue;
        }
        match range.split_once('-') {
            Some((a, b)) => {
                value(a)?;
                value(b)?;
            }
            None => {
                value(range)?;
            }
        }
    }
    Ok(())
}

/// A parsed Hive/Glue type, kept as the canonical text the user wrote.
pub fn hive_type(ty: &str) -> Result<(), String> {
    let mut p = TypeParser {
        s: ty.as_bytes(),
        i: 0,
        depth: 0,
    };
    p.ty()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected `{}` after the type", &ty[p.i..]));
    }
    Ok(())
}

/// Whether a valid Hive type is primitive (partition keys must be).
pub fn is_primitive(ty: &str) -> bool {
    let t = ty.trim();
    !(t.starts_with("array") || t.starts_with("map") || t.starts_with("struct"))
}

/// Whether a Hive type is numeric (for `fill_null` and aggregate checks).
pub fn is_numeric(ty: &str) -> bool {
    let base = ty.split('(').next().unwrap_or("").trim();
    matches!(
        base,
        "tinyint" | "smallint" | "int" | "integer" | "bigint" | "float" | "double" | "decimal"
    )
}

struct TypeParser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

const PRIMITIVES: [&str; 13] = [
    "tinyint",
    "smallint",
    "int",
    "integer",
    "bigint",
    "boolean",
    "float",
    "double",
    "string",
    "binary",
    "timestamp",
    "date",
    "decimal",
];

impl TypeParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn word(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{}`", c as char))
        }
    }
    fn number(&mut self) -> Result<u32, String> {
        let w = self.word();
        w.parse()
            .map_err(|_| format!("expected a number, found `{w}`"))
    }
    fn ty(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > 16 {
            return Err("types are nested too deeply".into());
        }
        let w = self.word();
        match w.as_str() {
            "decimal" => {
                if self.eat(b'(') {
                    let p = self.number()?;
                    let s = if self.eat(b',') { self.number()? } else { 0 };
                    self.expect(b')')?;
                    if !(1..=38).contains(&p) {
                        return Err(format!("decimal precision {p} is outside 1-38"));
                    }
                    if s > p {
                        return Err(format!(
                            "decimal scale {s} is larger than its precision {p}"
                        ));
                    }
                }
            }
            "char" | "varchar" => {
                self.expect(b'(')?;
                let n = self.number()?;
                self.expect(b')')?;
                let max = if w == "char" { 255 } else { 65535 };
                if n == 0 || n > max {
                    return Err(format!("{w} length {n} is outside 1-{max}"));
                }
            }
            "array" => {
                self.expect(b'<')?;
                self.ty()?;
                self.expect(b'>')?;
            }
            "map" => {
                self.expect(b'<')?;
                let start = self.i;
                self.ty()?;
                let key = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                if !is_primitive(&key) {
                    return Err("map keys must be a primitive type".into());
                }
                self.expect(b',')?;
                self.ty()?;
                self.expect(b'>')?;
            }
            "struct" => {
                self.expect(b'<')?;
                loop {
                    let name = self.word();
                    if name.is_empty() {
                        return Err("expected a struct field name".into());
                    }
                    self.expect(b':')?;
                    self.ty()?;
                    if !self.eat(b',') {
                        break;
                    }
                }
                self.expect(b'>')?;
            }
            w if PRIMITIVES.contains(&w) => {}
            "" => return Err("expected a type".into()),
            other => {
                let lower = other.to_ascii_lowercase();
                if PRIMITIVES.contains(&lower.as_str())
                    || ["array", "map", "struct", "char", "varchar"].contains(&lower.as_str())
                {
                    return Err(format!("write Glue types in lowercase: `{lower}`"));
                }
                let alias = match lower.as_str() {
                    "long" => Some("bigint"),
                    "short" => Some("smallint"),
                    "byte" => Some("tinyint"),
                    "bool" => Some("boolean"),
                    "text" | "str" | "varchar2" => Some("string"),
                    "datetime" => Some("timestamp"),
                    "real" => Some("float"),
                    "numeric" | "number" => Some("decimal(p,s)"),
                    "bytes" | "blob" => Some("binary"),
                    _ => None,
                };
                return Err(match alias {
                    Some(a) => format!("`{other}` is not a Glue type; use `{a}`"),
                    None => format!(
                        "`{other}` is not a Glue type (types: {}, char(n), varchar(n), decimal(p,s), array<t>, map<k,v>, struct<name:t,...>)",
                        PRIMITIVES.join(", ")
                    ),
                });
            }
        }
        self.depth -= 1;
        Ok(())
    }
}

/// A byte size such as `10 GB`, `500MB`, `1 TiB` or a plain number of bytes.
pub fn byte_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size such as `10 GB`"))?;
    let mult: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        "KIB" => 1024.0,
        "MIB" => 1024.0 * 1024.0,
        "GIB" => 1024.0 * 1024.0 * 1024.0,
        "TIB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit `{other}`; use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB"
            ));
        }
    };
    let bytes = n * mult;
    if !(bytes.is_finite() && bytes < 9.0e18) {
        return Err(format!("`{s}` is too large"));
    }
    Ok(bytes.round() as u64)
}

/// DQDL rule types Glue Data Quality knows.
pub const DQDL_RULES: [&str; 27] = [
    "AggregateMatch",
    "ColumnCorrelation",
    "ColumnCount",
    "ColumnDataType",
    "ColumnExists",
    "ColumnLength",
    "ColumnNamesMatchPattern",
    "ColumnValues",
    "Completeness",
    "CustomSql",
    "DataFreshness",
    "DatasetMatch",
    "DetectAnomalies",
    "DistinctValuesCount",
    "Entropy",
    "FileFreshness",
    "IsComplete",
    "IsPrimaryKey",
    "IsUnique",
    "Mean",
    "ReferentialIntegrity",
    "RowCount",
    "RowCountMatch",
    "SchemaMatch",
    "StandardDeviation",
    "Sum",
    "Uniqueness",
];

/// Whether one DQDL string holds several rules: a `,` or a line break at the
/// top level (outside quotes, parentheses and brackets) separates rules in a
/// Glue ruleset (`Rules = [ r1, r2 ]`), so Glue would count two rules where
/// the local evaluator sees one.
pub fn dqdl_several_rules(rule: &str) -> bool {
    let mut depth = 0i32;
    let mut quoted = false;
    for c in rule.trim().chars() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '\n' | '\r' if depth <= 0 => return true,
            _ => {}
        }
    }
    false
}

/// Checks one DQDL rule's shape and returns the column names it quotes, so the
/// caller can check them against the table.
pub fn dqdl_rule(rule: &str) -> Result<Vec<String>, String> {
    let rule = rule.trim();
    let name: String = rule
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    if name.is_empty() {
        return Err("a DQDL rule starts with a rule type such as `IsComplete`".into());
    }
    if !DQDL_RULES.contains(&name.as_str()) {
        let hint = crate::suggest::nearest(&name, DQDL_RULES)
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        return Err(format!("`{name}` is not a DQDL rule type{hint}"));
    }
    // Quoted strings: the first ones name columns, except in CustomSql and
    // rules whose arguments are datasets or patterns.
    let mut quoted = Vec::new();
    let mut chars = rule[name.len()..].chars();
    let mut depth = 0i32;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err("a quoted string is not closed".into());
                }
                quoted.push(s);
            }
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced brackets".into());
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced brackets".into());
    }
    let columns = match name.as_str() {
        "IsComplete"
        | "IsUnique"
        | "IsPrimaryKey"
        | "ColumnValues"
        | "Completeness"
        | "Uniqueness"
        | "ColumnLength"
        | "ColumnExists"
        | "ColumnDataType"
        | "DistinctValuesCount"
        | "Entropy"
        | "Mean"
        | "StandardDeviation"
        | "Sum"
        | "DataFreshness" => {
            if quoted.is_empty() {
                return Err(format!(
                    "`{name}` needs a quoted column name, e.g. {name} \"id\""
                ));
            }
            quoted.truncate(1);
            quoted
        }
        "ColumnCorrelation" => {
            quoted.truncate(2);
            quoted
        }
        _ => Vec::new(),
    };
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron() {
        assert!(glue_cron("cron(15 12 * * ? *)").is_ok());
        assert!(glue_cron("cron(0 3 ? * MON-FRI *)").is_ok());
        assert!(glue_cron("cron(0/5 * * * ? *)").is_ok());
        assert!(glue_cron("cron(0 10 ? * 6#3 *)").is_ok());
        assert!(glue_cron("cron(0 10 L * ? *)").is_ok());
        assert!(glue_cron("0 3 * * *").is_err());
        assert!(glue_cron("cron(0 3 * * * *)").is_err());
        assert!(glue_cron("cron(61 3 * * ? *)").is_err());
        assert!(glue_cron("cron(0 3 * FOO ? *)").is_err());
    }

    #[test]
    fn hive_types() {
        for ok in [
            "string",
            "bigint",
            "decimal(10,2)",
            "array<string>",
            "map<string,array<int>>",
            "struct<a:int,b:string>",
            "varchar(20)",
        ] {
            assert!(hive_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "long",
            "decimal(40,2)",
            "decimal(5,6)",
            "array<>",
            "map<array<int>,int>",
            "String",
            "varchar",
            "int int",
        ] {
            assert!(hive_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(byte_size("10 GB"), Ok(10_000_000_000));
        assert_eq!(byte_size("1MiB"), Ok(1_048_576));
        assert!(byte_size("ten").is_err());
    }

    #[test]
    fn buckets() {
        assert!(bucket_name("acme-raw").is_ok());
        assert!(bucket_name("Acme").is_err());
        assert!(bucket_name("a").is_err());
        assert!(bucket_name("192.168.1.1").is_err());
        assert!(bucket_name("x-s3alias").is_err());
    }

    #[test]
    fn prefixes() {
        for ok in ["orders/", "hr/salaries", "a-b_c.d/(x)!'y/"] {
            assert!(s3_prefix(ok).is_ok(), "{ok}");
        }
        for bad in [
            "*/",
            "a?/",
            "${aws:username}/",
            "/abs",
            "a/../b",
            "a//b",
            "a b/",
            "ü/",
            "a\u{0}",
        ] {
            assert!(s3_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nested() {
        let l = [
            ("raw", "a/"),
            ("raw", "b/"),
            ("raw", "a/x/"),
            ("silver", "a/"),
            ("raw", "a/"),
        ];
        let mut found = nested_locations(&l);
        found.sort();
        assert_eq!(found, vec![(2, 4), (4, 0)]);
    }

    #[test]
    fn dqdl() {
        assert_eq!(dqdl_rule("IsComplete \"id\""), Ok(vec!["id".to_string()]));
        assert!(dqdl_rule("RowCount > 0").unwrap().is_empty());
        assert!(dqdl_rule("IsCompleet \"id\"").is_err());
        assert!(dqdl_rule("ColumnValues \"x\" in [1,2").is_err());
        assert!(dqdl_several_rules("IsComplete \"other\", RowCount > 0"));
        assert!(dqdl_several_rules("IsComplete \"a\"\nIsComplete \"b\""));
        assert!(!dqdl_several_rules("ColumnValues \"x\" in [1,2]"));
        assert!(!dqdl_several_rules(
            "CustomSql \"select count(*), 1 from primary\" > 0"
        ));
        assert!(!dqdl_several_rules("IsComplete \"a\"\n"));
    }
}

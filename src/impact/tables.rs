//! Glue table changes graded for the readers of the table.
//!
//! In: the old and new `Properties` of one `AWS::Glue::Table` updated in
//! place. Out: each change of columns, partition keys, location and storage
//! format, graded `Breaking` (readers' queries or the data already written
//! stop matching the table) or `Compatible`.
//!
//! Type widening follows what Athena reads across a type change, and the
//! type promotions Iceberg allows:
//! <https://docs.aws.amazon.com/athena/latest/ug/updates-changing-column-type.html>,
//! <https://docs.aws.amazon.com/athena/latest/ug/querying-iceberg-evolving-table-schema.html>:
//! `tinyint < smallint < int < bigint`, `float < double`, a decimal whose
//! scale and integer digits both do not shrink, `varchar(n)` to a longer
//! `varchar` or `string`, `char(n)` to `varchar`/`string`, and the same rules
//! inside `array`, `map` and `struct` (a struct may gain fields at its end).

use serde::Serialize;
use serde_json::Value;

/// How a change affects the readers of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    Breaking,
    Compatible,
}

/// One change of a Glue table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TableChange {
    ColumnAdded {
        name: String,
        ty: String,
    },
    ColumnRemoved {
        name: String,
        ty: String,
    },
    /// A column removed and another added in its place with the same type.
    ColumnRenamed {
        from: String,
        to: String,
        ty: String,
    },
    ColumnWidened {
        name: String,
        from: String,
        to: String,
    },
    /// Any type change that is not a widening: narrower or unrelated.
    ColumnNarrowed {
        name: String,
        from: String,
        to: String,
    },
    /// Partition keys added, removed, reordered or retyped (`name type`).
    PartitionKeysChanged {
        from: Vec<String>,
        to: Vec<String>,
    },
    /// `StorageDescriptor/Location` changed: the table reads another path.
    LocationMoved {
        from: String,
        to: String,
    },
    /// The input or output format, SerDe or table type changed.
    FormatChanged {
        property: String,
        from: String,
        to: String,
    },
}

impl TableChange {
    pub fn grade(&self) -> Grade {
        match self {
            TableChange::ColumnAdded { .. } | TableChange::ColumnWidened { .. } => {
                Grade::Compatible
            }
            _ => Grade::Breaking,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            TableChange::ColumnAdded { name, ty } => format!("column {name} ({ty}) added"),
            TableChange::ColumnRemoved { name, ty } => format!("column {name} ({ty}) removed"),
            TableChange::ColumnRenamed { from, to, ty } => {
                format!("column {from} ({ty}) renamed to {to}")
            }
            TableChange::ColumnWidened { name, from, to } => {
                format!("column {name} widened from {from} to {to}")
            }
            TableChange::ColumnNarrowed { name, from, to } => {
                format!("column {name} changed from {from} to {to}, which is not a widening")
            }
            TableChange::PartitionKeysChanged { from, to } => format!(
                "partition keys changed from [{}] to [{}]",
                from.join(", "),
                to.join(", ")
            ),
            TableChange::LocationMoved { from, to } => {
                format!("location moved from {from} to {to}")
            }
            TableChange::FormatChanged { property, from, to } => {
                format!("{property} changed from {from} to {to}")
            }
        }
    }
}

/// The graded changes between two versions of one table's properties.
pub fn compare(old: &Value, new: &Value) -> Vec<TableChange> {
    let mut out = Vec::new();
    let sd = "TableInput/StorageDescriptor";
    let cols = |v: &Value, path: &str| -> Vec<(String, String)> {
        super::at(v, path)
            .and_then(Value::as_array)
            .map(|a| a.iter().map(column).collect())
            .unwrap_or_default()
    };
    columns(
        &cols(old, &format!("{sd}/Columns")),
        &cols(new, &format!("{sd}/Columns")),
        &mut out,
    );
    let (pk_old, pk_new) = (
        cols(old, "TableInput/PartitionKeys"),
        cols(new, "TableInput/PartitionKeys"),
    );
    if pk_old != pk_new {
        let text = |k: &[(String, String)]| k.iter().map(|(n, t)| format!("{n} {t}")).collect();
        out.push(TableChange::PartitionKeysChanged {
            from: text(&pk_old),
            to: text(&pk_new),
        });
    }
    let text = |v: &Value, path: &str| super::at(v, path).map(super::show).unwrap_or_default();
    let location = format!("{sd}/Location");
    if super::at(old, &location) != super::at(new, &location) {
        out.push(TableChange::LocationMoved {
            from: text(old, &location),
            to: text(new, &location),
        });
    }
    for property in [
        "TableInput/TableType",
        "TableInput/StorageDescriptor/InputFormat",
        "TableInput/StorageDescriptor/OutputFormat",
        "TableInput/StorageDescriptor/SerdeInfo/SerializationLibrary",
    ] {
        if super::at(old, property) != super::at(new, property) {
            out.push(TableChange::FormatChanged {
                property: property.rsplit('/').next().unwrap_or(property).to_string(),
                from: text(old, property),
                to: text(new, property),
            });
        }
    }
    out
}

fn column(v: &Value) -> (String, String) {
    let s = |k: &str| v.get(k).map(super::show).unwrap_or_default();
    (s("Name"), s("Type"))
}

/// Column changes by name; a removed column whose position a new column of
/// the same type takes is a rename.
fn columns(old: &[(String, String)], new: &[(String, String)], out: &mut Vec<TableChange>) {
    let find = |cols: &[(String, String)], name: &str| {
        cols.iter().position(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    let removed: Vec<usize> = (0..old.len())
        .filter(|i| find(new, &old[*i].0).is_none())
        .collect();
    let added: Vec<usize> = (0..new.len())
        .filter(|i| find(old, &new[*i].0).is_none())
        .collect();
    let mut renamed_to = std::collections::BTreeSet::new();
    for &i in &removed {
        let (name, ty) = &old[i];
        let same_place = added
            .iter()
            .find(|&&j| j == i && new[j].1.eq_ignore_ascii_case(ty) && !renamed_to.contains(&j));
        match same_place {
            Some(&j) => {
                renamed_to.insert(j);
                out.push(TableChange::ColumnRenamed {
                    from: name.clone(),
                    to: new[j].0.clone(),
                    ty: ty.clone(),
                });
            }
            None => out.push(TableChange::ColumnRemoved {
                name: name.clone(),
                ty: ty.clone(),
            }),
        }
    }
    for (name, ty) in new {
        if let Some(i) = find(old, name) {
            let from = &old[i].1;
            if !from.eq_ignore_ascii_case(ty) {
                out.push(if widens(from, ty) {
                    TableChange::ColumnWidened {
                        name: name.clone(),
                        from: from.clone(),
                        to: ty.clone(),
                    }
                } else {
                    TableChange::ColumnNarrowed {
                        name: name.clone(),
                        from: from.clone(),
                        to: ty.clone(),
                    }
                });
            }
        }
    }
    for j in added.into_iter().filter(|j| !renamed_to.contains(j)) {
        out.push(TableChange::ColumnAdded {
            name: new[j].0.clone(),
            ty: new[j].1.clone(),
        });
    }
}

/// A Hive type, parsed far enough to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    Int(u8),
    Float(u8),
    Decimal(u32, u32),
    Varchar(Option<u32>),
    Char(u32),
    Array(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Struct(Vec<(String, Ty)>),
    Other(String),
}

/// Whether Iceberg changes type `from` to `to` in place (Hive type text):
/// int to bigint, float to double, a decimal's precision at the same scale.
pub fn iceberg_promotes(from: &str, to: &str) -> bool {
    match (parse(from), parse(to)) {
        (Some(Ty::Int(4)), Some(Ty::Int(8))) | (Some(Ty::Float(4)), Some(Ty::Float(8))) => true,
        (Some(Ty::Decimal(p, s)), Some(Ty::Decimal(q, t))) => s == t && q > p,
        _ => false,
    }
}

/// Whether every value of type `from` reads as type `to` (Hive type text).
pub fn widens(from: &str, to: &str) -> bool {
    match (parse(from), parse(to)) {
        (Some(a), Some(b)) => wider(&a, &b),
        _ => false,
    }
}

fn wider(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Int(x), Ty::Int(y)) | (Ty::Float(x), Ty::Float(y)) => x <= y,
        (Ty::Decimal(p, s), Ty::Decimal(q, t)) => t >= s && q - t >= p - s,
        (Ty::Varchar(Some(n)), Ty::Varchar(m)) => m.is_none_or(|m| m >= *n),
        (Ty::Varchar(None), Ty::Varchar(m)) => m.is_none(),
        (Ty::Char(n), Ty::Varchar(m)) => m.is_none_or(|m| m >= *n),
        (Ty::Char(n), Ty::Char(m)) => n == m,
        (Ty::Array(x), Ty::Array(y)) => wider(x, y),
        (Ty::Map(k, v), Ty::Map(l, w)) => k == l && wider(v, w),
        (Ty::Struct(f), Ty::Struct(g)) => {
            f.len() <= g.len()
                && f.iter()
                    .zip(g)
                    .all(|((n, x), (m, y))| n.eq_ignore_ascii_case(m) && wider(x, y))
        }
        (Ty::Other(x), Ty::Other(y)) => x == y,
        _ => false,
    }
}

fn parse(text: &str) -> Option<Ty> {
    let mut p = Parser {
        s: text.trim().to_ascii_lowercase().into_bytes(),
        i: 0,
    };
    let t = p.ty()?;
    p.ws();
    (p.i == p.s.len()).then_some(t)
}

struct Parser {
    s: Vec<u8>,
    i: usize,
}

impl Parser {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
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

    fn word(&mut self) -> String {
        self.ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn number(&mut self) -> Option<u32> {
        self.word().parse().ok()
    }

    /// `(n)` or `(p, s)` after a type name, if present.
    fn args(&mut self) -> Option<Vec<u32>> {
        if !self.eat(b'(') {
            return Some(Vec::new());
        }
        let mut out = vec![self.number()?];
        while self.eat(b',') {
            out.push(self.number()?);
        }
        self.eat(b')').then_some(out)
    }

    fn ty(&mut self) -> Option<Ty> {
        let name = self.word();
        Some(match name.as_str() {
            "tinyint" | "byte" => Ty::Int(1),
            "smallint" | "short" => Ty::Int(2),
            "int" | "integer" => Ty::Int(4),
            "bigint" | "long" => Ty::Int(8),
            "float" | "real" => Ty::Float(4),
            "double" => Ty::Float(8),
            "decimal" | "numeric" => match self.args()?.as_slice() {
                // Hive's default is decimal(10,0).
                [] => Ty::Decimal(10, 0),
                [p] => Ty::Decimal(*p, 0),
                [p, s] if s <= p => Ty::Decimal(*p, *s),
                _ => return None,
            },
            "string" => Ty::Varchar(None),
            "varchar" => match self.args()?.as_slice() {
                [n] => Ty::Varchar(Some(*n)),
                _ => return None,
            },
            "char" => match self.args()?.as_slice() {
                [n] => Ty::Char(*n),
                _ => return None,
            },
            "array" => {
                if !self.eat(b'<') {
                    return None;
                }
                let t = self.ty()?;
                self.eat(b'>').then(|| Ty::Array(Box::new(t)))?
            }
            "map" => {
                if !self.eat(b'<') {
                    return None;
                }
                let k = self.ty()?;
                if !self.eat(b',') {
                    return None;
                }
                let v = self.ty()?;
                self.eat(b'>').then(|| Ty::Map(Box::new(k), Box::new(v)))?
            }
            "struct" => {
                if !self.eat(b'<') {
                    return None;
                }
                let mut fields = Vec::new();
                if !self.eat(b'>') {
                    loop {
                        let n = self.word();
                        if n.is_empty() || !self.eat(b':') {
                            return None;
                        }
                        fields.push((n, self.ty()?));
                        if self.eat(b'>') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Ty::Struct(fields)
            }
            "" => return None,
            other => Ty::Other(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_rules() {
        for (a, b) in [
            ("int", "bigint"),
            ("tinyint", "int"),
            ("float", "double"),
            ("decimal(10,2)", "decimal(12,2)"),
            ("decimal(10,2)", "decimal(11,3)"),
            ("varchar(10)", "string"),
            ("char(3)", "varchar(5)"),
            ("array<int>", "array<bigint>"),
            ("map<string,int>", "map<string,bigint>"),
            ("struct<a:int>", "struct<a:bigint,b:string>"),
            ("DECIMAL(10, 2)", "decimal(18,2)"),
        ] {
            assert!(widens(a, b), "{a} -> {b}");
        }
        for (a, b) in [
            ("bigint", "int"),
            ("double", "float"),
            ("int", "string"),
            ("string", "int"),
            ("decimal(10,2)", "decimal(10,3)"),
            ("decimal(10,2)", "decimal(9,2)"),
            ("string", "varchar(10)"),
            ("struct<a:int,b:int>", "struct<a:int>"),
            ("struct<a:int>", "struct<b:int>"),
            ("timestamp", "date"),
            ("int", "decimal(10,0)"),
            ("array<", "array<int>"),
        ] {
            assert!(!widens(a, b), "{a} -> {b}");
        }
    }
}

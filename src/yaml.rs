//! The parse phase: YAML text to a JSON value plus the location of every node.
//!
//! In: a `SourceFile`. Out: a `Document` (a `serde_json::Value` and a table
//! from JSON pointer to source span) or `ParseError`s. Later phases speak in
//! JSON pointers (`/stages/clean/inputs/0`) and this table turns them back
//! into `file:line:col`.
//!
//! The parser is `saphyr-parser`, the event parser under `serde-saphyr`. We
//! build the tree ourselves so that we control what untrusted input can cost:
//! nesting depth, alias expansion (billion laughs) and duplicate keys are all
//! bounded or reported here, before anything else looks at the data. The
//! parser's own wording is rewritten into the mistake it most likely means
//! (`syntax`).

mod error;
mod syntax;

use crate::diagnostic::Diagnostic;
use crate::source::{Pos, SourceFile, Span};
pub use error::ParseError;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// Deepest nesting accepted; real pipelines use about ten levels.
pub const MAX_DEPTH: usize = 64;
/// Most nodes that aliases may add in total; stops alias bombs early.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// A parsed document: the data and where each piece of it came from.
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    pub locations: Locations,
}

/// Where each node is in the source. Keyed by a hash of the node's JSON
/// pointer, built token by token while parsing, so that no pointer string is
/// allocated per node; lookups hash a pointer the same way.
#[derive(Debug, Default, Clone)]
pub struct Locations {
    nodes: HashMap<u64, NodeLoc, BuildHasherDefault<PathHasher>>,
}

/// The hash of the root pointer (`""`).
const ROOT: u64 = 0xcbf29ce484222325;

/// The hash of a child's pointer from its parent's and its unescaped token.
fn child(parent: u64, token: &str) -> u64 {
    let mut h = parent ^ 0x2f; // `/`
    h = h.wrapping_mul(0x100000001b3);
    for b in token.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Keys are hashes already; hashing them again would only cost time.
#[derive(Default)]
struct PathHasher(u64);

impl std::hash::Hasher for PathHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug, Clone, Copy)]
struct NodeLoc {
    value: Span,
    key: Option<Span>,
    /// How a scalar is written, for locations inside it; `None` for containers.
    style: Option<ScalarKind>,
}

/// How a scalar is written in the source, which decides how its decoded
/// text maps back onto the source (see `scalar_map`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

impl From<ScalarStyle> for ScalarKind {
    fn from(s: ScalarStyle) -> ScalarKind {
        match s {
            ScalarStyle::Plain => ScalarKind::Plain,
            ScalarStyle::SingleQuoted => ScalarKind::SingleQuoted,
            ScalarStyle::DoubleQuoted => ScalarKind::DoubleQuoted,
            ScalarStyle::Literal => ScalarKind::Literal,
            ScalarStyle::Folded => ScalarKind::Folded,
        }
    }
}

impl Locations {
    /// The span of the value at `pointer`, or of its nearest located ancestor
    /// (nodes copied in by an alias are located at the alias).
    pub fn value(&self, pointer: &str) -> Span {
        self.find(pointer).map(|l| l.value).unwrap_or_default()
    }

    /// The span of the key that holds the value at `pointer`, falling back to the value.
    pub fn key(&self, pointer: &str) -> Span {
        self.find(pointer)
            .map(|l| l.key.unwrap_or(l.value))
            .unwrap_or_default()
    }

    /// The span and style of the scalar written exactly at `pointer`; `None`
    /// when the node is a container or came in through an alias.
    pub fn scalar(&self, pointer: &str) -> Option<(Span, ScalarKind)> {
        let mut h = ROOT;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            h = child(h, &token);
        }
        let loc = self.nodes.get(&h)?;
        Some((loc.value, loc.style?))
    }

    /// Places the node at `to`, and every node of `value` below it, where
    /// the node at `from` (and the same path below it) is written, so that
    /// a value copied from one place in the document reports at its source.
    /// Ancestors of `to` that were never written get `from`'s place too.
    pub fn graft(&mut self, from: &str, to: &str, value: &Value) {
        let Some(loc) = self.find(from) else { return };
        let mut h = ROOT;
        for token in to.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            h = child(h, &token);
            self.nodes.entry(h).or_insert(loc);
        }
        self.nodes.insert(h, loc);
        let children: Vec<(String, &Value)> = match value {
            Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            _ => Vec::new(),
        };
        for (k, v) in children {
            self.graft(&push_pointer(from, &k), &push_pointer(to, &k), v);
        }
    }

    fn find(&self, pointer: &str) -> Option<NodeLoc> {
        let mut h = ROOT;
        let mut found = self.nodes.get(&h).copied();
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            h = child(h, &token);
            match self.nodes.get(&h) {
                Some(loc) => found = Some(*loc),
                // Below an alias nothing is recorded; the alias's place stands.
                None => break,
            }
        }
        found
    }
}

impl Default for Span {
    fn default() -> Span {
        Span::point(Pos { line: 1, col: 1 })
    }
}

/// Appends one reference token to a JSON pointer, escaped per RFC 6901.
pub fn push_pointer(base: &str, token: &str) -> String {
    let mut s = String::with_capacity(base.len() + token.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in token.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

fn pos(m: Marker) -> Pos {
    Pos {
        line: m.line().max(1),
        col: m.col() + 1,
    }
}

fn span(s: saphyr_parser::Span) -> Span {
    Span {
        start: pos(s.start),
        end: pos(s.end),
    }
}

enum Frame {
    Seq {
        items: Vec<Value>,
        path: u64,
        anchor: usize,
        nodes: usize,
    },
    Map {
        map: Map<String, Value>,
        path: u64,
        anchor: usize,
        nodes: usize,
        /// The key read, waiting for its value: text, span, and whether it is `<<`.
        key: Option<(String, Span, bool)>,
        merges: Vec<Value>,
    },
}

/// Parses a whole file. Fatal syntax errors stop the parse; recoverable ones
/// (duplicate keys, unsupported tags) are collected and the parse goes on.
pub fn parse(file: &SourceFile) -> Result<(Document, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut locations = Locations::default();
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut alias_nodes = 0usize;
    let mut documents = 0usize;
    let fatal = |e: ParseError, s: Span, mut diags: Vec<Diagnostic>| {
        diags.push(e.into_diagnostic(s));
        Err(diags)
    };

    for item in Parser::new_from_str(&file.text) {
        let (event, sp) = match item {
            Ok(x) => x,
            Err(e) => {
                let p = pos(*e.marker());
                let (err, at) = syntax::explain(file, p, e.info());
                return fatal(err, at.unwrap_or(Span::point(p)), diags);
            }
        };
        let here = span(sp);
        // Only a plain, untagged `<<` is a merge key; `"<<"` is the text.
        let merge_scalar =
            matches!(&event, Event::Scalar(text, ScalarStyle::Plain, _, None) if text == "<<");
        // A node completed by this event: its value, node count, anchor and span.
        let style = match &event {
            Event::Scalar(_, st, _, _) => Some(ScalarKind::from(*st)),
            _ => None,
        };
        let done: Option<(Value, usize, usize, Span)> = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return fatal(ParseError::SecondDocument, here, diags);
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((v, n)) => {
                    alias_nodes += n;
                    if alias_nodes > MAX_ALIAS_NODES {
                        return fatal(ParseError::AliasBudget, here, diags);
                    }
                    Some((v.clone(), *n, 0, here))
                }
                None => {
                    let (name, value) = syntax::alias(file, here.start);
                    return fatal(ParseError::UnknownAnchor { name, value }, here, diags);
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let v = match resolve_scalar(&text, style, tag.as_deref()) {
                    Ok(v) => v,
                    Err(e) => {
                        diags.push(e.into_diagnostic(here));
                        Value::String(text.into_owned())
                    }
                };
                Some((v, 1, anchor, here))
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if let Some(t) = tag {
                    let t = format!("{}{}", t.handle, t.suffix);
                    if !matches!(
                        t.as_str(),
                        "tag:yaml.org,2002:seq" | "tag:yaml.org,2002:map"
                    ) {
                        diags.push(ParseError::UnsupportedTag(t).into_diagnostic(here));
                    }
                }
                if stack.len() >= MAX_DEPTH {
                    return fatal(ParseError::TooDeep, here, diags);
                }
                let path = child_path(&stack);
                let path = match path {
                    Ok(p) => p,
                    Err(ParseError::ComplexKey) => {
                        let (e, at) = syntax::complex_key(file, here);
                        return fatal(e, at, diags);
                    }
                    Err(e) => return fatal(e, here, diags),
                };
                record(&mut locations, &stack, path, here);
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        path,
                        anchor,
                        nodes: 1,
                    }
                } else {
                    Frame::Map {
                        map: Map::new(),
                        path,
                        anchor,
                        nodes: 1,
                        key: None,
                        merges: Vec::new(),
                    }
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    nodes,
                    ..
                }) => Some((Value::Array(items), nodes, anchor, here)),
                _ => {
                    return fatal(
                        ParseError::Syntax("unbalanced sequence".into()),
                        here,
                        diags,
                    );
                }
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    mut map,
                    anchor,
                    nodes,
                    merges,
                    ..
                }) => {
                    // Merge keys fill in only what the mapping does not set itself.
                    for m in merges {
                        let sources = match m {
                            Value::Array(list) => list,
                            other => vec![other],
                        };
                        for src in sources {
                            match src {
                                Value::Object(o) => {
                                    for (k, v) in o {
                                        map.entry(k).or_insert(v);
                                    }
                                }
                                _ => diags.push(ParseError::BadMerge.into_diagnostic(here)),
                            }
                        }
                    }
                    Some((Value::Object(map), nodes, anchor, here))
                }
                _ => return fatal(ParseError::Syntax("unbalanced mapping".into()), here, diags),
            },
        };

        let Some((value, nodes, anchor, vspan)) = done else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, (value.clone(), nodes));
        }
        let (last, outer): (Option<&mut Frame>, &[Frame]) = match stack.split_last_mut() {
            Some((l, o)) => (Some(l), o),
            None => (None, &[]),
        };
        match last {
            None => {
                if root.is_some() {
                    return fatal(ParseError::SecondDocument, vspan, diags);
                }
                locations.nodes.entry(ROOT).or_insert(NodeLoc {
                    value: vspan,
                    key: None,
                    style,
                });
                root = Some(value);
            }
            Some(Frame::Seq {
                items,
                path,
                nodes: n,
                ..
            }) => {
                let p = child(*path, &items.len().to_string());
                locations.nodes.entry(p).or_insert(NodeLoc {
                    value: vspan,
                    key: None,
                    style,
                });
                items.push(value);
                *n += nodes;
            }
            Some(Frame::Map {
                map,
                path,
                nodes: n,
                key,
                merges,
                ..
            }) => {
                *n += nodes;
                match key.take() {
                    None => {
                        // This node is a key.
                        let k = match value {
                            Value::String(s) => s,
                            Value::Null => String::new(),
                            Value::Bool(b) => b.to_string(),
                            Value::Number(num) => num.to_string(),
                            _ => {
                                let (e, at) = syntax::complex_key(file, vspan);
                                return fatal(e, at, diags);
                            }
                        };
                        let is_merge = k == "<<" && nodes == 1 && merge_scalar;
                        *key = Some((k, vspan, is_merge));
                    }
                    Some((_, _, true)) => merges.push(value),
                    Some((k, kspan, false)) => {
                        let p = child(*path, &k);
                        // The map holds only keys written in it (merges come in
                        // at its end), so a key already there is a duplicate;
                        // its first span is in the location table.
                        if map.contains_key(&k) {
                            let first =
                                locations.nodes.get(&p).and_then(|l| l.key).unwrap_or(kspan);
                            // The dropped value's place, so that what its loss causes is
                            // folded into this error.
                            let at = push_pointer(&pointer_of(outer), &k);
                            diags.push(
                                ParseError::DuplicateKey(k)
                                    .into_diagnostic(kspan)
                                    .with_note(first, "first defined here")
                                    .about(at),
                            );
                            continue;
                        }
                        let loc = NodeLoc {
                            value: vspan,
                            key: Some(kspan),
                            style,
                        };
                        // Containers were recorded at their start; add the key span.
                        locations
                            .nodes
                            .entry(p)
                            .and_modify(|l| l.key = Some(kspan))
                            .or_insert(loc);
                        map.insert(k, value);
                    }
                }
            }
        }
    }

    match root {
        Some(value) => Ok((Document { value, locations }, diags)),
        None => fatal(ParseError::Empty, Span::default(), diags),
    }
}

/// The JSON pointer of the node being read inside the innermost container of
/// `stack`. Built only for errors; the hot path keeps hashes alone.
fn pointer_of(stack: &[Frame]) -> String {
    let mut p = String::new();
    for f in stack {
        match f {
            Frame::Seq { items, .. } => p = push_pointer(&p, &items.len().to_string()),
            Frame::Map {
                key: Some((k, _, _)),
                ..
            } => p = push_pointer(&p, k),
            Frame::Map { key: None, .. } => {}
        }
    }
    p
}

/// The path hash of the container that is about to start, for its location record.
fn child_path(stack: &[Frame]) -> Result<u64, ParseError> {
    Ok(match stack.last() {
        None => ROOT,
        Some(Frame::Seq { items, path, .. }) => child(*path, &items.len().to_string()),
        Some(Frame::Map { key, path, .. }) => match key {
            Some((k, _, _)) => child(*path, k),
            // A mapping or sequence in key position.
            None => return Err(ParseError::ComplexKey),
        },
    })
}

fn record(locations: &mut Locations, stack: &[Frame], path: u64, here: Span) {
    let key = match stack.last() {
        Some(Frame::Map {
            key: Some((_, s, _)),
            ..
        }) => Some(*s),
        _ => None,
    };
    locations.nodes.entry(path).or_insert(NodeLoc {
        value: here,
        key,
        style: None,
    });
}

/// Resolves a scalar by the YAML 1.2 core schema: plain `true`, `12`, `~` are
/// typed; quoted scalars are always strings.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Result<Value, ParseError> {
    let short = tag.map(|t| {
        t.strip_prefix("tag:yaml.org,2002:")
            .map(|s| format!("!!{s}"))
            .unwrap_or_else(|| t.to_string())
    });
    match short.as_deref() {
        None | Some("!") => {}
        Some("!!str") => return Ok(Value::String(text.to_string())),
        Some(t @ ("!!int" | "!!float" | "!!bool" | "!!null")) => {
            let v = resolve_plain(text);
            let ok = match t {
                "!!int" => v.is_i64() || v.is_u64(),
                "!!float" => v.is_number(),
                "!!bool" => v.is_boolean(),
                _ => v.is_null(),
            };
            return if ok {
                Ok(v)
            } else {
                Err(ParseError::BadTaggedValue(t.to_string()))
            };
        }
        Some(other) => return Err(ParseError::UnsupportedTag(other.to_string())),
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    Ok(resolve_plain(text))
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = parse_int(text) {
        return Value::Number(n);
    }
    if is_float(text)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn parse_int(text: &str) -> Option<Number> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else {
        (10, digits)
    };
    if body.is_empty()
        || !body.chars().all(|c| c.is_digit(radix))
        || (radix != 10 && text.starts_with(['-', '+']))
    {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        let v = i64::try_from(magnitude).ok()?;
        Some(Number::from(-v))
    } else {
        Some(Number::from(magnitude))
    }
}

fn is_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mant_ok = {
        let (a, b) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
            None => (mantissa, None),
        };
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        match b {
            None => !a.is_empty() && digits(a),
            Some(b) => digits(a) && digits(b) && !(a.is_empty() && b.is_empty()),
        }
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
    };
    mant_ok && exp_ok
}

//! Python source text: string literals and a small expression printer.
//!
//! Every user string reaches a script through `literal`, which escapes it the
//! way `ruff format` writes strings. Expressions are laid out by `Expr::fmt` so
//! that the output is already `ruff format`-stable: a bracket either fits on
//! its line (88 columns) or is expanded one item per line with a trailing comma
//! (a "magic trailing comma", which ruff keeps); a string literal too long for
//! its line is split into implicitly concatenated parts.

/// Line length of ruff's default style.
pub const WIDTH: usize = 88;

/// A Python string literal for `s`: double quotes unless the text holds more
/// double than single quotes (ruff's rule), escapes for backslashes, the quote,
/// control characters, line and paragraph separators and bidirectional
/// controls; other non-ASCII text is kept as is.
pub fn literal(s: &str) -> String {
    let doubles = s.matches('"').count();
    let singles = s.matches('\'').count();
    let q = if doubles > singles { '\'' } else { '"' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if needs_unicode_escape(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Characters that are invisible or that editors and terminals treat as line
/// breaks or direction changes ("Trojan Source"): written as `\uXXXX`.
fn needs_unicode_escape(c: char) -> bool {
    matches!(c as u32,
        0x00ad | 0x061c | 0x180e | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb)
}

/// Text safe inside a `#` comment: one line, no control or invisible characters.
pub fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || needs_unicode_escape(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Word-wraps text into `# ` comment lines at `indent` that fit the line width;
/// a word longer than a line is cut into pieces that fit.
pub fn comment_lines(text: &str, indent: usize) -> Vec<String> {
    let room = WIDTH.saturating_sub(indent + 2).max(20);
    let mut lines = Vec::new();
    for para in text.split(['\n', '\r']) {
        let para = comment_text(para);
        // Widths are summed as words are added: `comment_text` left no line
        // break, so a line's width is the sum of its characters'.
        let mut line = String::new();
        let mut line_width = 0;
        for long_word in para.split_whitespace() {
            for (word, word_width) in pieces(long_word, room) {
                if !line.is_empty() && line_width + 1 + word_width > room {
                    lines.push(std::mem::take(&mut line));
                    line_width = 0;
                }
                if !line.is_empty() {
                    line.push(' ');
                    line_width += 1;
                }
                line.push_str(&word);
                line_width += word_width;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
        .into_iter()
        .map(|l| format!("{}# {l}", " ".repeat(indent)))
        .collect()
}

/// A word cut into pieces of at most `room` display columns, each with its width.
fn pieces(word: &str, room: usize) -> Vec<(String, usize)> {
    let mut out = vec![(String::new(), 0)];
    for c in word.chars() {
        let w = char_width(c);
        let last = out.last_mut().expect("never empty");
        if !last.0.is_empty() && last.1 + w > room {
            out.push((String::new(), 0));
        }
        let last = out.last_mut().expect("never empty");
        last.0.push(c);
        last.1 += w;
    }
    out
}

/// `target = value`, the value laid out to fit after the target.
pub fn assign(target: &str, e: &Expr) -> String {
    format!("{target} = {}", e.fmt(0, width(target) + 3, 0))
}

/// A Python expression. `Code` holds text pipec writes itself (names it made,
/// numbers), never user text; user text is `Str`.
#[derive(Debug, Clone)]
pub enum Expr {
    Code(String),
    Str(String),
    /// `callee(args)`; `callee` is code.
    Call(String, Vec<Expr>),
    /// `name=value` inside a call.
    Kw(String, Box<Expr>),
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    /// `base.method(args)`: one method called on an expression.
    Method(Box<Expr>, String, Vec<Expr>),
    /// `left op right`.
    Binary(Box<Expr>, &'static str, Box<Expr>),
}

pub fn code(s: impl Into<String>) -> Expr {
    Expr::Code(s.into())
}
pub fn s(text: impl Into<String>) -> Expr {
    Expr::Str(text.into())
}
pub fn call(callee: impl Into<String>, args: Vec<Expr>) -> Expr {
    Expr::Call(callee.into(), args)
}
pub fn kw(name: impl Into<String>, value: Expr) -> Expr {
    Expr::Kw(name.into(), Box::new(value))
}
pub fn method(base: Expr, name: impl Into<String>, args: Vec<Expr>) -> Expr {
    Expr::Method(Box::new(base), name.into(), args)
}
/// `col(name)`: the scripts' helper for a column by its exact name.
pub fn col(name: &str) -> Expr {
    call("col", vec![s(name)])
}

impl Expr {
    /// The expression on one line.
    pub fn flat(&self) -> String {
        match self {
            Expr::Code(c) => c.clone(),
            Expr::Str(t) => literal(t),
            Expr::Call(f, args) => format!("{f}({})", join_flat(args)),
            Expr::Kw(n, v) => format!("{n}={}", v.flat()),
            Expr::List(items) => format!("[{}]", join_flat(items)),
            Expr::Dict(items) => format!(
                "{{{}}}",
                items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.flat(), v.flat()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Expr::Method(b, m, args) => format!("{}.{m}({})", b.flat(), join_flat(args)),
            Expr::Binary(l, op, r) => format!("{} {op} {}", l.flat(), r.flat()),
        }
    }

    /// The expression laid out at `indent`, starting after `head` columns of
    /// text on its first line and followed by `tail` columns on its last line.
    pub fn fmt(&self, indent: usize, head: usize, tail: usize) -> String {
        let flat = self.flat();
        if !flat.contains('\n') && head + width(&flat) + tail <= WIDTH {
            return flat;
        }
        let inner = indent + 4;
        match self {
            Expr::Code(_) => flat,
            Expr::Str(t) => split_string(t, indent, head, tail),
            Expr::Call(f, args) if !args.is_empty() => {
                format!("{f}({})", expanded(args, indent))
            }
            Expr::Call(..) => flat,
            Expr::Kw(n, v) => format!("{n}={}", v.fmt(indent, head + n.len() + 1, tail)),
            Expr::List(items) if !items.is_empty() => format!("[{}]", expanded(items, indent)),
            Expr::Dict(items) if !items.is_empty() => {
                let mut out = String::from("{\n");
                for (k, v) in items {
                    let key = k.flat();
                    let pad = " ".repeat(inner);
                    let value = v.fmt(inner, inner + width(&key) + 2, 1);
                    out.push_str(&format!("{pad}{key}: {value},\n"));
                }
                out.push_str(&" ".repeat(indent));
                out.push('}');
                out
            }
            Expr::List(_) | Expr::Dict(_) => flat,
            Expr::Method(b, m, args) => {
                // ruff splits the first call of a short chain and keeps the
                // trailing call on the closing line.
                let suffix = format!(".{m}({})", join_flat(args));
                format!("{}{suffix}", b.fmt(indent, head, tail + width(&suffix)))
            }
            Expr::Binary(l, op, r) => {
                // Only ever inside brackets: ruff parenthesizes and breaks
                // before the operator.
                let pad = " ".repeat(inner);
                format!(
                    "(\n{pad}{}\n{pad}{op} {}\n{})",
                    l.fmt(inner, inner, 0),
                    r.fmt(inner, inner + op.len() + 1, 0),
                    " ".repeat(indent)
                )
            }
        }
    }
}

fn join_flat(items: &[Expr]) -> String {
    items.iter().map(Expr::flat).collect::<Vec<_>>().join(", ")
}

/// Items one per line, each followed by a comma, then the closing indent.
fn expanded(items: &[Expr], indent: usize) -> String {
    let inner = indent + 4;
    let pad = " ".repeat(inner);
    let mut out = String::from("\n");
    for item in items {
        out.push_str(&pad);
        out.push_str(&item.fmt(inner, inner, 1));
        out.push_str(",\n");
    }
    out.push_str(&" ".repeat(indent));
    out
}

/// Display width as ruff counts it (characters; wide CJK counts double).
pub fn width(s: &str) -> usize {
    s.lines().last().unwrap_or("").chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if is_wide(c) { 2 } else { 1 }
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115f | 0x2e80..=0x303e | 0x3041..=0x33ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf | 0xac00..=0xd7a3 | 0xf900..=0xfaff | 0xfe30..=0xfe4f | 0xff00..=0xff60
        | 0xffe0..=0xffe6 | 0x1f300..=0x1f64f | 0x1f900..=0x1f9ff | 0x20000..=0x3fffd)
}

/// A string too long for its line as implicitly concatenated parts, one per
/// line at `indent` (the caller has put it inside brackets). Parts break after
/// spaces where possible and never inside an escape sequence.
fn split_string(t: &str, indent: usize, head: usize, tail: usize) -> String {
    if head > indent {
        // After `name=` or `key: `, ruff puts the parts in parentheses.
        let inner = indent + 4;
        return format!(
            "(\n{}{}\n{})",
            " ".repeat(inner),
            split_string(t, inner, inner, 0),
            " ".repeat(indent)
        );
    }
    let pad = " ".repeat(indent);
    let room = WIDTH.saturating_sub(indent + tail).max(16);
    let chars: Vec<char> = t.chars().collect();
    let mut parts: Vec<String> = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        // The longest run of characters whose literal fits.
        let mut end = start;
        let mut best_space = None;
        while end < chars.len() {
            let candidate: String = chars[start..=end].iter().collect();
            if width(&literal(&candidate)) > room {
                break;
            }
            if chars[end] == ' ' {
                best_space = Some(end + 1);
            }
            end += 1;
        }
        if end == start {
            end = start + 1;
        }
        let cut = if end < chars.len() {
            best_space
                .filter(|b| *b > start + (end - start) / 2)
                .unwrap_or(end)
        } else {
            end
        };
        parts.push(literal(&chars[start..cut].iter().collect::<String>()));
        start = cut;
    }
    parts.join(&format!("\n{pad}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(literal("abc"), "\"abc\"");
        assert_eq!(literal("it's"), "\"it's\"");
        assert_eq!(literal("say \"hi\""), "'say \"hi\"'");
        assert_eq!(literal("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(literal("a\\b\nc\td"), "\"a\\\\b\\nc\\td\"");
        assert_eq!(
            literal("\u{7}\u{2028}\u{202e}é日"),
            "\"\\x07\\u2028\\u202eé日\""
        );
    }

    #[test]
    fn layout() {
        let e = call("main.select", vec![col("a"), col("b")]);
        assert_eq!(e.fmt(0, 14, 0), "main.select(col(\"a\"), col(\"b\"))");
        let long = "x".repeat(50);
        let e = call("main.select", vec![col(&long), col(&long)]);
        let out = e.fmt(0, 7, 0);
        assert!(out.starts_with("main.select(\n    col("), "{out}");
        assert!(out.ends_with(",\n)"), "{out}");
        let words = "word ".repeat(40);
        let out = s(&words).fmt(4, 4, 1);
        assert!(out.lines().all(|l| width(l) < WIDTH + 4));
        assert!(out.lines().count() > 1);
    }

    #[test]
    fn comments() {
        let lines = comment_lines("line one\nline\u{2028}two\u{7}", 0);
        assert_eq!(lines, vec!["# line one", "# line two"]);
        let long = format!("short {} end", "x".repeat(200));
        let lines = comment_lines(&long, 4);
        assert!(lines.iter().all(|l| width(l) <= WIDTH), "{lines:?}");
        let joined: String = lines.iter().map(|l| l.trim_start_matches(' ')).collect();
        assert_eq!(joined.matches('x').count(), 200);
    }
}

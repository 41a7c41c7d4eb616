"""The injection grid: hostile payloads in every user-text field of a pipeline.

Run by tests/injection.rs (`cargo test --test injection`) as
`python tests/injection/grid.py PIPEC WORKDIR`. One process writes every
pipeline (FIELDS x PAYLOADS, plus one marker pipeline per field), validates
them with one `pipec validate --format json` call per batch and builds the
accepted ones with one `pipec build` call per batch. Then, for every case:

- refused: the refusal is a located error (file:line:col) of that file;
  payload classes marked MUST_REFUSE (CloudFormation dynamic references
  everywhere; bidirectional and zero-width controls in names) must be refused;
- accepted:
  (a) every generated YAML file parses, and its documents equal the marker
      pipeline's once each string the payload produced is mapped back: the
      value appears exactly as declared, at the very paths where the marker
      appears (inside `Fn::Sub` with `${` escaped as `${!`), and nowhere else
      does anything change;
  (b) every generated script parses with `ast`, and its AST equals the
      marker's once string constants are mapped back: the value is only ever
      a plain string constant, never code;
  (c) no raw bidirectional, zero-width or control character is in any
      generated file (YAML escapes them), and every script passes
      `ruff check --select E,F,W,I,B,UP --target-version py311` and
      `ruff format --check`.

Prints the grid size, the time taken and every failing (field, payload) pair
with its reason, and exits 1 when any pair fails.
"""

import ast
import copy
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

try:
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover - libyaml is in the venv
    from yaml import SafeLoader as Loader

MARKER = "Zq7marker"
HERE = Path(__file__).resolve().parent
BASE = yaml.load((HERE / "base.yaml").read_text(encoding="utf-8"), Loader=Loader)
BATCH = 200

# Characters that must never appear raw in a generated file.
INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u061c\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
HASH = re.compile(r"[0-9a-f]{16,64}")
NAME = re.compile(r"g\d{5}")

# ---- payload classes ---------------------------------------------------------
# (class name, value, expectation): "either" (refused with a located error,
# or accepted and inert) or "must_refuse"; "name_refuse" is must_refuse in name
# fields and either elsewhere (then preserved, escaped in YAML).
LONG_WORDS = ("payload " * 1250)[:10_000]
PAYLOADS = [
    ("double-quote", 'say "hi"', "either"),
    ("single-quote", "it's", "either"),
    ("mixed-quotes", "'\"'\"", "either"),
    ("backslash", "a\\b\\\\c", "either"),
    ("trailing-backslash", "end\\", "either"),
    ("newline", "line1\nline2", "either"),
    ("carriage-return", "a\rb", "either"),
    ("crlf", "a\r\nb", "either"),
    ("tab", "a\tb", "either"),
    ("jinja-expression", "{{ 7*7 }}", "either"),
    ("jinja-statement", "{% if true %}x{% endif %}", "either"),
    ("jinja-comment", "{# hidden #}", "either"),
    ("cfn-sub-pseudo", "${AWS::AccountId}", "either"),
    ("cfn-sub-variable", "${Secret}", "either"),
    ("cfn-sub-escaped", "${!x}", "either"),
    ("yaml-colon", "key: value", "either"),
    ("yaml-dash", "- item", "either"),
    ("yaml-hash", "a #comment", "either"),
    ("yaml-anchor", "&anchor", "either"),
    ("yaml-alias", "*alias", "either"),
    ("yaml-tag", "!Ref Bucket", "either"),
    ("yaml-pipe", "| literal", "either"),
    ("yaml-fold", "> folded", "either"),
    ("yaml-directive", "%TAG ! tag:x", "either"),
    ("yaml-at", "@reserved", "either"),
    ("backtick", "`tick`", "either"),
    ("leading-space", " lead", "either"),
    ("trailing-space", "trail ", "either"),
    ("yes", "yes", "either"),
    ("no", "no", "either"),
    ("null-word", "null", "either"),
    ("tilde", "~", "either"),
    ("integer", "123", "either"),
    ("float", "1e3", "either"),
    ("date", "2024-01-01", "either"),
    ("hex", "0x1F", "either"),
    ("resolve-ssm", "{{resolve:ssm:/grid/x}}", "must_refuse"),
    (
        "resolve-secretsmanager",
        "{{resolve:secretsmanager:prod/db:SecretString:password}}",
        "must_refuse",
    ),
    ("resolve-ssm-secure", "{{resolve:ssm-secure:/grid/pw:1}}", "must_refuse"),
    ("bidi-override", "abc\u202edcba", "name_refuse"),
    ("bidi-isolate", "a\u2066b\u2069c", "name_refuse"),
    ("zero-width", "zero\u200bwidth", "name_refuse"),
    ("byte-order-mark", "\ufeffbom", "name_refuse"),
    ("nul", "a\x00b", "either"),
    ("c0-controls", "bell\x07esc\x1b", "either"),
    ("c1-control", "next\x85line", "either"),
    ("line-separator", "a\u2028b", "either"),
    ("emoji", "data \U0001f680 \U0001f468\u200d\U0001f469", "either"),
    ("rtl-text", "\u05e9\u05dc\u05d5\u05dd \u0639\u0631\u0628\u064a", "either"),
    ("python-triple-single", "'''x'''", "either"),
    ("python-triple-double", '"""', "either"),
    ("python-fstring", "{x} {{y}} {0!r:>{1}}", "either"),
    ("python-named-escape", "\\N{BULLET} \\x41 \\u0041", "either"),
    ("python-code", "__import__('os').system('id')", "either"),
    ("sql-injection", "'; DROP TABLE x; --", "either"),
    ("shell", "$(whoami) `id`", "either"),
    ("format-specifiers", "%s %d %(x)s", "either"),
    ("html", "<script>alert(1)</script>", "either"),
    ("long-words", LONG_WORDS, "either"),
    ("long-run", "x" * 10_000, "either"),
]


# ---- fields ----------------------------------------------------------------
def _set(path):
    """An injector that sets one value, found by a path of keys."""

    def inject(p, v):
        d = p
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = v

    return inject


def _around(path, fmt):
    """An injector that sets one value to fmt with the payload in it."""
    setter = _set(path)
    return lambda p, v: setter(p, fmt.replace("@@", v))


def _column_in_source(p, v):
    p["schemas"]["src"]["columns"][v] = "string"


def _derived_column(p, v):
    p["schemas"]["clean"]["columns"][v] = "string"
    p["stages"]["clean"]["steps"][2]["derive"][v] = "'d'"


def _cast_format(p, v):
    p["schemas"]["src"]["columns"]["day"] = "string"
    p["schemas"]["clean"]["columns"]["day"] = "date"
    p["stages"]["clean"]["steps"][0]["cast"]["day"] = {
        "type": "date",
        "format": "yyyy-MM-dd '" + v + "'",
    }


def _input_file_column(p, v):
    p["schemas"]["clean"]["columns"][v] = "string"
    p["stages"]["clean"]["inputs"][0] = {"table": "src", "input_file_column": v}


def _argument_name(p, v):
    p["stages"]["clean"]["arguments"]["--" + v] = "value"


def _trigger_argument_name(p, v):
    p["triggers"]["after-fetch"]["start"][0]["arguments"]["--" + v] = "value"


def _tag_key(p, v):
    p["tags"][v] = "value"


def _property_key(p, v):
    p["workflow"]["properties"][v] = "value"


# (field, injector, is_name): is_name fields must refuse bidi/zero-width.
FIELDS = [
    ("pipeline.description", _set(["description"]), False),
    ("tags.value", _set(["tags", "team"]), False),
    ("tags.key", _tag_key, True),
    ("connection.description", _set(["connections", "db", "description"]), False),
    (
        "connection.url",
        _around(
            ["connections", "db", "url"], "jdbc:postgresql://db.example.com:5432/@@"
        ),
        False,
    ),
    ("connection.secret", _around(["connections", "db", "secret"], "grid/@@"), False),
    ("table.description", _set(["schemas", "src", "description"]), False),
    ("table2.description", _set(["schemas", "clean", "description"]), False),
    (
        "column.comment",
        _set(["schemas", "src", "columns", "name", "comment"]),
        False,
    ),
    (
        "column2.comment",
        _set(["schemas", "clean", "columns", "note", "comment"]),
        False,
    ),
    ("column.name", _column_in_source, True),
    ("derived.column.name", _derived_column, True),
    ("csv.null_value", _set(["schemas", "src", "csv", "null_value"]), False),
    ("table.path", _around(["schemas", "src", "path"], "src-@@/"), False),
    (
        "dqdl.literal",
        _around(
            ["schemas", "clean", "quality", "rules", 1],
            'ColumnValues "name" in ["a", "@@"]',
        ),
        False,
    ),
    ("jdbc_table", _around(["schemas", "dbt", "jdbc_table"], "public.@@"), True),
    ("stage.description", _set(["stages", "clean", "description"]), False),
    ("shell-stage.description", _set(["stages", "fetch", "description"]), False),
    ("stage.argument.value", _set(["stages", "clean", "arguments", "--custom"]), False),
    ("stage.argument.name", _argument_name, True),
    (
        "download.url",
        _around(
            ["stages", "fetch", "download", "url"],
            "https://downloads.example.com/@@.zip",
        ),
        False,
    ),
    ("download.members", _set(["stages", "fetch", "download", "members", 0]), False),
    (
        "filter.literal",
        _around(["stages", "clean", "steps", 1, "filter"], "name <> '@@'"),
        False,
    ),
    (
        "derive.literal",
        _around(["stages", "clean", "steps", 2, "derive", "label"], "'@@'"),
        False,
    ),
    (
        "derive.expression-literal",
        _around(
            ["stages", "clean", "steps", 2, "derive", "note"], "concat(name, '@@')"
        ),
        False,
    ),
    ("cast.format-literal", _cast_format, False),
    ("input_file_column", _input_file_column, True),
    (
        "fill_null.value",
        _set(["stages", "clean", "steps", 3, "fill_null", "name"]),
        False,
    ),
    ("crawler.description", _set(["crawlers", "silver", "description"]), False),
    ("trigger.description", _set(["triggers", "start", "description"]), False),
    (
        "conditional-trigger.description",
        _set(["triggers", "after-fetch", "description"]),
        False,
    ),
    (
        "trigger.argument.value",
        _set(["triggers", "after-fetch", "start", 0, "arguments", "--since"]),
        False,
    ),
    ("trigger.argument.name", _trigger_argument_name, True),
    ("workflow.description", _set(["workflow", "description"]), False),
    ("workflow.property.value", _set(["workflow", "properties", "owner"]), False),
    ("workflow.property.key", _property_key, True),
    (
        "alert.email",
        _around(["alerts", "failed", "email", 0], "x@@@example.com"),
        False,
    ),
]


def expectation(cls, is_name):
    if cls == "must_refuse" or (cls == "name_refuse" and is_name):
        return "must_refuse"
    return "either"


# ---- pipelines ---------------------------------------------------------------
class QuotingDumper(yaml.SafeDumper):
    """Writes every string double-quoted (escapes for control characters), so
    the declared value is the same to YAML 1.1 and 1.2 readers."""


QuotingDumper.add_representer(
    str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style='"')
)


def dump(doc):
    return yaml.dump(
        doc,
        Dumper=QuotingDumper,
        sort_keys=False,
        allow_unicode=True,
        width=10**9,
        default_flow_style=False,
    )


def make_cases(work):
    """Every case: (id, field, payload class, expectation, file)."""
    cases = []
    n = 0
    for fi, (field, inject, is_name) in enumerate(FIELDS):
        rows = [("marker", MARKER, "marker")] + PAYLOADS
        for cls, value, exp in rows:
            name = f"g{n:05d}"
            n += 1
            doc = copy.deepcopy(BASE)
            doc["pipeline"] = name
            inject(doc, value)
            f = work / "in" / f"{name}.yaml"
            f.write_text(dump(doc), encoding="utf-8")
            cases.append(
                {
                    "name": name,
                    "field": field,
                    "class": cls,
                    "value": value,
                    "expect": exp if exp == "marker" else expectation(exp, is_name),
                    "file": f,
                    "fi": fi,
                }
            )
    return cases


def chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def validate(pipec, cases):
    """Diagnostics per file, from `pipec validate --format json` in batches."""
    diags = {str(c["file"]): [] for c in cases}
    for batch in chunks(cases, BATCH):
        proc = subprocess.run(
            [pipec, "validate", "--format", "json", *[str(c["file"]) for c in batch]],
            capture_output=True,
        )
        stderr = proc.stderr.decode("utf-8", "replace")
        if "panicked" in stderr:
            raise SystemExit(f"pipec validate panicked:\n{stderr[-4000:]}")
        # One JSON object per line; split at \n only (JSON escapes the rest).
        for line in proc.stdout.decode("utf-8").split("\n"):
            line = line.strip()
            if line.startswith("{"):
                d = json.loads(line)
                diags.setdefault(d.get("file", ""), []).append(d)
    return diags


def build(pipec, cases, out):
    """Builds the accepted pipelines in batches; returns (file -> error text)."""
    failed = {}
    for batch in chunks(cases, BATCH):
        proc = subprocess.run(
            [pipec, "build", "--out", str(out), *[str(c["file"]) for c in batch]],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            # Find which ones: build them one by one.
            for c in batch:
                one = subprocess.run(
                    [pipec, "build", "--out", str(out), str(c["file"])],
                    capture_output=True,
                    text=True,
                )
                if one.returncode != 0:
                    failed[str(c["file"])] = (one.stderr or one.stdout)[-600:]
    return failed


# ---- comparison --------------------------------------------------------------
def normalize(s):
    return HASH.sub("HASH", NAME.sub("gNAME", s))


def marker_strings(doc, acc):
    """Every string (key or leaf) of a parsed document that holds the marker."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if isinstance(k, str) and MARKER in k:
                acc.add(k)
            marker_strings(v, acc)
    elif isinstance(doc, list):
        for v in doc:
            marker_strings(v, acc)
    elif isinstance(doc, str) and MARKER in doc:
        acc.add(doc)
    return acc


def map_back(doc, table, sub_table, in_sub=False):
    """The document with every string the payload produced mapped back to the
    marker's; `Fn::Sub` strings use the `${!`-escaped forms."""
    if isinstance(doc, dict):
        out = {}
        for k, v in doc.items():
            key = table.get(normalize(k), normalize(k)) if isinstance(k, str) else k
            if k == "Fn::Sub":
                if isinstance(v, list) and v:
                    first = map_back(v[0], table, sub_table, True)
                    rest = [map_back(x, table, sub_table) for x in v[1:]]
                    out[key] = [first, *rest]
                else:
                    out[key] = map_back(v, table, sub_table, True)
            else:
                out[key] = map_back(v, table, sub_table)
        return out
    if isinstance(doc, list):
        return [map_back(v, table, sub_table) for v in doc]
    if isinstance(doc, str):
        s = normalize(doc)
        return (sub_table if in_sub else table).get(s, s)
    return doc


def first_difference(a, b, path=""):
    if type(a) is not type(b):
        return f"{path}: {short(a)} != {short(b)}"
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}/{short(k)}: only in one"
            d = first_difference(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {short(a)} != {short(b)}"


def short(v):
    r = repr(v)
    return r if len(r) < 120 else r[:100] + "...(" + str(len(r)) + " chars)"


def load_yaml(text):
    return yaml.load(text, Loader=Loader)


class PyNormalizer(ast.NodeTransformer):
    def __init__(self, table):
        self.table = table

    def visit_Constant(self, node):  # noqa: N802 - ast's name
        if isinstance(node.value, str):
            return ast.Constant(normalize(self.table.get(node.value, node.value)))
        return node


def py_constants(tree):
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def outputs_of(out, name):
    d = out / name
    return {
        str(p.relative_to(d)): p.read_text(encoding="utf-8")
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def athena_column(name):
    """pipec's catalog name of a CSV column (src/names.rs `athena_column`):
    snake_case, then every character that is not an ASCII letter or digit
    becomes `_`. The catalog renames CSV columns on purpose, since CSV is read
    by position; the grid checks that the rename is all that happens."""
    out = []
    for i, c in enumerate(name):
        if c.isalnum():
            if c.isupper() and i > 0:
                prev = name[i - 1]
                nxt = name[i + 1] if i + 1 < len(name) else ""
                if (
                    prev.islower()
                    or prev.isnumeric()
                    or (prev.isupper() and nxt.islower())
                ):
                    out.append("_")
            out.append(c.lower())
        elif not out or out[-1] != "_":
            out.append("_")
    snake = "".join(out).strip("_") or "_"
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in snake)


def check_case(case, outputs, marker):
    """The failures of one accepted case, compared with its field's marker."""
    value = case["value"]
    problems = []
    if set(outputs) != set(marker["files"]):
        problems.append(f"files differ: {sorted(set(outputs) ^ set(marker['files']))}")
        return problems
    for path, text in outputs.items():
        m = INVISIBLE.search(text)
        if m:
            problems.append(f"{path}: raw U+{ord(m[0]):04X} in the file")
        mtext = marker["files"][path]
        if normalize(text) == normalize(mtext):
            continue
        if path.endswith(".yaml"):
            table = {
                normalize(t.replace(MARKER, value)): normalize(t)
                for t in marker["yaml_strings"][path]
            }
            if case["field"] == "column.name" and path.endswith("glue-catalog.yaml"):
                table.setdefault(normalize(athena_column(value)), athena_column(MARKER))
            sub = {
                normalize(t.replace(MARKER, value.replace("${", "${!"))): normalize(t)
                for t in marker["yaml_strings"][path]
            }
            try:
                doc = load_yaml(text)
            except yaml.YAMLError as e:
                problems.append(f"{path}: does not parse: {str(e)[:200]}")
                continue
            diff = first_difference(map_back(doc, table, sub), marker["yaml"][path])
            if diff:
                problems.append(f"{path}: value not exact at {diff}")
        elif path.endswith(".py"):
            try:
                tree = ast.parse(text)
            except SyntaxError as e:
                problems.append(f"{path}: does not parse: {e}")
                continue
            table = {t.replace(MARKER, value): t for t in marker["py_strings"][path]}
            got = ast.dump(PyNormalizer(table).visit(tree))
            if got != marker["py"][path]:
                problems.append(
                    f"{path}: the AST differs from the marker's (not a constant)"
                )
    return problems


def ruff(files):
    """The scripts among `files` that fail ruff check or ruff format --check."""
    bad = {}
    if not files:
        return bad
    exe = Path(sys.executable).parent / "ruff"
    for batch in chunks(files, 500):
        check = subprocess.run(
            [
                exe, "check", "--no-cache", "--output-format", "concise", "--select",
                "E,F,W,I,B,UP", "--target-version", "py311", *batch,
            ],
            capture_output=True,
            text=True,
        )  # fmt: skip
        for line in check.stdout.splitlines():
            f = line.split(":", 1)[0]
            if f in batch:
                bad.setdefault(f, f"ruff check: {line[len(f) :][:160]}")
        fmt = subprocess.run(
            [exe, "format", "--no-cache", "--check", *batch],
            capture_output=True,
            text=True,
        )
        for line in fmt.stdout.splitlines():
            if line.startswith("Would reformat: "):
                f = line[len("Would reformat: ") :].strip()
                bad.setdefault(f, "ruff format --check: would reformat")
    return bad


def main():
    pipec, work = sys.argv[1], Path(sys.argv[2])
    start = time.monotonic()
    (work / "in").mkdir(parents=True, exist_ok=True)
    out = work / "out"
    cases = make_cases(work)
    diags = validate(pipec, cases)
    accepted = [
        c
        for c in cases
        if not any(d.get("severity") == "error" for d in diags[str(c["file"])])
    ]
    t_validate = time.monotonic() - start
    build_failed = build(pipec, accepted, out)
    t_pipec = time.monotonic() - start
    print(
        f"validated {len(cases)} in {t_validate:.1f}s, "
        f"built {len(accepted)} by {t_pipec:.1f}s"
    )

    failures = []

    def fail(c, why):
        failures.append((c["field"], c["class"], why))

    markers = {}
    for c in cases:
        if c["expect"] != "marker":
            continue
        if str(c["file"]) in build_failed or c not in accepted:
            raise SystemExit(
                f"marker pipeline of {c['field']} does not build: "
                f"{diags[str(c['file'])][:2]} {build_failed.get(str(c['file']))}"
            )
        files = outputs_of(out, c["name"])
        m = {"files": files, "yaml": {}, "yaml_strings": {}, "py": {}, "py_strings": {}}
        for path, text in files.items():
            if path.endswith(".yaml"):
                doc = load_yaml(text)
                m["yaml"][path] = map_back(doc, {}, {})
                m["yaml_strings"][path] = marker_strings(doc, set())
            elif path.endswith(".py"):
                tree = ast.parse(text)
                m["py"][path] = ast.dump(PyNormalizer({}).visit(ast.parse(text)))
                m["py_strings"][path] = {s for s in py_constants(tree) if MARKER in s}
        if not any(m["yaml_strings"].values()) and not any(m["py_strings"].values()):
            raise SystemExit(
                f"field {c['field']}: the marker reaches no generated file"
            )
        markers[c["fi"]] = m

    scripts = []
    accepted_ids = {id(c) for c in accepted}
    for c in cases:
        if c["expect"] == "marker":
            continue
        f = str(c["file"])
        errors = [d for d in diags[f] if d.get("severity") == "error"]
        if id(c) not in accepted_ids:
            located = [
                d
                for d in errors
                if d.get("file") == f
                and d.get("line", 0) >= 1
                and d.get("column", 0) >= 1
            ]
            if not located:
                fail(c, f"refused without a location: {errors[:1]}")
            c["outcome"] = "refused"
            continue
        if c["expect"] == "must_refuse":
            fail(c, "accepted, must be refused")
        if f in build_failed:
            fail(c, f"validates but does not build: {build_failed[f]}")
            continue
        c["outcome"] = "accepted"
        files = outputs_of(out, c["name"])
        for why in check_case(c, files, markers[c["fi"]]):
            fail(c, why)
        for p in files:
            if p.endswith(".py"):
                scripts.append((str(out / c["name"] / p), c))
    bad = ruff([s for s, _ in scripts])
    for s, c in scripts:
        if s in bad:
            fail(c, f"{Path(s).name}: {bad[s]}")

    took = time.monotonic() - start
    payload_cases = [c for c in cases if c["expect"] != "marker"]
    refused = sum(1 for c in payload_cases if c.get("outcome") == "refused")
    print(
        f"injection grid: {len(FIELDS)} fields x {len(PAYLOADS)} payload classes = "
        f"{len(payload_cases)} cases (+{len(FIELDS)} marker pipelines); "
        f"{refused} refused, {len(payload_cases) - refused} accepted; "
        f"pipec {t_pipec:.1f}s, total {took:.1f}s"
    )
    pairs = {}
    for field, cls, why in failures:
        pairs.setdefault((field, cls), []).append(why)
    for (field, cls), whys in sorted(pairs.items()):
        print(f"FAIL {field} x {cls}: {'; '.join(whys)[:400]}")
    print(f"{len(pairs)} failing (field, payload) pairs")
    summary = work / "failures.json"
    summary.write_text(
        json.dumps(
            [
                {"field": f, "payload": c, "why": w}
                for (f, c), w in sorted(pairs.items())
            ],
            indent=1,
        ),
        encoding="utf-8",
    )
    sys.exit(1 if pairs else 0)


if __name__ == "__main__":
    main()

"""Expected tables of every example pipeline, computed from its sample files.

One function per example pipeline (`etl`, `leads`, `survey`, `trips`) takes
the sample files by table (by default the ones the pipeline declares under
`samples:`) and returns every table that the pipeline's stages write, by
table name, as pandas frames with the declared columns in order. JDBC
outputs are there too: they hold what the load stage copies.

Nothing here uses Spark or pipec's code. Each function follows its
pipeline's declared steps by hand, in plain Python over the rows, with
Spark 3.5's semantics written out where they matter: text to number and
datetime casts that give null on a value that does not convert (ANSI off),
decimal rounding half up, joins where a null key matches nothing, `avg` of
`decimal(p,s)` rounded to scale s+4. Values are Python ints, floats,
`decimal.Decimal` at the column's scale, `datetime.date` and
`pandas.Timestamp` (naive, UTC), or None.

Each function also counts, when given a `losses` dict, the values that each
`cast` step turned into null (the counts a stage logs).

Used by tests/spark/test_samples.py against the generated scripts, and meant
for checking `pipec run --local` output too.
"""

import csv
import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

import yaml

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "pipelines"


def pipeline(stem):
    """The parsed example pipeline."""
    return yaml.safe_load((PIPELINES / f"{stem}.yaml").read_text("utf-8"))


def declared_samples(stem):
    """The sample files the pipeline declares, by table."""
    p = pipeline(stem)
    return {
        name: [PIPELINES / s for s in t.get("samples", [])]
        for name, t in p["schemas"].items()
        if t.get("samples")
    }


def columns(stem, table):
    """The declared columns of a table, in order: name -> type."""
    out = {}
    for name, c in pipeline(stem)["schemas"][table]["columns"].items():
        out[name] = c if isinstance(c, str) else c["type"]
    return out


# ---- reading ---------------------------------------------------------------


def read_csv(paths, names, header, null_value="", quote='"', escape="\\"):
    """Rows of CSV files as dicts of text (None for `null_value`), by position."""
    rows = []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(
                f,
                quotechar=quote,
                doublequote=escape == quote,
                escapechar=None if escape == quote else escape,
            )
            for i, record in enumerate(reader):
                if header and i == 0:
                    continue
                values = [None if v == null_value else v for v in record]
                values += [None] * (len(names) - len(values))
                rows.append(dict(zip(names, values, strict=True)))
    return rows


# ---- Spark's casts, written out ----------------------------------------------

INTEGRAL = re.compile(r"[+-]?\d+(\.\d*)?")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
LIMITS = {"int": 2**31, "bigint": 2**63}


def to_integral(text, ty):
    """CAST(text AS INT/BIGINT): trimmed, a fraction truncated, else null."""
    if text is None:
        return None
    t = text.strip()
    if not INTEGRAL.fullmatch(t):
        return None
    n = int(t.split(".")[0])
    return n if -LIMITS[ty] <= n < LIMITS[ty] else None


def to_double(text):
    """CAST(text AS DOUBLE) for plain decimal numbers, else null."""
    if text is None or not NUMBER.fullmatch(text.strip()):
        return None
    return float(text.strip())


def to_decimal(value, precision, scale):
    """CAST(x AS DECIMAL(p,s)): rounded half up to s places, null when too wide."""
    if value is None:
        return None
    if isinstance(value, str):
        if not NUMBER.fullmatch(value.strip()):
            return None
        value = value.strip()
    try:
        d = Decimal(value).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return d if abs(d) < Decimal(10) ** (precision - scale) else None


def to_timestamp(text, pattern):
    """to_timestamp(text, pattern) for the two patterns the examples use."""
    if text is None:
        return None
    m = re.fullmatch(pattern, text)
    if not m:
        return None
    try:
        return pd.Timestamp(dt.datetime(*(int(g) for g in m.groups())))
    except ValueError:
        return None


# `M/d/yyyy H:mm` and `yyyy-MM-dd HH:mm:ss`, as regular expressions whose
# groups are year, month, day, hour, minute (and second).
RETAIL_DATE = r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}) (?P<h>\d{1,2}):(?P<mi>\d{2})"
ISO_SECONDS = r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})"


def retail_timestamp(text):
    if text is None or not (m := re.fullmatch(RETAIL_DATE, text)):
        return None
    try:
        return pd.Timestamp(
            dt.datetime(
                int(m["y"]), int(m["m"]), int(m["d"]), int(m["h"]), int(m["mi"])
            )
        )
    except ValueError:
        return None


def lost(losses, column, before, after):
    """Counts a value that a cast turned into null, as a stage's log reports."""
    if losses is not None and before is not None and after is None:
        losses[column] = losses.get(column, 0) + 1
    return after


def frame(rows, cols):
    """A pandas frame of exactly these columns, values kept as Python objects."""
    return pd.DataFrame(
        [[r[c] for c in cols] for r in rows], columns=list(cols), dtype=object
    )


def distinct(rows, cols):
    """Whole-row dedupe: the first of each set of equal rows."""
    seen, out = set(), []
    for r in rows:
        key = tuple(r[c] for c in cols)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


# ---- the pipelines -------------------------------------------------------------


def etl(samples=None, losses=None):
    """clean (snake_case, casts, filter, dedupe) then repartition (amount).
    `losses`, if given, receives the count of values each cast made null."""
    samples = samples or declared_samples("etl")
    raw = read_csv(
        samples["orders_raw"], list(columns("etl", "orders_raw")), header=True
    )
    # rename: snake_case, spelled out for the export's columns.
    names = {
        "InvoiceNo": "invoice_no",
        "StockCode": "stock_code",
        "Description": "description",
        "Quantity": "quantity",
        "InvoiceDate": "invoice_date",
        "UnitPrice": "unit_price",
        "CustomerID": "customer_id",
        "Country": "country",
    }
    clean = []
    for r in raw:
        r = {names[k]: v for k, v in r.items()}
        casts = {
            "quantity": lambda v: to_integral(v, "int"),
            "invoice_date": retail_timestamp,
            "unit_price": lambda v: to_decimal(v, 10, 2),
            "customer_id": lambda v: to_integral(v, "bigint"),
        }
        for c, cast in casts.items():
            r[c] = lost(losses, c, r[c], cast(r[c]))
        if r["invoice_no"] is not None and r["quantity"] is not None:
            clean.append(r)
    clean_cols = columns("etl", "orders_clean")
    clean = distinct(clean, clean_cols)
    gold = []
    for r in clean:
        amount = None
        if r["unit_price"] is not None:
            amount = to_decimal(Decimal(r["quantity"]) * r["unit_price"], 18, 2)
        gold.append({**r, "amount": amount})
    return {
        "orders_clean": frame(clean, clean_cols),
        "orders_by_country": frame(gold, columns("etl", "orders_by_country")),
    }


def survey(samples=None, losses=None):
    """structure (casts, filter, dedupe by key), normalize (three tables), load."""
    samples = samples or declared_samples("survey")
    raw = read_csv(
        samples["responses_raw"],
        list(columns("survey", "responses_raw")),
        header=True,
        null_value="NA",
    )
    names = {
        "ResponseId": "response_id",
        "MainBranch": "main_branch",
        "Country": "country",
        "EdLevel": "ed_level",
        "YearsCode": "years_code",
        "LanguageHaveWorkedWith": "language_have_worked_with",
        "ConvertedCompYearly": "converted_comp_yearly",
    }
    typed = []
    for r in raw:
        r = {names[k]: v for k, v in r.items()}
        casts = {
            "response_id": lambda v: to_integral(v, "bigint"),
            "years_code": lambda v: to_integral(v, "int"),
            "converted_comp_yearly": to_double,
        }
        for c, cast in casts.items():
            r[c] = lost(losses, c, r[c], cast(r[c]))
        if r["response_id"] is not None:
            typed.append(r)
    # dedupe by response_id, keeping the greatest pay, nulls last.
    best = {}
    for r in typed:
        k, pay = r["response_id"], r["converted_comp_yearly"]
        kept = best.get(k)
        if kept is None or (
            pay is not None
            and (
                kept["converted_comp_yearly"] is None
                or pay > kept["converted_comp_yearly"]
            )
        ):
            best[k] = r
    responses = list(best.values())
    bridge = []
    for r in responses:
        if r["language_have_worked_with"] is None:
            continue
        for language in r["language_have_worked_with"].split(";"):
            if language != "":
                bridge.append({"response_id": r["response_id"], "language": language})
    bridge = distinct(bridge, ["response_id", "language"])
    languages = distinct([{"language": b["language"]} for b in bridge], ["language"])
    out = {
        "responses": frame(responses, columns("survey", "responses")),
        "respondents": frame(responses, columns("survey", "respondents")),
        "languages": frame(languages, columns("survey", "languages")),
        "respondent_languages": frame(
            bridge, columns("survey", "respondent_languages")
        ),
    }
    # The load stage copies the normalized tables to PostgreSQL as they are.
    out["respondents_pg"] = out["respondents"]
    out["languages_pg"] = out["languages"]
    out["respondent_languages_pg"] = out["respondent_languages"]
    return out


def leads(samples=None, losses=None):
    """enrich: a full outer join of leads and hits, then an inner join with users."""
    samples = samples or declared_samples("leads")
    users = read_csv(samples["users"], ["email", "country"], header=False)
    hits = read_csv(
        samples["article_hits"], ["id", "timestamp", "feed_id", "lead_id"], header=False
    )
    for h in hits:
        # Typed CSV columns: Spark's reader casts as it reads.
        h["id"] = to_integral(h["id"], "bigint")
        h["feed_id"] = to_integral(h["feed_id"], "bigint")
        h["lead_id"] = to_integral(h["lead_id"], "bigint")
        h["timestamp"] = to_timestamp(h["timestamp"], ISO_SECONDS)
    leads_rows = read_csv(
        samples["leads"], ["id", "name", "email", "preview"], header=False, escape='"'
    )
    for r in leads_rows:
        r["id"] = lost(losses, "id", r["id"], to_integral(r["id"], "bigint"))
    # Full outer join on id = lead_id; a null key matches nothing.
    joined, matched = [], set()
    empty_hit = {
        "hit_id": None,
        "hit_timestamp": None,
        "feed_id": None,
        "lead_id": None,
    }
    for r in leads_rows:
        mine = [
            i
            for i, h in enumerate(hits)
            if r["id"] is not None and h["lead_id"] == r["id"]
        ]
        matched.update(mine)
        for i in mine:
            h = hits[i]
            joined.append(
                {
                    **r,
                    "hit_id": h["id"],
                    "hit_timestamp": h["timestamp"],
                    "feed_id": h["feed_id"],
                    "lead_id": h["lead_id"],
                }
            )
        if not mine:
            joined.append({**r, **empty_hit})
    for i, h in enumerate(hits):
        if i not in matched:
            joined.append(
                {
                    "id": None,
                    "name": None,
                    "email": None,
                    "preview": None,
                    "hit_id": h["id"],
                    "hit_timestamp": h["timestamp"],
                    "feed_id": h["feed_id"],
                    "lead_id": h["lead_id"],
                }
            )
    # Inner join with users on email.
    enriched = [
        {**r, "country": u["country"]}
        for r in joined
        for u in users
        if r["email"] is not None and r["email"] == u["email"]
    ]
    return {"leads_enriched": frame(enriched, columns("leads", "leads_enriched"))}


def trips(samples=None, losses=None):
    """stage (rename, casts, filter, derive, fill_null), aggregate (+ rank), load."""
    samples = samples or declared_samples("trips")
    raw = read_csv(
        samples["trips_raw"], list(columns("trips", "trips_raw")), header=True
    )
    names = {
        "VendorID": "vendor_id",
        "tpep_pickup_datetime": "pickup_at",
        "tpep_dropoff_datetime": "dropoff_at",
        "PULocationID": "pickup_zone",
        "DOLocationID": "dropoff_zone",
    }
    staged = []
    for r in raw:
        r = {names.get(k, k): v for k, v in r.items()}
        casts = {
            "vendor_id": lambda v: to_integral(v, "int"),
            "pickup_at": lambda v: to_timestamp(v, ISO_SECONDS),
            "dropoff_at": lambda v: to_timestamp(v, ISO_SECONDS),
            "passenger_count": lambda v: to_integral(v, "int"),
            "trip_distance": to_double,
            "pickup_zone": lambda v: to_integral(v, "int"),
            "dropoff_zone": lambda v: to_integral(v, "int"),
            "payment_type": lambda v: to_integral(v, "int"),
            "fare_amount": lambda v: to_decimal(v, 10, 2),
            "tip_amount": lambda v: to_decimal(v, 10, 2),
            "total_amount": lambda v: to_decimal(v, 10, 2),
        }
        for c, cast in casts.items():
            r[c] = lost(losses, c, r[c], cast(r[c]))
        keep = (
            r["trip_distance"] is not None
            and r["trip_distance"] > 0
            and r["pickup_at"] is not None
            and r["dropoff_at"] is not None
            and r["dropoff_at"] >= r["pickup_at"]
        )
        if not keep:
            continue
        r["pickup_date"] = r["pickup_at"].date()
        if r["passenger_count"] is None:
            r["passenger_count"] = 1
        staged.append(r)
    groups = {}
    for r in staged:
        groups.setdefault((r["pickup_date"], r["pickup_zone"]), []).append(r)
    stats = []
    for (day, zone), rs in groups.items():
        distances = [r["trip_distance"] for r in rs if r["trip_distance"] is not None]
        totals = [r["total_amount"] for r in rs if r["total_amount"] is not None]
        tips = [r["tip_amount"] for r in rs if r["tip_amount"] is not None]
        stats.append(
            {
                "pickup_date": day,
                "pickup_zone": zone,
                "trips": len(rs),
                "avg_distance": sum(distances) / len(distances) if distances else None,
                "revenue": to_decimal(sum(totals), 10, 2) if totals else None,
                # avg of decimal(10,2) is decimal(14,6), then the table's double.
                "avg_tip": float(to_decimal(sum(tips) / len(tips), 14, 6))
                if tips
                else None,
            }
        )
    # rank() over each day by trips desc, pickup_zone: ties share a rank.
    for day in {s["pickup_date"] for s in stats}:
        ranked = sorted(
            (s for s in stats if s["pickup_date"] == day),
            # Ascending order puts nulls first, as Spark does.
            key=lambda s: (
                -s["trips"],
                s["pickup_zone"] is not None,
                s["pickup_zone"] or 0,
            ),
        )
        for i, s in enumerate(ranked):
            before = ranked[i - 1] if i else None
            same = before and (before["trips"], before["pickup_zone"]) == (
                s["trips"],
                s["pickup_zone"],
            )
            s["rank_in_day"] = before["rank_in_day"] if same else i + 1
    out = {
        "trips": frame(staged, columns("trips", "trips")),
        "daily_zone_stats": frame(stats, columns("trips", "daily_zone_stats")),
    }
    # The load stage appends the day's aggregates to Redshift as they are.
    out["daily_zone_stats_rs"] = frame(stats, columns("trips", "daily_zone_stats_rs"))
    return out


EXPECTED = {"etl": etl, "leads": leads, "survey": survey, "trips": trips}

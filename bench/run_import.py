"""Bulk import speed and memory against the bare parse of the same file.

    .venv/bin/python bench/run_import.py --rows 100000 --format csv
    .venv/bin/python bench/run_import.py --rows 1000000 --format xlsx
    .venv/bin/python bench/run_import.py --rows 100000 --format csv \
        --database-url postgres://postgres@127.0.0.1:5432/bench_import
    .venv/bin/python bench/run_import.py --rows 1000000 --format xlsx --reader-only
    .venv/bin/python bench/run_import.py --rows 200000 --columns 30 --format xlsx \
        --stream-xlsx
    .venv/bin/python bench/run_import.py --rows 20000 --format csv --then-match
    .venv/bin/python bench/run_import.py --rows 100000 --format html --reader-only

Writes a customer sheet of `--rows` rows (9 columns with Chinese headers;
`--columns N` adds remark columns up to N in all, which no field maps, as
legacy sheets carry them) with the real writers (csv, openpyxl; the HTML
table, Excel 2003 XML and Navicat-style JSON as those exporters lay them
out), then, each in its own process so peak RSS is its own: the bare parse
(`pandas.read_csv` / `pandas.read_excel(engine="calamine")`; for the other
formats `pandas.read_html`, lxml's parse, json.load) and our import
(`manage.py import_customers --no-match`) into a fresh database (SQLite in
a temporary folder, or the PostgreSQL database named by --database-url,
dropped and created anew), then the same import again (every row
unchanged), and with `--then-match` the batch matching run an import
starts when it is done (`matching_run_batch`: train, score, cluster, then
the golden records and review tasks written), timed on its own. Prints one
JSON line.

A 1,000,000-row .xlsx unpacks to ~650 MiB, over the 200 MiB default
IMPORT_MAX_UNCOMPRESSED_MB, and spans 9M cells, over the 3M default
IMPORT_FAST_XLSX_MAX_CELLS; the bench raises both, as an operator would to
take such files on the fast reader (`--stream-xlsx` raises only the first:
the sheet is then streamed by openpyxl, as a default install reads it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from html import escape
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
HEADER = [
    "客户编号",
    "客户名称",
    "联系人",
    "联系电话",
    "手机",
    "税号",
    "地址",
    "邮箱",
    "录入日期",
]
CITIES = [
    "北京市朝阳区",
    "上海市浦东新区",
    "深圳市南山区",
    "广州市天河区",
    "杭州市西湖区",
]
WORDS = ["科技", "贸易", "实业", "商贸", "电子", "机械", "物流"]


def header(columns: int) -> list[str]:
    return HEADER + [f"备注{k}" for k in range(1, columns - len(HEADER) + 1)]


def rows(n: int, columns: int):
    rnd = random.Random(42)
    extra = columns - len(HEADER)
    for i in range(n):
        city = rnd.choice(CITIES)
        yield [
            f"L-{i:07d}",
            f"{city[:2]}{rnd.randrange(10**6):06d}{rnd.choice(WORDS)}有限公司",
            "王总",
            f"010-{rnd.randrange(10**8):08d}",
            13800000000 + rnd.randrange(10**8),
            "",
            f"{city}建国路{rnd.randrange(999)}号",
            f"info{i}@example.cn",
            f"2021/{rnd.randrange(1, 13)}/{rnd.randrange(1, 29)}",
            *(f"第{k}项备注{i % 97}" for k in range(extra)),
        ]


def write_file(path: Path, n: int, fmt: str, columns: int) -> None:
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header(columns))
            writer.writerows(rows(n, columns))
        return
    if fmt in TEXT_WRITERS:
        with path.open("w", encoding="utf-8") as fh:
            TEXT_WRITERS[fmt](fh, n, columns)
        return
    if fmt == "xlsb":
        from pyxlsbwriter import XlsbWriter

        with XlsbWriter(str(path)) as writer:
            writer.add_sheet("客户")
            writer.write_sheet([header(columns), *rows(n, columns)])
        return
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(header(columns))
    for row in rows(n, columns):
        sheet.append(row)
    book.save(path)


def write_html(fh, n: int, columns: int) -> None:
    """A web report's "Excel" export: one table, th headers."""
    fh.write('<html><head><meta charset="utf-8"></head><body><table>\n<tr>')
    fh.write("".join(f"<th>{escape(h)}</th>" for h in header(columns)) + "</tr>\n")
    for row in rows(n, columns):
        cells = "".join(f"<td>{escape(str(v))}</td>" for v in row)
        fh.write(f"<tr>{cells}</tr>\n")
    fh.write("</table></body></html>\n")


def write_xml2003(fh, n: int, columns: int) -> None:
    """Excel 2003 XML as Excel writes it: typed Data, one sheet."""
    fh.write(
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">\n'
        '<Worksheet ss:Name="客户"><Table>\n'
    )
    for row in [header(columns), *rows(n, columns)]:
        cells = "".join(
            f'<Cell><Data ss:Type="{"Number" if isinstance(v, int) else "String"}">'
            f"{escape(str(v))}</Data></Cell>"
            for v in row
        )
        fh.write(f"<Row>{cells}</Row>\n")
    fh.write("</Table></Worksheet></Workbook>\n")


# The same columns as a home-grown system's database table names them: no
# source system's field mapping reads them, so the import maps them as
# columns (mdm/importing/record_columns.py).
DATABASE_KEYS = [
    "customer_code",
    "customer_name",
    "linkman",
    "tel",
    "mobile",
    "tax_no",
    "address",
    "email",
    "create_time",
]


def write_json(fh, n: int, columns: int, names: list[str] | None = None) -> None:
    """Navicat's JSON export of the same sheet: {"RECORDS": [...]}."""
    names = names or header(columns)
    fh.write('{"RECORDS":[\n')
    for i, row in enumerate(rows(n, columns)):
        record = {k: v for k, v in zip(names, row, strict=True) if v != ""}
        fh.write(("," if i else "") + json.dumps(record, ensure_ascii=False) + "\n")
    fh.write("]}\n")


def write_json_db(fh, n: int, columns: int) -> None:
    """The same export with database column names (read as columns)."""
    extra = [f"remark_{k}" for k in range(1, columns - len(DATABASE_KEYS) + 1)]
    write_json(fh, n, columns, DATABASE_KEYS + extra)


TEXT_WRITERS = {
    "html": write_html,
    "xml2003": write_xml2003,
    "json": write_json,
    "json-db": write_json_db,
}
# What parses each format bare, for the ratio (pandas where it reads it).
BARE_PARSE = {
    "csv": "pd.read_csv(p, dtype=str)",
    "xlsx": "pd.read_excel(p, engine='calamine', dtype=str)",
    "xlsb": "pd.read_excel(p, engine='calamine', dtype=str)",
    "html": "pd.read_html(p, flavor='lxml')",
    "xml2003": "__import__('lxml.etree').etree.parse(p)",
    "json": "pd.DataFrame(__import__('json').load(open(p))['RECORDS'])",
    "json-db": "pd.DataFrame(__import__('json').load(open(p))['RECORDS'])",
}


def timed(cmd: list[str], env: dict) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of a
    child process. On a shared machine the CPU time is the steadier figure:
    other load stretches wall time, not the work done."""
    start = time.perf_counter()
    wrapped = [sys.executable, "-c", _RUSAGE, *cmd]
    out = subprocess.run(wrapped, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    cpu, rss = map(float, out.stdout.strip().splitlines()[-1].split())
    return time.perf_counter() - start, cpu, rss


_RUSAGE = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
"""


# The import run's reader alone: the limits from the environment, the sheet
# loaded whole when it fits, every row turned into Python.
_READER = """
import sys
import django
django.setup()
from mdm.importing import open_table
from mdm.services.imports import import_limits
with open_table(sys.argv[1], limits=import_limits(), load_whole=True) as table:
    sum(1 for _ in (table.records() if table.holds_records else table.rows()))
"""


XLSX_READER = {False: "calamine (whole sheet)", True: "openpyxl (streamed)"}

# What an import starts when its rows are in (import_job_run, run_matching).
_MATCH = (
    "from mdm.services.batch_matching import matching_run_batch; "
    "print(matching_run_batch().stats)"
)


def fresh_database(url: str) -> None:
    """Drop and create the PostgreSQL database named in `url`."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--format", choices=sorted(BARE_PARSE), default="csv")
    ap.add_argument(
        "--columns",
        type=int,
        default=len(HEADER),
        help=f"columns in all ({len(HEADER)} mapped, the rest unmapped remarks)",
    )
    ap.add_argument(
        "--database-url", help="PostgreSQL URL (recreated); default: SQLite"
    )
    ap.add_argument(
        "--reader-only",
        action="store_true",
        help="time our reader (every row, as the import reads it), not the import",
    )
    ap.add_argument(
        "--stream-xlsx",
        action="store_true",
        help="keep IMPORT_FAST_XLSX_MAX_CELLS at its default: a sheet over it "
        "is streamed by openpyxl (flat memory), as on a default install",
    )
    ap.add_argument(
        "--then-match",
        action="store_true",
        help="time the batch matching run that follows an import, on its own",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"customers.{args.format}"
        columns = max(args.columns, len(HEADER))
        write_file(path, args.rows, args.format, columns)
        env = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": "bench",
            "SECURE_SSL_REDIRECT": "false",
            "GOLDEN_RECORD_VAR_DIR": tmp,
            "IMPORT_MAX_UNCOMPRESSED_MB": str(max(200, args.rows * columns // 9000)),
            "DJANGO_SETTINGS_MODULE": "mdm.settings",
            "PYTHONPATH": str(ROOT),
        }
        if not args.stream_xlsx:
            env["IMPORT_FAST_XLSX_MAX_CELLS"] = str(
                max(3_000_000, args.rows * (columns + 1))
            )
        env.pop("DATABASE_URL", None)
        if args.database_url:
            fresh_database(args.database_url)
            env["DATABASE_URL"] = args.database_url
        reader = BARE_PARSE[args.format]
        parse_s, parse_cpu, parse_rss = timed(
            [
                sys.executable,
                "-c",
                f"import pandas as pd, sys; p=sys.argv[1]; {reader}",
                str(path),
            ],
            env,
        )
        if args.reader_only:
            read_s, read_cpu, read_rss = timed(
                [sys.executable, "-c", _READER, str(path)], env
            )
            print(
                json.dumps(
                    {
                        "rows": args.rows,
                        "columns": columns,
                        "format": args.format,
                        "file_mib": round(path.stat().st_size / 2**20, 1),
                        "bare_parse_s": round(parse_s, 1),
                        "bare_parse_cpu_s": round(parse_cpu, 1),
                        "bare_parse_rss_mib": round(parse_rss),
                        "reader_s": round(read_s, 1),
                        "reader_cpu_s": round(read_cpu, 1),
                        "reader_rss_mib": round(read_rss),
                    }
                )
            )
            return
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
        import_s, import_cpu, import_rss = timed(
            [
                *manage,
                "import_customers",
                str(path),
                "--source",
                "legacy",
                "--no-match",
            ],
            env,
        )
        again_s, again_cpu, again_rss = timed(
            [
                *manage,
                "import_customers",
                str(path),
                "--source",
                "legacy",
                "--no-match",
            ],
            env,
        )
        matching = {}
        if args.then_match:
            match_s, match_cpu, match_rss = timed([*manage, "shell", "-c", _MATCH], env)
            matching = {
                "matching_s": round(match_s, 1),
                "matching_cpu_s": round(match_cpu, 1),
                "matching_rss_mib": round(match_rss),
            }
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "columns": columns,
                    "format": args.format,
                    "database": "postgresql" if args.database_url else "sqlite",
                    "reader": XLSX_READER[args.stream_xlsx]
                    if args.format == "xlsx"
                    else args.format,
                    "file_mib": round(path.stat().st_size / 2**20, 1),
                    "bare_parse_s": round(parse_s, 1),
                    "bare_parse_cpu_s": round(parse_cpu, 1),
                    "bare_parse_rss_mib": round(parse_rss),
                    "import_s": round(import_s, 1),
                    "import_cpu_s": round(import_cpu, 1),
                    "import_rss_mib": round(import_rss),
                    "rows_per_s": round(args.rows / import_s),
                    "import_vs_parse": round(import_s / parse_s, 1),
                    "import_vs_parse_cpu": round(import_cpu / parse_cpu, 1),
                    "reimport_unchanged_s": round(again_s, 1),
                    "reimport_unchanged_cpu_s": round(again_cpu, 1),
                    "reimport_rss_mib": round(again_rss),
                    **matching,
                }
            )
        )


if __name__ == "__main__":
    main()

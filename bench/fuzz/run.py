"""Coverage-guided fuzzing of the import and JSON entry points with atheris.

    .venv/bin/python bench/fuzz/run.py import_file --seconds 3600   # nightly
    .venv/bin/python bench/fuzz/run.py ingest_json --seconds 3600

Seeds the corpus (var/fuzz/<target>/) with real files the first time: a
GBK CSV with a title row, a UTF-8 CSV, a Big5 one, an .xlsx made by
openpyxl, a GBK HTML table (a web report saved as .xls), Excel 2003 XML,
each of those three with a customer over two rows (its name merged down),
a JSON export, JSON Lines, and ingest bodies.
Exits non-zero, leaving `crash-*` files in var/fuzz/, when a target raises
anything but the errors its interface declares (bench/fuzz/targets.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
os.environ.setdefault("SECRET_KEY", "fuzzing-only-not-a-secret")

import atheris  # noqa: E402
import django  # noqa: E402

# Coverage feedback from our own code: everything of mdm and matching that
# Django's app loading or the targets import is instrumented.
with atheris.instrument_imports(include=["mdm", "matching", "bench"]):
    django.setup()
    from bench.fuzz.targets import TARGETS


def _xlsb(rows: list[list[str]]) -> bytes:
    from pyxlsbwriter import XlsbWriter

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.xlsb"
        with XlsbWriter(str(path)) as writer:
            writer.add_sheet("客户")
            writer.write_sheet(rows)
        return path.read_bytes()


def seed_corpus(target: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    seeds: dict[str, bytes] = {}
    if target == "import_file":
        import openpyxl

        rows = [
            ["客户编号", "客户名称", "联系电话", "税号", "录入日期"],
            [
                "C001",
                "北京华盛科技有限公司",
                "13800138000",
                "91110108MA01ABCD2X",
                "2021/3/5",
            ],
            ["C002", "上海东方贸易有限公司", "021-6552 1234", "", "2021年3月5日"],
        ]
        text = "\n".join(",".join(row) for row in [["客户名单"], *rows])
        seeds["gbk.csv"] = text.encode("gbk")
        seeds["utf8.csv"] = "\ufeff".encode() + text.encode()
        big5 = "客戶名稱,電話\n台灣華盛科技股份有限公司,02-2345-6789\n"
        seeds["big5.csv"] = big5.encode("cp950")
        seeds["utf16-nobom.csv"] = text.encode("utf-16-le")
        seeds["template.csv"] = "\n".join(  # text kept for Excel, notes
            [
                "填表说明：带*为必填项",
                ",".join("*" + name for name in rows[0]),
                "必填,必填,选填,选填,日期",
                '="C003",="广州恒通物流有限公司",\'+86 20 8888 1234,,="2021-03-07"',
                ",".join(rows[0]),
            ]
        ).encode()
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        seeds["sheet.xlsx"] = buffer.getvalue()
        merged = openpyxl.Workbook()  # a customer over two rows, name merged
        for row in [*rows[:2], ["", "", "13900139000"], *rows[2:]]:
            merged.active.append(row)
        merged.active.merge_cells("A2:A3")
        merged.active.merge_cells("B2:B3")
        buffer = io.BytesIO()
        merged.save(buffer)
        seeds["merged.xlsx"] = buffer.getvalue()
        seeds["merged-report.xls"] = (
            "<table><tr>"
            + "".join(f"<th>{name}</th>" for name in rows[0])
            + '</tr><tr><td rowspan="2">C001</td><td rowspan="2">华盛科技</td>'
            "<td>13800138000</td></tr><tr><td>13900139000</td></tr></table>"
        ).encode()
        head = rows[0]
        seeds["merged2003.xml"] = (
            '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:'
            'office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:'
            'spreadsheet"><Worksheet ss:Name="客户"><Table><Row>'
            + "".join(f'<Cell><Data ss:Type="String">{h}</Data></Cell>' for h in head)
            + '</Row><Row><Cell ss:MergeDown="1"><Data ss:Type="String">C001</Data>'
            '</Cell><Cell ss:MergeDown="1"><Data ss:Type="String">华盛科技</Data>'
            '</Cell><Cell><Data ss:Type="Number">13800138000</Data></Cell></Row>'
            '<Row><Cell ss:Index="3"><Data ss:Type="Number">13900139000</Data>'
            "</Cell></Row></Table></Worksheet></Workbook>"
        ).encode()
        seeds["report.xls"] = (  # a web report's HTML table, as saved for Excel
            '<html><head><meta charset="gb2312"></head><body><table>'
            '<tr><td colspan="3">客户名单</td></tr>'
            + "".join(
                "<tr>" + "".join(f"<td rowspan=1>{cell}</td>" for cell in row) + "</tr>"
                for row in rows
            )
            + "</table></body></html>"
        ).encode("gbk")
        seeds["excel2003.xml"] = (
            '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:'
            'office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:'
            'spreadsheet"><Worksheet ss:Name="客户"><Table>'
            + "".join(
                "<Row>"
                + "".join(
                    f'<Cell ss:Index="{i}"><Data ss:Type="String">{cell}</Data></Cell>'
                    for i, cell in enumerate(row, start=1)
                )
                + "</Row>"
                for row in rows
            )
            + "</Table></Worksheet></Workbook>"
        ).encode()
        seeds["navicat.json"] = json.dumps(
            {"RECORDS": [{"FNumber": r[0], "FName": r[1]} for r in rows[1:]]},
            ensure_ascii=False,
            indent=1,
        ).encode()
        seeds["records.jsonl"] = "\n".join(
            json.dumps({"FNumber": r[0], "FName": r[1]}, ensure_ascii=False)
            for r in rows[1:]
        ).encode()
        seeds["database.json"] = json.dumps(  # keys read as columns, nested
            [
                {"cust_no": r[0], "linkman": {"name": "王", "tel": [r[2], 2**70]}}
                for r in rows[1:]
            ],
            ensure_ascii=False,
        ).encode()
        seeds["binary.xlsb"] = _xlsb(rows)
        # SheetJS's: compact cell records, merged cells.
        seeds["sheetjs.xlsb"] = (
            ROOT / "fixtures/files/sheetjs_contacts.xlsb"
        ).read_bytes()
    else:
        seeds["batch.json"] = json.dumps(
            {
                "records": [
                    {"source_id": "C001", "payload": {"FName": "北京华盛科技有限公司"}},
                    {"source_id": "", "payload": {"Name": "Acme", "Phone": 138}},
                ]
            },
            ensure_ascii=False,
        ).encode()
    for name, content in seeds.items():
        (folder / name).write_bytes(content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument(
        "--runs", type=int, help="stop after this many inputs (with --seed: repeatable)"
    )
    parser.add_argument("--seed", type=int, help="libFuzzer's random seed")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=ROOT / "var" / "fuzz",
        help="where crash-* files go (created if missing)",
    )
    args, libfuzzer_args = parser.parse_known_args()
    corpus = args.corpus or ROOT / "var" / "fuzz" / args.target
    seed_corpus(args.target, corpus)
    artifacts = args.artifacts
    artifacts.mkdir(parents=True, exist_ok=True)
    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={args.seconds}",
            "-max_len=65536",
            "-rss_limit_mb=2048",
            "-timeout=20",
            f"-artifact_prefix={artifacts}/crash-{args.target}-",
            *([f"-runs={args.runs}"] if args.runs else []),
            *([f"-seed={args.seed}"] if args.seed is not None else []),
            *libfuzzer_args,
            str(corpus),
        ],
        TARGETS[args.target],
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()

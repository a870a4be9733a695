import csv
import io

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from mdm.services.exports import golden_records_csv, golden_records_xlsx
from mdm.spreadsheet_safety import neutralise
from tests.builders import make_golden
from tests.mdm.api.conftest import client_with_token

TRIGGERS = "=+-@\t\r\0"
OWASP = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil","x")',
    "\t=1+1",
    "\r=1+1",
]
# A NUL cannot be stored (tests/mdm/api/test_nul_characters.py); other
# control characters can, and an .xlsx cell cannot hold them.
CONTROL = ["\x01=1+1", "\x0b@SUM(1+1)", "A\x02B"]


@settings(max_examples=10_000)  # RELIABILITY B5
@given(st.sampled_from(TRIGGERS), st.text())
def test_any_cell_starting_with_a_trigger_is_neutralised(first, rest):
    value = neutralise(first + rest)
    assert value.startswith("'")
    assert value[1:] == first + rest


@given(st.text().filter(lambda t: not t.startswith(tuple(TRIGGERS))))
def test_other_text_is_left_alone(text):
    assert neutralise(text) == text


@pytest.mark.django_db
def test_the_csv_export_has_a_bom_and_neutralised_cells():
    for index, payload in enumerate(OWASP):
        make_golden(payload, FNumber=f"X{index}")
    data = b"".join(golden_records_csv())
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    # Latin-only names land in english_name (column 3), others in legal_name.
    names = [row[1] or row[3] for row in rows[1:]]
    # Stored names have their whitespace collapsed ("\t=1+1" -> "=1+1").
    assert sorted(names) == sorted("'" + " ".join(p.split()) for p in OWASP)


@pytest.mark.django_db
def test_the_xlsx_export_has_no_formulas():
    make_golden("=1+1 北京", FNumber="X1")
    make_golden("北京华盛科技有限公司", FNumber="X2")
    for index, payload in enumerate(OWASP + CONTROL):
        make_golden(payload, FNumber=f"O{index}")
    sheet = load_workbook(io.BytesIO(golden_records_xlsx())).active
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert "'=1+1 北京" in values and "北京华盛科技有限公司" in values
    stored = {"'" + " ".join(p.split()) for p in OWASP}
    assert stored | {"'=1+1", "'@SUM(1+1)", "AB"} <= set(values)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


@pytest.mark.django_db
def test_the_xref_export_command_lists_every_source_record(tmp_path):
    golden = make_golden(FNumber="CUST-9")
    out = tmp_path / "xref.csv"
    call_command("export_xref", "--out", str(out))
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert rows == [
        ["source_system", "source_id", "golden_id", "linked_by", "active"],
        ["erp", "CUST-9", golden.golden_id, "new", "true"],
    ]


@pytest.mark.django_db
def test_the_export_api_needs_a_read_token(client):
    make_golden(FNumber="CUST-9")
    assert client.get("/api/v1/exports/cross-reference").status_code in {401, 403}
    api = client_with_token("bi", None, ["read"])
    response = api.get("/api/v1/exports/golden-records?as=xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('golden-records.xlsx"')
    csv_response = api.get("/api/v1/exports/cross-reference")
    assert b"".join(csv_response.streaming_content).startswith("\ufeff".encode())

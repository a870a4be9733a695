from __future__ import annotations

import codecs

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mdm.importing import ImportFileError, open_table
from tests.importing import files

ROWS = [
    ["客户名称", "联系人", "电话"],
    ["北京华盛科技有限公司", "张三", "13800138000"],
    ["𠮷野家(中国)餐饮有限公司", "吉田", "021-64381234"],
    ["Acme GmbH", "Müller", "+49 30 1234"],
]
TEXT = files.csv_text(ROWS)


def cells(content: bytes, **options: object) -> list[list[object]]:
    return [row.cells for row in open_table(content, **options).rows()]


def refusal(content: bytes, **options: object) -> ImportFileError:
    with pytest.raises(ImportFileError) as caught:
        list(open_table(content, **options).rows())
    assert caught.value.code == "bad_encoding"
    return caught.value


def test_the_fixture_has_a_four_byte_gb18030_character() -> None:
    assert len("𠮷".encode("gb18030")) == 4


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.replace("𠮷", "吉").replace("ü", "u").encode("gbk"), "gb18030"),
        (TEXT.encode("gb18030"), "gb18030"),
    ],
    ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "gbk", "gb18030"],
)
def test_it_decodes_each_supported_encoding_exactly(
    content: bytes, encoding: str
) -> None:
    table = open_table(content)
    assert table.encoding == encoding
    expected = [list(row) for row in ROWS]
    if "𠮷".encode(encoding) not in content:
        expected = [
            [cell.replace("𠮷", "吉").replace("ü", "u") for cell in row]
            for row in expected
        ]
    assert [row.cells for row in table.rows()] == expected


def test_an_explicit_encoding_overrides_detection() -> None:
    content = TEXT.encode("gb18030")
    assert cells(content, encoding="gb18030") == cells(content)
    assert open_table(content, encoding="GB18030").encoding == "gb18030"


def test_a_wrong_explicit_encoding_is_refused_with_its_line() -> None:
    error = refusal(TEXT.encode("gb18030"), encoding="utf-8")
    assert error.message.startswith("Line 1 ")


def test_an_unknown_explicit_encoding_is_refused() -> None:
    error = refusal(TEXT.encode(), encoding="klingon")
    assert "klingon" in error.message


def test_a_bad_byte_is_reported_with_its_line() -> None:
    content = b"name,phone\r\nacme,1\r\n\xff\xfe\xfd,2\r\n"
    error = refusal(content)
    assert error.message.startswith("Line 3 cannot be read as UTF-8 or GBK/GB18030")


def test_a_bad_byte_in_a_file_of_carriage_returns_gets_its_line() -> None:
    content = b"name,phone\racme,1\r\xff\xfe\xfd,2\r"  # Excel for the Mac
    error = refusal(content)
    assert error.message.startswith("Line 3 cannot be read as UTF-8 or GBK/GB18030")


def test_a_bad_byte_after_the_first_chunk_gets_the_right_line() -> None:
    lines = [f"客户{i},1380013{i:04d}\n".encode() for i in range(60_000)]
    lines[54_321] = b"bad\xff,1\n"
    error = refusal(b"".join(lines))
    assert error.message.startswith("Line 54322 ")


def test_a_bad_utf16_unit_is_reported_with_its_line() -> None:
    content = codecs.BOM_UTF16_LE + "a,b\nc,d\ne,f\n".encode("utf-16-le")
    content += b"\x00\xd8x\x00\n\x00"  # a lone high surrogate on line 4
    error = refusal(content)
    assert error.message.startswith("Line 4 cannot be read as UTF-16-LE")


def test_utf8_lines_then_a_gbk_line_are_refused_as_mixed() -> None:
    content = "名称,电话\n华盛,1\n".encode() + "东方,2\n".encode("gbk")
    error = refusal(content)
    assert error.message.startswith("Line 3 is not UTF-8 although line 1 is")


def test_gbk_lines_then_a_utf8_line_are_refused_as_mixed() -> None:
    content = "名称,电话\n华盛,1\n".encode("gbk") + "东方贸易,2\n".encode()
    error = refusal(content)
    assert error.message.startswith("Line 3 is UTF-8 while the rest")


def test_a_replacement_character_is_never_let_through() -> None:
    error = refusal("名称\n华\ufffd盛\n".encode())
    assert error.message.startswith("Line 2 contains the replacement character")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_read_as_utf16(codec: str) -> None:
    # SQL Server's bcp -w and some Java exports write no BOM.
    table = open_table(TEXT.encode(codec))
    assert (table.format, table.encoding) == ("csv", codec)
    assert [row.cells for row in table.rows()] == ROWS
    # Chosen on the form ("UTF-16") it reads the same.
    assert cells(TEXT.encode(codec), encoding="utf-16") == ROWS


def test_a_list_of_chinese_names_alone_in_utf16_without_a_bom_is_read() -> None:
    names = [["客户名称"], ["北京华盛科技有限公司"], ["上海东方贸易有限公司"]]
    assert cells(files.csv_text(names).encode("utf-16-le")) == names


def test_a_character_of_two_units_across_the_sample_end_is_no_obstacle() -> None:
    # The detection reads the first 4,096 bytes: 𠮷 (a surrogate pair) across.
    head = "客户名称,编号\n" + "华盛,1\n" * 330
    pad = (4094 - len(head.encode("utf-16-le"))) // 2
    content = (head + "华" * pad + "𠮷,2\n").encode("utf-16-le")
    assert content[4094:4098] == "𠮷".encode("utf-16-le")
    assert cells(content)[-1] == ["华" * pad + "𠮷", "2"]


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 8,
        b"".join(i.to_bytes(4, "little") for i in range(1024)),  # int32s
        b"".join((i % 300).to_bytes(2, "little") for i in range(2048)),  # int16s
        b"\x00\x00\x00\x01" * 512,
        "a,b\n".encode("utf-16-le").replace(b"\n\x00", b"\x07\x00") * 100,
    ],
    ids=["bytes", "int32", "int16", "zeros", "control-characters"],
)
def test_binary_data_with_nuls_is_not_taken_for_utf16(content: bytes) -> None:
    with pytest.raises(ImportFileError) as caught:
        open_table(content)
    assert caught.value.code == "not_a_spreadsheet"


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.lists(
            st.text(
                st.sampled_from("华盛科技有限公司北京上海abcXYZ0123 -.@（）〇一丁"),
                min_size=1,
                max_size=12,
            ),
            min_size=1,
            max_size=4,
        ),
        min_size=1,
        max_size=20,
    ),
    codec=st.sampled_from(["utf-16-le", "utf-16-be"]),
)
def test_any_table_in_utf16_without_a_bom_reads_back(rows, codec) -> None:
    # Cells of Chinese, Latin, digits and U+4E00 (一), whose low byte is NUL:
    # read as the same table in UTF-8 is.
    text = files.csv_text(rows)
    assume(text.strip())  # spaces only: an empty file, refused either way
    assert cells(text.encode(codec)) == cells(text.encode("utf-8"))


BIG5_ROWS = [
    ["客戶名稱", "聯絡人", "電話", "地址"],
    ["台灣華盛科技股份有限公司", "王大明", "02-2345-6789", "台北市信義區市府路1號"],
    ["香港東方貿易有限公司", "陳小華", "+852 2345 6789", "香港中環皇后大道中99號"],
]


def test_a_big5_csv_is_read_as_big5_not_as_gbk_nonsense() -> None:
    # Excel in Taiwan or Hong Kong saves CSV as cp950; every Big5 byte pair
    # is a GBK one, so GB18030 reads it without an error, as nonsense.
    content = files.csv_text(BIG5_ROWS).encode("cp950")
    content.decode("gb18030")  # no error: detection must look further
    table = open_table(content)
    assert table.encoding == "cp950"
    assert [row.cells for row in table.rows()] == BIG5_ROWS


def test_a_gbk_list_with_a_japanese_name_stays_gbk() -> None:
    rows = [*ROWS[:2], ["トヨタ自動車株式会社", "山田", "03-1234-5678"]]
    content = files.csv_text(rows).encode("gbk")
    table = open_table(content)
    assert table.encoding == "gb18030"
    assert [row.cells for row in table.rows()][2][0] == "トヨタ自動車株式会社"


def test_big5_can_be_chosen_too() -> None:
    content = files.csv_text(BIG5_ROWS).encode("cp950")
    assert cells(content, encoding="cp950") == BIG5_ROWS

from __future__ import annotations

import pytest

from mdm.importing import ImportFileError, RawRow, open_table
from mdm.importing.headers import (
    SYNONYMS,
    apply_saved_mapping,
    header_line_check,
    match_header,
    match_key,
    propose_mapping,
)
from tests.importing import files


def rows(*cells: list[object]) -> list[RawRow]:
    return [RawRow(number, list(row)) for number, row in enumerate(cells, start=1)]


@pytest.mark.parametrize(
    ("header", "field"),
    [(synonym, field) for field, synonyms in SYNONYMS.items() for synonym in synonyms],
)
def test_every_synonym_maps_exactly(header: str, field: str) -> None:
    assert match_header(header) == (field, 1.0)


@pytest.mark.parametrize(
    ("header", "field", "confidence"),
    [
        ("Customer Name:", "legal_name", 1.0),
        ("  客户名称：", "legal_name", 1.0),
        ("＊客户名称", "legal_name", 1.0),
        ("ＣＵＳＴＯＭＥＲ　ＮＡＭＥ", "legal_name", 1.0),
        ("e-MAIL", "emails", 1.0),
        ("VAT No.", "uscc", 1.0),
        ("联系电话(手机)", "phones", 0.9),
        ("联系电话（手机）", "phones", 0.9),
        ("注册地址【必填】", "address", 0.9),
        ("备用(手机)", "phones", 0.7),
        ("客户联系电话", "phones", 0.5),
        ("联系人电话", "phones", 0.5),
        ("Billing City", "city", 0.5),
        ("客户名称(英文)", "english_name", 1.0),
        ("客户英文名称", "english_name", 1.0),
        ("修改日期", "updated", 1.0),
        # What no field holds, though it holds a field's synonym.
        ("Billing Zip/Postal Code", None, 0.0),
        ("传真电话", None, 0.0),
        ("组织机构代码", None, 0.0),
        ("业务员电话", None, 0.0),
        ("序号", None, 0.0),
        ("No.", None, 0.0),
        ("备注", None, 0.0),
        ("注册资本(万元)", None, 0.0),
        ("", None, 0.0),
        # The customer by a word that names it only as the whole header.
        ("客户", "legal_name", 1.0),
        ("单位（必填）", "legal_name", 0.9),
        ("Customer", "legal_name", 1.0),
        ("客户经理", None, 0.0),
        ("客户类型", None, 0.0),
        ("上级客户", None, 0.0),
        ("Customer Type", None, 0.0),
        # Dates of something else than the record's creation.
        ("停用日期", None, 0.0),
        ("成立日期", None, 0.0),
        ("发展日期", "created", 0.5),
    ],
)
def test_it_tolerates_how_people_write_headers(
    header: str, field: str | None, confidence: float
) -> None:
    assert match_header(header) == (field, confidence)


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        (  # a Kingdee K/3 customer list exported to Excel
            ["客户编码", "客户名称", "简称", "英文名称", "税务登记号", "联系人",
             "联系电话", "传真", "通讯地址", "创建日期", "修改日期"],
            ["source_id", "legal_name", "short_name", "english_name", "uscc",
             "contact", "phones", None, "address", "created", "updated"],
        ),
        (  # a Salesforce account report
            ["Account ID", "Account Name", "Phone", "Billing Street",
             "Billing City", "Billing State/Province", "Billing Zip/Postal Code",
             "Website", "Created Date", "Last Modified Date"],
            ["source_id", "legal_name", "phones", "address", "city", "province",
             None, None, "created", "updated"],
        ),
        (  # a salesperson's sheet
            ["客户", "联系人", "手机", "客户类型", "客户经理", "停用日期", "备注"],
            ["legal_name", "contact", "phones", None, None, None, None],
        ),
        (  # Kingdee K/3 Cloud's export: its captions, "(单据头)" before each
            ["*单据头(序号)", "(单据头)编码", "*(单据头)名称", "(单据头)简称",
             "(单据头)纳税登记号", "(单据头)联系电话", "(单据头)通讯地址",
             "(单据头)社会统一信用代码"],
            [None, "source_id", "legal_name", "short_name", "uscc", "phones",
             "address", None],  # one column a single field: the first
        ),
        (  # 管家婆 and Kingdee KIS: 全名 / 简名; a foreign name
            ["编号", "全名", "简名", "外文名称", "纳税人登记号", "固定电话",
             "开户银行", "银行账号"],
            ["source_id", "legal_name", "short_name", "english_name", "uscc",
             "phones", None, None],
        ),
        (  # Chanjet T+'s 往来单位 (business partner) list
            ["往来单位编码", "往来单位名称", "往来单位简称", "税号", "联系人", "手机"],
            ["source_id", "legal_name", "short_name", "uscc", "contact", "phones"],
        ),
    ],
    ids=["kingdee", "salesforce", "sales-sheet", "kingdee-cloud", "guanjiapo",
         "chanjet"],
)  # fmt: skip
def test_real_exports_headers_are_proposed_as_their_fields(
    headers: list[str], fields: list[str | None]
) -> None:
    mapping = propose_mapping(rows(headers, ["x"] * len(headers)))
    assert [column.field for column in mapping.columns] == fields


def test_it_finds_the_header_below_titles_merged_cells_and_blank_rows() -> None:
    content = files.xlsx(
        [files.HEADERS + ["备注"], *files.CUSTOMERS],
        title="2019年客户名单",
        merge_title=True,
    )
    mapping = propose_mapping(open_table(content).rows())
    assert mapping.header_row == 3
    assert [(c.index, c.header, c.field) for c in mapping.columns] == [
        (0, "客户编号", "source_id"),
        (1, "客户名称", "legal_name"),
        (2, "联系电话", "phones"),
        (3, "邮箱", "emails"),
        (4, "录入日期", "created"),
        (5, "备注", None),
    ]


def test_several_columns_may_map_to_phones_but_one_to_each_single_field() -> None:
    mapping = propose_mapping(
        rows(["公司名称", "客户名称", "手机", "座机", "Tel"], ["华盛", "华盛", 1, 2, 3])
    )
    assert [(c.header, c.field) for c in mapping.columns] == [
        ("公司名称", "legal_name"),
        ("客户名称", None),
        ("手机", "phones"),
        ("座机", "phones"),
        ("Tel", "phones"),
    ]


def test_the_more_confident_column_keeps_a_single_field() -> None:
    mapping = propose_mapping(rows(["产品名称", "客户名称", "电话"]))
    fields = {c.header: c.field for c in mapping.columns}
    assert fields == {"产品名称": None, "客户名称": "legal_name", "电话": "phones"}


def test_it_falls_back_to_the_first_row_of_words() -> None:
    mapping = propose_mapping(
        rows(
            ["客户清单"],
            [2019, 2020, 2021],
            ["甲方", "乙方", "金额"],
            ["华盛", "东方", 1],
        )
    )
    assert mapping.header_row == 3
    assert all(column.field is None for column in mapping.columns)


def test_it_refuses_a_sheet_without_any_header() -> None:
    with pytest.raises(ImportFileError) as caught:
        propose_mapping(rows([1, 2, 3], [4, 5, 6]))
    assert caught.value.code == "no_header"


def test_a_saved_mapping_is_applied_as_is() -> None:
    saved = {"单位": "legal_name", "手机号码 ": "phones", "备注": None}
    mapping = apply_saved_mapping(
        rows(["导出"], ["单位", "手机号码", "备注", "新列"], ["华盛", "138", "", ""]),
        saved,
    )
    assert mapping.header_row == 2
    assert [(c.header, c.field, c.confidence) for c in mapping.columns] == [
        ("单位", "legal_name", 1.0),
        ("手机号码", "phones", 1.0),
        ("备注", None, 1.0),
        ("新列", None, 0.0),
    ]


def test_a_saved_mapping_that_matches_nothing_is_refused() -> None:
    with pytest.raises(ImportFileError) as caught:
        apply_saved_mapping(rows(["甲", "乙"]), {"客户名称": "legal_name"})
    assert caught.value.code == "mapping_mismatch"


def test_a_saved_mapping_with_an_unknown_field_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="nickname"):
        apply_saved_mapping(rows(["昵称"]), {"昵称": "nickname"})


TWO_LEVEL = rows(
    ["2023年客户台账"],
    ["序号", "客户名称", "联系方式", None, "地址"],
    [None, None, "电话", "邮箱", None],
    [1, "北京华盛科技有限公司", "13800138000", "a@hs.cn", "北京市海淀区"],
)


def test_a_second_row_of_names_under_a_merged_group_names_its_columns() -> None:
    mapping = propose_mapping(TWO_LEVEL)
    assert mapping.header_row == 3  # the data starts below both rows
    assert [(c.header, c.field) for c in mapping.columns] == [
        ("序号", None),
        ("客户名称", "legal_name"),
        ("电话", "phones"),
        ("邮箱", "emails"),
        ("地址", "address"),
    ]


def test_a_saved_mapping_finds_a_two_row_header_from_either_row() -> None:
    saved = {"客户名称": "legal_name", "电话": "phones", "邮箱": "emails"}
    for head in (TWO_LEVEL, TWO_LEVEL[2:3] + TWO_LEVEL):  # sub-row scored first
        mapping = apply_saved_mapping(head, saved)
        assert mapping.header_row == 3
        assert [c.field for c in mapping.columns] == [
            None,
            "legal_name",
            "phones",
            "emails",
            None,
        ]


@pytest.mark.parametrize(
    "below",
    [
        # data in words only, one of them containing a column name
        ["华盛电话设备有限公司", "王总", None],
        # column names, but the row above has nothing merged down over them
        ["电话", "邮箱", "备注"],
        # one word alone
        ["电话", None, None],
    ],
)
def test_a_row_below_the_header_is_data_unless_it_is_a_second_row_of_names(
    below: list[object],
) -> None:
    above = ["客户名称", "联系人", "备注"]
    mapping = propose_mapping(rows(above, below))
    assert mapping.header_row == 1
    assert [c.header for c in mapping.columns] == above


def test_repeated_column_names_are_numbered_so_each_column_keeps_its_own() -> None:
    mapping = propose_mapping(rows(["客户名称", "电话", "电话", "邮箱"]))
    assert [(c.header, c.field) for c in mapping.columns] == [
        ("客户名称", "legal_name"),
        ("电话", "phones"),
        ("电话 (2)", "phones"),
        ("邮箱", "emails"),
    ]


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("customer_code", "source_id"), ("cust_no", "source_id"),
        ("customer_name", "legal_name"), ("corp_name", "legal_name"),
        ("credit_code", "uscc"), ("taxNo", "uscc"), ("mobile", "phones"),
        ("addr", "address"), ("linkman", "contact"), ("create_time", "created"),
        ("createdAt", "created"), ("gmt_create", "created"),
        ("gmt_modified", "updated"), ("update_time", "updated"),
        ("remark", None), ("status", None),
    ],
)  # fmt: skip
def test_database_column_names_are_proposed_as_their_fields(
    key: str, field: str | None
) -> None:
    assert match_key(key)[0] == field


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("linkman.name", "contact"), ("contact.name", "contact"),
        ("contact.title", "contact_title"), ("linkman.phone", "phones"),
        ("address.city", "city"), ("address.province", "province"),
        ("addr.detail", "address"), ("company.name", "legal_name"),
        ("extra.remark", None),
    ],
)  # fmt: skip
def test_a_dotted_key_is_named_by_its_last_part_within_its_owner(
    key: str, field: str | None
) -> None:
    assert match_key(key)[0] == field


COLUMNS = [
    (0, "客户编号", "source_id"),
    (1, "客户名称", "legal_name"),
    (3, "电话", "phones"),
]


@pytest.mark.parametrize(
    ("cells", "name"),
    [
        (["客户编号", "客户名称", "备注", "电话"], "客户名称"),  # the header again
        (["Customer No.", "Customer Name", "Remark", "Phone"], "Customer Name"),
        (["编号", " 公司名称 ", None, "联系电话"], "公司名称"),  # synonyms
        (["必填", "*必填", "文本", "选填"], "*必填"),  # a template's notes
        (["Required", "Required", None, "Optional"], "Required"),
        (["L-9", "客户名称", None, "010-6552 1234"], None),  # one name alone
        (["客户编号", "北京华盛科技有限公司", None, "电话"], None),  # no name
        (["L-1", "北京华盛科技有限公司", None, "010-6552 1234"], None),
        ([1001, "Company", None, 13800138000], None),
        ([], None),
    ],
)
def test_column_names_below_the_header_are_told_from_data(cells, name) -> None:
    assert header_line_check(COLUMNS)(cells) == name


def test_a_name_column_headed_by_a_whole_header_word_is_told_too() -> None:
    check = header_line_check([(0, "客户", "legal_name"), (1, "手机", "phones")])
    assert check(["Customer", "Mobile"]) == "Customer"


def test_with_one_mapped_column_its_name_is_enough() -> None:
    check = header_line_check([(0, "单位", "legal_name")])
    assert check(["单位"]) == "单位"
    assert check(["Company Name"]) == "Company Name"
    assert check(["华盛"]) is None

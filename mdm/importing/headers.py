"""Find the header row of a legacy sheet and map its columns to ID-card fields.

Legacy customer lists start with titles ("2019年客户名单"), merged banners and
blank rows, and name their columns in Chinese or English with full-width
characters, colons and units ("联系电话(手机)", "Customer Name:"). The proposal
is for a person to confirm, so every column is listed, mapped or not, with a
confidence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

from mdm.importing import messages
from mdm.importing.errors import ImportFileError
from mdm.importing.readers import RawRow
from mdm.importing.values import clean_text

HEADER_SCAN_ROWS = 30
# A column name to the ID-card field it suggests and how sure that is, 0..1.
Matcher = Callable[[str], tuple[str | None, float]]
MULTI_VALUED = frozenset({"phones", "emails"})
NAME_COLUMN_FIELDS = frozenset({"legal_name", "short_name"})
# What an import template writes under its header about each column.
COLUMN_NOTES = (
    "必填", "选填", "非必填", "可选", "可选填", "可不填", "可为空", "可空", "不可为空",
    "必输", "非必输", "必须", "必需", "文本", "文本型", "文本格式", "数字", "数值",
    "日期", "字符", "字符串", "Required", "Optional", "Mandatory", "Text",
    "Number", "Date", "String",
)  # fmt: skip

SYNONYMS: dict[str, tuple[str, ...]] = {
    "legal_name": (
        "客户名称", "公司名称", "单位名称", "客户全称", "企业名称", "名称", "单位全称",
        "公司全称", "客户名", "往来单位", "往来单位名称", "购货单位", "客户单位",
        "Customer Name", "Company", "Company Name", "Account Name", "Name",
        "Organization", "Organisation", "Cust Name", "Client Name", "Corp Name",
        "Enterprise Name", "购买方名称", "购方名称", "发票抬头", "开票名称",
        # 管家婆 and Kingdee KIS: 全名 / 简名
        "全名", "客户全名", "单位全名",
    ),
    "short_name": (
        "简称", "客户简称", "公司简称", "单位简称", "简名", "往来单位简称",
        "Short Name",
    ),
    "english_name": (
        "英文名称", "英文名", "英文全称", "英文客户名称", "客户英文名称",
        "公司英文名称", "客户名称(英文)", "公司名称(英文)", "外文名称", "外文名",
        "English Name",
    ),
    "uscc": (
        "税号", "纳税人识别号", "统一社会信用代码", "信用代码", "社会信用代码",
        "纳税识别号", "税务登记号", "税务登记证号", "营业执照号", "营业执照号码",
        # Kingdee K/3 Cloud's 纳税登记号, Yonyou NC's 纳税人登记号
        "纳税登记号", "纳税人登记号", "社会统一信用代码", "统一信用代码",
        "Tax ID", "USCC", "VAT No", "Tax Number", "Tax No", "Taxpayer ID",
        "Credit Code", "Social Credit Code", "Tax Code",
    ),
    "phones": (
        "手机", "电话", "联系电话", "手机号", "手机号码", "电话号码", "固话", "座机",
        "联系方式", "移动电话", "联系手机", "办公电话", "公司电话", "固定电话", "Tel",
        "Telephone",
        "Phone", "Phone Number", "Mobile", "Mobile Phone", "Cell",
    ),
    "emails": (
        "邮箱", "电子邮箱", "邮件", "电子邮件", "邮箱地址", "Email", "E-mail",
        "Email Address",
    ),
    "address": (
        "地址", "公司地址", "注册地址", "详细地址", "通讯地址", "办公地址", "经营地址",
        "Address", "Street", "Addr",
    ),
    "province": ("省", "省份", "Province", "State"),
    "city": ("市", "城市", "City"),
    "district": ("区", "区县", "District", "County"),
    "contact": (
        "联系人", "联系人姓名", "对接人", "Contact", "Contact Person", "Contact Name",
        "Linkman", "Link Man",
    ),
    "contact_title": ("职务", "职位", "Title", "Job Title", "Position"),
    "industry": ("行业", "所属行业", "Industry"),
    "customer_level": ("客户等级", "等级", "级别", "Level"),
    "source_id": (
        "编号", "客户编号", "客户代码", "客户编码", "编码", "代码", "客户号", "客户ID",
        "往来单位编码", "往来单位编号", "单位编码", "单位代码",
        "ID", "Customer ID", "Code", "Customer Code", "Customer No", "Account ID",
        "Account Number", "Cust No", "Cust Code", "Customer Number", "Client ID",
        "Client Code",
    ),
    "created": (
        "录入日期", "创建日期", "日期", "录入时间", "创建时间", "建档日期", "建档时间",
        "Created", "Created Date", "Created On", "Creation Date", "Create Date",
        # database columns (create_time, created_at, gmt_create)
        "Create Time", "Created Time", "Created At", "Creation Time", "Gmt Create",
    ),
    "updated": (
        "修改日期", "修改时间", "更新日期", "更新时间", "最后修改时间", "最后修改日期",
        "Updated", "Last Modified", "Last Modified Date", "Modified", "Modified Date",
        "Update Time", "Updated Time", "Updated At", "Modify Time", "Modified At",
        "Modified Time", "Gmt Modified", "Last Update", "Last Updated",
    ),
}  # fmt: skip
# Headers of what no field holds, which hold a field's synonym: "Billing
# Zip/Postal Code" or 组织机构代码 is no customer ID, 传真电话 or the
# salesperson's 业务员电话 no customer phone, 序号 only the row's place in
# the sheet (a key would change when the sheet is sorted).
UNMAPPED: tuple[str, ...] = (
    "邮编", "邮政编码", "Postal Code", "Zip", "Zip Code", "Postcode",
    "传真", "传真号码", "传真电话", "Fax", "Fax Number", "序号", "行号", "No",
    "组织机构代码", "机构代码", "行政区划代码", "业务员电话", "业务员手机",
    # dates that are not when the record was created: 停用日期 is no 日期
    "停用日期", "作废日期", "注销日期", "冻结日期", "失效日期", "到期日期",
    "成立日期", "注册日期", "出生日期", "生日",
)  # fmt: skip
# Headers that name a field only as the whole header: 客户 alone is the
# customer's name, but inside 客户经理 or 客户类型 it is not.
WHOLE_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "legal_name": ("客户", "单位", "公司", "企业", "Customer", "Client"),
}

# Confidence of each way a header can match a synonym.
EXACT, WITHOUT_BRACKETS, IN_BRACKETS, CONTAINED = 1.0, 0.9, 0.7, 0.5
# Containment needs a synonym long enough not to match by accident: "区" or
# "id" are inside far too many unrelated headers.
_MIN_CONTAINED_CJK, _MIN_CONTAINED_LATIN = 2, 4

_BRACKETED = re.compile(r"\(([^)]*)\)|\[([^\]]*)\]|【([^】]*)】|〔([^〕]*)〕|<([^>]*)>")


def header_key(text: str) -> str:
    """The comparison form of a header: NFKC, case-folded, letters and digits only."""
    return "".join(char for char in clean_text(text).casefold() if char.isalnum())


# Each synonym's comparison form and its field ("" for UNMAPPED).
_BY_KEY: dict[str, str] = {
    **dict.fromkeys(map(header_key, UNMAPPED), ""),
    **{
        header_key(synonym): field
        for field, synonyms in SYNONYMS.items()
        for synonym in synonyms
    },
}
_WHOLE_BY_KEY: dict[str, str] = {
    header_key(synonym): field
    for field, synonyms in WHOLE_HEADER_SYNONYMS.items()
    for synonym in synonyms
}


@dataclass(frozen=True)
class ColumnMapping:
    """One column of the header row and the field it is proposed for."""

    index: int
    header: str
    field: str | None
    confidence: float


@dataclass(frozen=True)
class ProposedMapping:
    """Which row holds the headers (1-based) and how each column maps."""

    header_row: int
    columns: list[ColumnMapping]


def match_header(text: str) -> tuple[str | None, float]:
    """The field a header names, and how sure the match is (0 if none)."""
    cleaned = clean_text(text)
    base = _BRACKETED.sub("", cleaned)
    tries = [(cleaned, EXACT), (base, WITHOUT_BRACKETS)]
    tries += [("".join(groups), IN_BRACKETS) for groups in _BRACKETED.findall(cleaned)]
    for candidate, confidence in tries:
        key = header_key(candidate)
        if (field := _BY_KEY.get(key, _WHOLE_BY_KEY.get(key))) is not None:
            return (field, confidence) if field else (None, 0.0)
    field = _contained_field(header_key(base))
    return (field, CONTAINED) if field else (None, 0.0)


def match_key(key: str) -> tuple[str | None, float]:
    """`match_header` for a JSON record's dotted key: the last part names
    the field ("address.city" is the city), but under a contact the name is
    the contact's ("linkman.name"); a last part that names nothing falls
    back to the whole key ("addr.detail" is the address)."""
    parent, _, leaf = key.rpartition(".")
    field, confidence = match_header(leaf) if parent else (None, 0.0)
    if not field:
        return match_header(key)
    owner, _ = match_header(parent.rpartition(".")[2])
    if owner == "contact" and field == "legal_name":
        return "contact", confidence
    return field, confidence


def _contained_field(key: str) -> str | None:
    """The synonym inside `key` that ends last (the head noun), longest first.

    In "客户联系电话" or "companyphone" the last word says what the column is.
    """
    best: tuple[int, int, str] | None = None
    for synonym, field in _BY_KEY.items():
        shortest = _MIN_CONTAINED_LATIN if synonym.isascii() else _MIN_CONTAINED_CJK
        if len(synonym) < shortest or synonym == key:
            continue
        position = key.rfind(synonym)
        if position >= 0:
            candidate = (position + len(synonym), len(synonym), field)
            best = max(best, candidate) if best else candidate
    return best[2] if best else None


def propose_mapping(rows: Iterable[RawRow]) -> ProposedMapping:
    """Find the header row among the first rows and map its columns.

    Only the first `HEADER_SCAN_ROWS` non-blank rows are read. A single-valued
    field claimed by several columns goes to the most confident one; phones
    and emails may come from several columns.

    Raises:
        ImportFileError: `no_header` when no row looks like a header.
    """
    head = list(islice(rows, HEADER_SCAN_ROWS))
    header = _best_header_row(head) or _first_text_row(head)
    if header is None:
        raise ImportFileError("no_header", messages.NO_HEADER, rows=HEADER_SCAN_ROWS)
    number, texts = _header_of(head, header)
    return propose_columns(texts, header_row=number)


def propose_columns(
    names: list[str],
    *,
    header_row: int,
    match: Matcher = match_header,
) -> ProposedMapping:
    """Map columns whose names are known (a header row found, or the keys
    of JSON records with `match_key`), as `propose_mapping` does."""
    columns = [
        ColumnMapping(index, name, *match(name)) for index, name in enumerate(names)
    ]
    return ProposedMapping(header_row, _keep_best_per_field(columns))


def apply_saved_mapping(
    rows: Iterable[RawRow], saved: Mapping[str, str | None]
) -> ProposedMapping:
    """Apply a saved profile (header text -> field, None to ignore) as it is.

    The header row is the one among the first rows that contains the most of
    the profile's headers; headers are compared in `header_key` form.

    Raises:
        ValueError: the profile names a field that does not exist.
        ImportFileError: `mapping_mismatch` when no row has any saved header.
    """
    unknown = {field for field in saved.values() if field and field not in SYNONYMS}
    if unknown:
        raise ValueError(f"unknown ID-card fields in the mapping: {sorted(unknown)}")
    by_key = {header_key(header): field for header, field in saved.items()}
    head = list(islice(rows, HEADER_SCAN_ROWS))
    scored = [
        (sum(header_key(text) in by_key for text in _header_of(head, row)[1]), row)
        for row in head
    ]
    best_score, header = max(scored, key=lambda pair: pair[0], default=(0, None))
    if header is None or best_score == 0:
        raise ImportFileError(
            "mapping_mismatch", messages.MAPPING_MISMATCH, rows=HEADER_SCAN_ROWS
        )
    number, texts = _header_of(head, header)
    columns = []
    for index, text in enumerate(texts):
        key = header_key(text)
        known = key in by_key
        columns.append(
            ColumnMapping(index, text, by_key.get(key), 1.0 if known else 0.0)
        )
    return ProposedMapping(number, columns)


def header_line_check(
    columns: Sequence[tuple[int, str, str]],
) -> Callable[[Sequence[object]], str | None]:
    """For a sheet's mapped columns (index, header, field), a check of
    whether a row below the header is about the columns, not data: the header
    repeated (a report's page breaks, monthly files joined one after the
    other) or a second header row in another language ("Customer Name"
    under 客户名称), or an import template's notes on its columns (必填,
    选填: `COLUMN_NOTES`). Such a row holds, in two of the mapped columns at
    least (in the one there is), a column's own header, a synonym of its
    field or a note, the name column's among them; the check gives that
    name, or None."""
    notes = set(map(header_key, COLUMN_NOTES))
    names = [
        (
            index,
            field,
            {
                header_key(header),
                *map(header_key, SYNONYMS.get(field, ())),
                *map(header_key, WHOLE_HEADER_SYNONYMS.get(field, ())),
                *notes,
            },
        )
        for index, header, field in columns
    ]
    name_columns = [
        (i, keys) for i, field, keys in names if field in NAME_COLUMN_FIELDS
    ]
    needed = min(2, len(columns))

    def named(cells: Sequence[object], index: int, keys: set[str]) -> bool:
        cell = cells[index] if index < len(cells) else None
        return isinstance(cell, str) and header_key(cell) in keys

    def check(cells: Sequence[object]) -> str | None:
        for index, keys in name_columns:  # most rows end here, at their name
            if named(cells, index, keys):
                break
        else:
            return None
        if sum(named(cells, i, keys) for i, _, keys in names) < needed:
            return None
        return clean_text(str(cells[index]))

    return check


def _header_of(head: list[RawRow], row: RawRow) -> tuple[int, list[str]]:
    """The column names of a header that `row` is part of, and the number of
    its last row.

    Chinese sheets often head a group of columns with a merged cell over a
    second row of names (联系方式 over 电话 | 邮箱, the other names merged down
    across both rows): the columns under the group take their own names,
    and the data starts below the second row. Names that repeat are
    numbered (电话, 电话 (2)) so that every column keeps its own.
    """
    at = head.index(row)
    before = head[at - 1] if at else None
    after = head[at + 1] if at + 1 < len(head) else None
    if after is not None and _is_subheader(row, after):
        first, second = row, after
    elif before is not None and _is_subheader(before, row):
        first, second = before, row
    else:
        return row.number, _numbered(_texts(row))
    top, sub = _texts(first), _texts(second)
    width = max(len(top), len(sub))
    top += [""] * (width - len(top))
    sub += [""] * (width - len(sub))
    names = [low or high for high, low in zip(top, sub, strict=True)]
    return second.number, _numbered(names)


def _is_subheader(top: RawRow, sub: RawRow) -> bool:
    """Whether `sub`, right below `top`, is a second row of column names:
    two words or more and nothing else, at least half of them names known
    as they stand (not merely containing one: 华盛电话设备有限公司 is data),
    and under at least one of `top`'s names nothing (a name merged down
    across both rows)."""
    if sub.number != top.number + 1:
        return False
    texts = _texts(sub)
    filled = [i for i, text in enumerate(texts) if text]
    if len(filled) < 2 or any(
        not isinstance(sub.cells[i], str) or not _is_word(texts[i]) for i in filled
    ):
        return False
    known = sum(match_header(texts[i])[1] >= WITHOUT_BRACKETS for i in filled)
    merged_down = any(
        text and (i >= len(texts) or not texts[i]) for i, text in enumerate(_texts(top))
    )
    return 2 * known >= len(filled) and merged_down


def _texts(row: RawRow) -> list[str]:
    return ["" if cell is None else clean_text(str(cell)) for cell in row.cells]


def _numbered(texts: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    numbered = []
    for text in texts:
        seen[text] += 1
        numbered.append(f"{text} ({seen[text]})" if text and seen[text] > 1 else text)
    return numbered


def _best_header_row(rows: list[RawRow]) -> RawRow | None:
    best: tuple[float, RawRow] | None = None
    for row in rows:
        fields: dict[str, float] = {}
        for text in _texts(row):
            field, confidence = match_header(text) if text else (None, 0.0)
            if field:
                fields[field] = max(fields.get(field, 0.0), confidence)
        score = sum(fields.values())
        if score >= 2 * IN_BRACKETS and (best is None or score > best[0]):
            best = (score, row)
    return best[1] if best else None


def _first_text_row(rows: list[RawRow]) -> RawRow | None:
    for row in rows:
        filled = [cell for cell in row.cells if cell is not None]
        texts = [cell for cell in filled if isinstance(cell, str) and _is_word(cell)]
        if len(texts) >= 2 and len(texts) * 2 > len(filled):
            return row
    return None


def _is_word(text: str) -> bool:
    return not re.fullmatch(r"[\d\s.,:/+-]*", clean_text(text))


def _keep_best_per_field(columns: list[ColumnMapping]) -> list[ColumnMapping]:
    best: dict[str, ColumnMapping] = {}
    for column in columns:
        if column.field and column.field not in MULTI_VALUED:
            current = best.get(column.field)
            if current is None or column.confidence > current.confidence:
                best[column.field] = column
    return [
        column
        if column.field is None
        or column.field in MULTI_VALUED
        or best[column.field] is column
        else ColumnMapping(column.index, column.header, None, 0.0)
        for column in columns
    ]

"""Rows of a legacy sheet that are not customers: a totals line (合计,
小计, Subtotal), a sign-off line (制表人：张三, 审核：李四) below the data, or
a template's note (填表说明：带*为必填项, 示例：, Note:) among them.

Imported as they stand, "合计 | 3家" would become a customer named 3家. The
importer rejects such a row with its own reason, so the error report shows
it and nothing is lost silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mdm.importing.values import clean_text

# The whole first cell (spaces removed), maybe followed by a colon or a
# number: 合计, 合 计, 合计：, 总计12家; not 合计科技有限公司. English only in
# forms no company is named (TOTAL is one).
_TOTALS_RE = re.compile(
    r"^(?:合计|总计|小计|共计|累计|subtotal|grandtotal)(?:[:：\d].*)?$|^total[:：]",
    re.IGNORECASE,
)
_SIGN_OFF_RE = re.compile(
    r"^(?:制表|填表|审核|审批|复核|编制|制单|打印)(?:人|日期|时间)?[:：]"
)
# An import template's instructions or example, labelled in its first cell.
_NOTE_RE = re.compile(
    r"^(?:填表说明|填写说明|导入说明|说明|注意事项|注意|注|温馨提示|提示|示例|样例|举例|例如|例)"
    r"\d*[:：]|^(?:示例|样例|填表说明|填写说明)$|^(?:notes?|example|e\.g\.)[:：]",
    re.IGNORECASE,
)


def summary_row_label(cells: Sequence[object]) -> str | None:
    """The first cell's text when the row is a totals or sign-off line."""
    first = next(
        (
            text
            for cell in cells
            if cell is not None and (text := clean_text(str(cell)))
        ),
        None,
    )
    if first is None:
        return None
    key = "".join(first.split())
    lines = (_TOTALS_RE, _SIGN_OFF_RE, _NOTE_RE)
    return first if any(line.match(key) for line in lines) else None

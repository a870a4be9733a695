import pytest

from mdm.importing.summary_rows import summary_row_label


@pytest.mark.parametrize(
    ("cells", "label"),
    [
        (["合计", "3家"], "合计"),
        (["合 计", None], "合 计"),
        ([None, "小计：12"], "小计:12"),
        (["总计15家"], "总计15家"),
        (["制表人：张三", None], "制表人:张三"),
        (["审核: 李四"], "审核: 李四"),
        (["制表日期：2023-01-01"], "制表日期:2023-01-01"),
        (["Subtotal", 3], "Subtotal"),
        (["Grand Total"], "Grand Total"),
        (["Total: 3 customers"], "Total: 3 customers"),
        (["填表说明：带*为必填项"], "填表说明:带*为必填项"),
        (["注1：税号为18位统一社会信用代码"], "注1:税号为18位统一社会信用代码"),
        (["示例", "北京示例科技有限公司", "010-1"], "示例"),
        (["例如：北京华盛科技有限公司"], "例如:北京华盛科技有限公司"),
        (["Note: dates as 2021-03-05"], "Note: dates as 2021-03-05"),
    ],
)
def test_totals_sign_off_and_note_lines_are_recognised(cells, label) -> None:
    assert summary_row_label(cells) == label


@pytest.mark.parametrize(
    "cells",
    [
        ["合计科技有限公司"],  # a company whose name starts like a total
        ["TOTAL", "91310000MA1FL4XX92"],  # a company named Total
        [1, "北京华盛科技有限公司"],
        ["制表"],
        ["注册号：110108000000000", "北京华盛科技有限公司"],
        ["示例科技有限公司"],
        ["Example Trading Ltd."],
        [None, None],
        [],
    ],
)
def test_customers_and_empty_rows_are_not_summary_lines(cells) -> None:
    assert summary_row_label(cells) is None

import pytest

from matching.standardise.person_names import PersonName, person_name


@pytest.mark.parametrize(
    ("raw", "honorific"),
    [
        ("王总", "总"),
        ("王老板", "老板"),
        ("王经理", "经理"),
        ("王先生", "先生"),
        ("王女士", "女士"),
        ("王工", "工"),
        ("老王", "老"),
        ("小王", "小"),
    ],
)
def test_a_surname_with_an_honorific(raw, honorific):
    assert person_name(raw) == PersonName(None, "王", honorific)


def test_a_full_name():
    assert person_name("王建国") == PersonName("王建国", "王", None)
    assert person_name("王 建国") == PersonName("王建国", "王", None)


@pytest.mark.parametrize("raw", ["欧阳修", "司马光", "上官婉儿", "诸葛亮"])
def test_compound_surnames(raw):
    assert person_name(raw).surname == raw[:2]


def test_a_full_name_with_a_title():
    assert person_name("王建国先生") == PersonName("王建国", "王", "先生")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("“王经理”", PersonName(None, "王", "经理")),
        ("'王建国", PersonName("王建国", "王", None)),
        ("王建国（财务）", PersonName("王建国", "王", None)),
        ("(采购)王建国", PersonName("王建国", "王", None)),
        ("王总(13800138000)", PersonName(None, "王", "总")),
        ("王总13800138000", PersonName(None, "王", "总")),
        ("138-0013-8000 王建国", PersonName("王建国", "王", None)),
        ("+86 13800138000王建国", PersonName("王建国", "王", None)),
    ],
)
def test_quotes_notes_and_numbers_beside_a_name_are_left_out(raw, expected):
    assert person_name(raw) == expected


def test_the_first_of_several_names():
    assert person_name("王建国/李四").full == "王建国"
    assert person_name("王建国 李四").full == "王建国"


@pytest.mark.parametrize(
    "raw",
    ["Wang Jianguo", "Jianguo Wang", "WANG Jianguo", "Wang, Jianguo", "Jian Guo WANG"],
)
def test_latin_names_in_either_order(raw):
    assert person_name(raw) == PersonName("wang jianguo", "wang", None)


def test_latin_titles():
    assert person_name("Mr. Wang") == PersonName(None, "wang", "mr")


@pytest.mark.parametrize("raw", [None, "", "  ", "财务", "采购部"])
def test_empty_values_and_roles_give_none(raw):
    assert person_name(raw) is None

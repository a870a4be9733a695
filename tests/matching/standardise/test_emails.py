import pytest

from matching.standardise.emails import Email, email


def test_it_lower_cases_and_trims():
    assert email("  Wang@HuaSheng.com.cn ") == Email(
        "wang@huasheng.com.cn", "wang", "huasheng.com.cn", False
    )


@pytest.mark.parametrize(
    "raw",
    [
        "mailto:wang@qq.com",
        "ｗａｎｇ＠ｑｑ．ｃｏｍ",
        "wang@qq。com",
        "王建国 <wang@qq.com>",
        "wang@qq.com; li@163.com",
        "WANG@QQ.COM.",
        "“wang@qq.com”",
        '"王建国" <wang@qq.com>',
    ],
)
def test_messy_spellings(raw):
    assert email(raw) == Email("wang@qq.com", "wang", "qq.com", True)


@pytest.mark.parametrize(
    "domain", ["163.com", "126.com", "gmail.com", "foxmail.com", "139.com"]
)
def test_free_providers(domain):
    assert email(f"a@{domain}").is_free_provider


@pytest.mark.parametrize(
    "raw",
    [None, "", "not an email", "wang@", "@qq.com", "wang@qq", "wang@@qq.com", "a b@qq"],
)
def test_values_without_an_email_shape_give_none(raw):
    assert email(raw) is None


def test_an_apostrophe_in_the_local_part_stays():
    assert email("John.O'Brien@x.com").address == "john.o'brien@x.com"

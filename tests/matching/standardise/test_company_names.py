import pytest

from matching.standardise import company_name
from matching.standardise.industries import HAN_INDUSTRY, LATIN_INDUSTRY


def parts(raw):
    c = company_name(raw)
    return c.core, c.brand, c.industry_terms, c.legal_form, c.region


def test_it_strips_region_prefix_and_legal_form():
    c = company_name("北京华盛科技有限公司")
    assert (c.core, c.brand, c.industry_terms) == ("华盛科技", "华盛", ("technology",))
    assert (c.legal_form, c.region, c.province, c.city) == (
        "有限公司",
        "北京",
        "北京",
        "北京",
    )
    assert (c.pinyin, c.latin_key, c.script) == (
        "huashengkeji",
        "huasheng technology",
        "han",
    )
    assert c.tokens == ("华盛", "technology")
    assert c.normalised == "北京华盛科技有限公司"
    assert not c.is_branch and c.branch is None


def test_same_brand_in_two_cities_has_the_same_core_and_different_regions():
    a, b = company_name("北京华盛科技有限公司"), company_name("上海华盛科技有限公司")
    assert a.core == b.core == "华盛科技"
    assert (a.region, b.region) == ("北京", "上海")


def test_a_bracketed_region_is_the_same_as_a_prefix():
    a, b = company_name("华盛科技(北京)有限公司"), company_name("北京华盛科技有限公司")
    assert (a.core, a.region) == (b.core, b.region) == ("华盛科技", "北京")
    assert company_name("华盛科技（北京）有限公司").region == "北京"
    assert company_name("华盛科技【深圳】有限公司").province == "广东"


def test_a_branch_is_visible_and_keeps_the_head_office_core():
    c = company_name("北京华盛科技有限公司上海分公司")
    assert (c.core, c.region, c.branch, c.is_branch) == (
        "华盛科技",
        "北京",
        "上海分公司",
        True,
    )


@pytest.mark.parametrize(
    ("raw", "branch"),
    [
        ("华盛科技有限公司华南分部", "华南分部"),
        ("华盛科技有限公司(上海分公司)", "上海分公司"),
        ("华盛科技驻上海办事处", "驻上海办事处"),
        ("招商银行深圳南山支行", "深圳南山支行"),
        ("中国工商银行股份有限公司北京市分行", "北京市分行"),
        ("永辉超市(五一路店)", "五一路店"),
    ],
)
def test_branch_forms(raw, branch):
    c = company_name(raw)
    assert (c.branch, c.is_branch) == (branch, True)


def test_english_and_chinese_names_share_a_latin_key():
    en = company_name("Beijing Huasheng Technology Co., Ltd.")
    cn = company_name("北京华盛科技有限公司")
    assert en.latin_key == cn.latin_key == "huasheng technology"
    assert (en.region, en.legal_form, en.script) == ("北京", "ltd", "latin")
    assert en.tokens == ("huasheng", "technology")


@pytest.mark.parametrize(
    "raw",
    [
        "Huasheng Technology (Beijing) Co.,Ltd",
        "BEIJING HUASHENG TECHNOLOGY COMPANY LIMITED",
        "Beijing Huasheng Science and Technology Co., Ltd.",
        "Beijing Hua Sheng Tech Co., Ltd",
        "Huasheng Technology Co., Ltd. Beijing Branch",
    ],
)
def test_english_spellings_give_the_same_key(raw):
    assert company_name(raw).latin_key == "huasheng technology"


def test_an_english_branch():
    c = company_name("Huasheng Technology Co., Ltd. Shanghai Branch")
    assert (c.branch, c.is_branch, c.legal_form) == ("shanghai branch", True, "ltd")


def test_traditional_characters_are_simplified():
    assert company_name("華盛科技").core == "华盛科技"
    assert company_name("北京華盛科技有限公司").latin_key == "huasheng technology"


def test_full_width_letters_and_stray_spaces():
    assert company_name("ＨＵＡＳＨＥＮＧ").normalised == "huasheng"
    assert company_name("北京 华盛 科技 有限公司").normalised == "北京华盛科技有限公司"
    assert company_name(" 北京华盛科技有限公司 ").core == "华盛科技"


def test_short_names():
    assert parts("华盛科技") == ("华盛科技", "华盛", ("technology",), None, None)
    assert parts("华盛") == ("华盛", "华盛", (), None, None)


@pytest.mark.parametrize(
    ("raw", "legal_form"),
    [
        ("华盛科技有限公司", "有限公司"),
        ("华盛科技有限责任公司", "有限责任公司"),
        ("华盛科技股份有限公司", "股份有限公司"),
        ("华盛集团有限公司", "集团"),
        ("华盛集团股份有限公司", "集团"),
        ("华盛(集团)有限公司", "集团"),
        ("华盛集团", "集团"),
        ("华盛投资中心(有限合伙)", "有限合伙"),
        ("华盛电子厂", "厂"),
        ("华盛五金店", "店"),
        ("华盛设计工作室", "工作室"),
        ("华盛贸易经营部", "经营部"),
        ("华盛服装(个体工商户)", "个体工商户"),
        ("华盛个体", "个体工商户"),
    ],
)
def test_legal_forms(raw, legal_form):
    c = company_name(raw)
    assert (c.legal_form, c.brand) == (legal_form, "华盛")


def test_a_hotel_is_not_a_shop():
    assert parts("华盛酒店") == ("华盛酒店", "华盛", ("hotel",), None, None)


@pytest.mark.parametrize(
    ("raw", "region", "province", "city"),
    [
        ("北京市华盛科技有限公司", "北京", "北京", "北京"),
        ("广东省深圳市华盛科技有限公司", "深圳", "广东", "深圳"),
        ("深圳市南山区华盛科技有限公司", "南山区", "广东", "深圳"),
        ("上海浦东新区华盛科技有限公司", "浦东新区", "上海", "上海"),
        ("广东华盛科技有限公司", "广东", "广东", None),
        ("江苏省昆山市华盛科技有限公司", "昆山", "江苏", "苏州"),
        ("恩施州华盛科技有限公司", "恩施", "湖北", "恩施"),
    ],
)
def test_region_prefixes(raw, region, province, city):
    c = company_name(raw)
    assert (c.core, c.region, c.province, c.city) == (
        "华盛科技",
        region,
        province,
        city,
    )


def test_a_region_that_is_the_whole_name_is_kept():
    assert company_name("中国银行").core == "中国银行"
    assert company_name("北京银行").core == "北京银行"
    assert company_name("上海电气").core == "上海电气"
    assert company_name("北京").core == "北京"


def test_a_suffixless_region_that_would_leave_one_character_is_kept():
    assert company_name("长春藤教育").core == "长春藤教育"


def test_industry_words_split_off_the_brand():
    c = company_name("阿里巴巴(中国)网络技术有限公司")
    assert (c.core, c.brand, c.industry_terms) == (
        "阿里巴巴网络技术",
        "阿里巴巴",
        ("network", "technology"),
    )
    assert c.latin_key == "alibaba network technology"
    assert company_name("华盛信息技术有限公司").industry_terms == (
        "information technology",
    )
    assert company_name("华盛商贸有限公司").industry_terms == ("trading",)
    assert company_name("华盛实业有限公司").industry_terms == ("industrial",)


def test_a_country_name_stays_in_the_brand():
    assert company_name("中国建设银行").brand == "中国建设"


def test_an_annotation_after_the_legal_form_is_dropped():
    c = company_name("北京华盛科技有限公司(原北京华盛电子有限公司)")
    assert (c.core, c.legal_form, c.branch) == ("华盛科技", "有限公司", None)


def test_mixed_script_names():
    c = company_name("ABB(中国)有限公司")
    assert (c.core, c.legal_form, c.script, c.latin_key) == (
        "abb",
        "有限公司",
        "mixed",
        "abb",
    )


def test_latin_names_drop_region_and_legal_form_and_canonicalise_industry():
    c = company_name("Shenzhen Huasheng Tech Co.,Ltd")
    assert (c.core, c.brand, c.latin_key) == (
        "huasheng tech",
        "huasheng",
        "huasheng technology",
    )
    assert (c.region, c.province) == ("深圳", "广东")
    assert company_name("Shanghai Electric").latin_key == "shanghai electric"
    assert company_name("Huasheng GmbH").legal_form == "gmbh"
    assert company_name("Huasheng Group Co., Ltd.").legal_form == "group"


@pytest.mark.parametrize(
    ("han", "latin"),
    [
        (
            "成都欧谐供应链管理有限公司",
            "Chengdu Ouxie Supply Chain Management Co.,Ltd.",
        ),
        (
            "北京华盛文化传播有限公司",
            "Beijing Huasheng Culture Communication Co., Ltd.",
        ),
        ("海口惠维智能科技有限公司", "HUIWEI SMART TECH"),
        ("常州霞凯信息技术有限公司", "XIAKAI IT"),
    ],
)
def test_a_chinese_name_and_its_english_name_give_the_same_terms(han, latin):
    cn, en = company_name(han), company_name(latin)
    assert cn.industry_terms == en.industry_terms
    assert cn.latin_key == en.latin_key


def test_every_chinese_industry_term_has_an_english_spelling():
    assert set(HAN_INDUSTRY.values()) <= set(LATIN_INDUSTRY.values())


@pytest.mark.parametrize("raw", [None, "", "   ", "123", "——", "有限公司", "Co., Ltd."])
def test_values_without_a_name_give_none(raw):
    assert company_name(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "＂杭州西湖茶业有限公司＂",  # a whole name quoted by an export
        "“杭州西湖茶业有限公司”",
        "《杭州西湖茶业有限公司》",
        "「杭州西湖茶业有限公司」",
        "'杭州西湖茶业有限公司",  # Excel's text prefix, kept by some exports
        "杭州“西湖”茶业有限公司",  # the brand quoted
        "*杭州西湖茶业有限公司",
        "杭州西湖茶业有限公司。",
        "杭州西湖茶业有限公司、",
        "杭州西湖茶业有限公司?",
    ],
)
def test_quotation_marks_and_stray_marks_do_not_change_a_chinese_name(raw):
    c = company_name(raw)
    assert (c.core, c.region, c.legal_form, c.latin_key, c.normalised) == (
        "西湖茶业",
        "杭州",
        "有限公司",
        "xihuchaye",
        "杭州西湖茶业有限公司",
    )


def test_brackets_at_either_end_are_kept():
    assert company_name("(北京)华盛科技").region == "北京"
    assert company_name("华盛科技有限公司(上海分公司)").branch == "上海分公司"

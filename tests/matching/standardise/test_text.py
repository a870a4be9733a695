from pypinyin import lazy_pinyin

from matching.standardise.text import has_confusable_script, normalise, to_pinyin


def test_it_turns_full_width_into_half_width():
    assert normalise("ＨＵＡＳＨＥＮＧ１２３") == "HUASHENG123"


def test_it_converts_traditional_to_simplified():
    assert normalise("華盛科技有限公司") == "华盛科技有限公司"


def test_it_converts_phrases_whose_characters_are_also_simplified():
    assert normalise("反覆") == "反复"


def test_it_unifies_brackets():
    assert normalise("华盛（北京）【上海】[广州]") == "华盛(北京)(上海)(广州)"


def test_it_strips_zero_width_and_bidi_characters():
    assert normalise("华\u200b盛\u200d科\u202e技\ufeff") == "华盛科技"


def test_it_collapses_and_strips_whitespace():
    assert normalise("  华盛 \t\n 科技\u3000 ") == "华盛 科技"


def test_it_keeps_case():
    assert normalise("Huasheng") == "Huasheng"


def test_it_returns_empty_for_none():
    assert normalise(None) == ""


def test_it_flags_cyrillic_inside_a_latin_word():
    assert has_confusable_script("Huаsheng")  # Cyrillic а


def test_it_flags_a_look_alike_word_next_to_latin_words():
    assert has_confusable_script("Huasheng Со., Ltd")  # Cyrillic С and о


def test_it_does_not_flag_plain_latin_or_plain_cyrillic():
    assert not has_confusable_script("Huasheng Technology")
    assert not has_confusable_script("ООО Ромашка")
    assert not has_confusable_script("Москва Trading")
    assert not has_confusable_script(None)


def test_pinyin_is_toneless_lower_case_without_spaces():
    assert to_pinyin("华盛") == "huasheng"
    assert to_pinyin("绿地") == "lvdi"


def test_pinyin_reads_polyphonic_characters_by_phrase():
    assert to_pinyin("重庆银行") == "chongqingyinhang"
    assert to_pinyin("长沙") == "changsha"
    assert to_pinyin("厦门") == "xiamen"


def test_pinyin_passes_other_characters_through():
    assert to_pinyin("abb华盛3") == "abbhuasheng3"


def test_pinyin_agrees_with_pypinyin():
    samples = [
        "华盛科技",
        "中国建设银行",
        "重庆长安汽车",
        "乐都区",
        "长春藤教育",
        "银行行长",
        "华夏幸福",
        "调查调整",
        "朝阳区朝阳门",
        "单县单总",
    ]
    for s in samples:
        assert to_pinyin(s) == "".join(lazy_pinyin(s)), s

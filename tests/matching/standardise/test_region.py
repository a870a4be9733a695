from matching.standardise.region import (
    latin_region,
    lookup,
    match_prefix,
    region_conflict,
    same_province,
)


def test_it_matches_a_full_chain_of_regions():
    end, places, suffixed = match_prefix("广东省深圳市南山区科技园")
    assert end == 9
    assert [(p.name, p.city, p.province) for p in places] == [
        ("南山区", "深圳", "广东")
    ]
    assert suffixed


def test_it_matches_suffixless_provinces_and_cities():
    end, places, suffixed = match_prefix("深圳南山区")
    assert (end, places[0].name, suffixed) == (5, "南山区", False)


def test_it_keeps_both_readings_of_an_ambiguous_district():
    _, places, _ = match_prefix("朝阳区建国路")
    assert {p.city for p in places} == {"北京", "长春"}


def test_it_needs_a_city_before_a_generic_district_name():
    assert match_prefix("城区华盛")[1] == ()
    assert match_prefix("阳泉市城区")[1][0].city == "阳泉"


def test_it_does_not_take_county_level_short_names_as_regions():
    assert match_prefix("东方希望")[1] == ()
    assert match_prefix("阿里巴巴")[1] == ()


def test_a_name_that_is_a_province_and_a_city_denotes_the_province():
    (place,) = lookup("吉林")
    assert (place.level, place.province) == (1, "吉林")


def test_autonomous_prefectures_get_their_short_name():
    (place,) = lookup("延边朝鲜族自治州")
    assert place.name == "延边"
    assert lookup("恩施州")[0].province == "湖北"


def test_renamed_divisions_are_still_known():
    assert lookup("滦县")[0].city == "唐山"
    assert lookup("滦州市")[0].city == "唐山"


def test_different_cities_conflict():
    assert region_conflict("北京", "上海")
    assert region_conflict("深圳", "广州")
    assert region_conflict("深圳", "朝阳区")


def test_nested_regions_do_not_conflict():
    assert not region_conflict("北京", "朝阳区")
    assert not region_conflict("广东", "深圳")
    assert not region_conflict("深圳市", "南山区")


def test_unknown_regions_never_conflict():
    assert not region_conflict("北京", None)
    assert not region_conflict("华盛", "上海")


def test_same_province():
    assert same_province("深圳", "广州")
    assert not same_province("朝阳区", "北京")  # 朝阳区 may be in 长春
    assert not same_province("深圳", "北京")
    assert not same_province(None, "北京")


def test_romanised_region_names():
    assert latin_region("beijing") == (True, "北京")
    assert latin_region("chongqing") == (True, "重庆")
    assert latin_region("shaanxi") == (True, "陕西")
    assert latin_region("fuzhou") == (True, None)  # 福州 or 抚州
    assert latin_region("huasheng") == (False, None)

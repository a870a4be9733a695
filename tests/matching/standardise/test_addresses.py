import pytest

from matching.standardise.addresses import Address, address


def test_it_splits_a_full_address():
    assert address("北京市朝阳区建国路88号SOHO现代城A座1201") == Address(
        "北京",
        "北京",
        "朝阳区",
        "建国路88号SOHO现代城A座1201",
        "北京朝阳区建国路88号soho现代城a栋1201",
    )


def test_a_missing_province_is_inferred_from_the_city():
    a = address("深圳南山区科技园科苑路15号")
    assert (a.province, a.city, a.district, a.detail) == (
        "广东",
        "深圳",
        "南山区",
        "科技园科苑路15号",
    )


def test_building_and_room_spellings_compare_equal():
    variants = [
        "北京市朝阳区建国路88号SOHO现代城A座1201",
        "北京朝阳区建国路88号SOHO现代城A栋1201室",
        "北京市 朝阳区 建国路８８号 SOHO现代城 A幢 1201",
        "中国北京市朝阳区建国路88号SOHO现代城A号楼1201房",
    ]
    assert len({address(v).normalised for v in variants}) == 1


def test_full_width_digits_postcodes_and_spaces():
    a = address("518000 深圳市福田区福华路１号")
    assert (a.city, a.district, a.detail) == ("深圳", "福田区", "福华路1号")


def test_floors():
    assert (
        address("上海市浦东新区世纪大道100号12F").normalised
        == "上海浦东新区世纪大道100号12层"
    )
    assert (
        address("上海市浦东新区世纪大道100号12楼").normalised
        == "上海浦东新区世纪大道100号12层"
    )


def test_county_level_cities_and_municipal_districts():
    a = address("江苏省苏州市昆山市玉山镇")
    assert (a.province, a.city, a.district, a.detail) == (
        "江苏",
        "苏州",
        "昆山市",
        "玉山镇",
    )
    a = address("重庆渝北区")
    assert (a.province, a.city, a.district) == ("重庆", "重庆", "渝北区")


def test_an_ambiguous_district_does_not_guess_its_city():
    a = address("朝阳区建国路88号")
    assert (a.province, a.city, a.district) == (None, None, "朝阳区")


def test_an_address_without_region():
    a = address("科技园科苑路15号")
    assert (a.province, a.city, a.district, a.detail) == (
        None,
        None,
        None,
        "科技园科苑路15号",
    )


def test_an_english_address_gives_province_and_city():
    a = address("Room 1201, 88 Jianguo Road, Chaoyang District, Beijing 100022, China")
    assert (a.province, a.city, a.district) == ("北京", "北京", None)


@pytest.mark.parametrize(
    "raw",
    [
        "北京市北京市海淀区中关村大街1号",  # province and city pickers both filled
        "北京市市辖区海淀区中关村大街1号",  # the list's placeholder for the city
        "“北京市海淀区中关村大街1号”",
        "《北京市海淀区中关村大街1号》",
        "*北京市海淀区中关村大街1号",
        "、北京市海淀区中关村大街1号",
    ],
)
def test_picker_artefacts_quotes_and_leading_marks_are_passed_over(raw):
    assert address(raw) == address("北京市海淀区中关村大街1号")
    assert address(raw).district == "海淀区"


def test_a_city_named_as_its_province_is_not_a_repeat():
    a = address("吉林省吉林市船营区")
    assert (a.province, a.city, a.district) == ("吉林", "吉林", "船营区")


def test_a_trailing_building_mark_is_kept():
    assert address("科技园3#").normalised == address("科技园3栋").normalised


@pytest.mark.parametrize("raw", [None, "", "  ", "---"])
def test_empty_values_give_none(raw):
    assert address(raw) is None

import pytest

from matching import MatchConfig, preset
from matching.config import validate


@pytest.mark.parametrize("schema", ["person", "company_cn"])
def test_presets_are_valid_and_round_trip_through_json(schema):
    config = preset(schema)
    validate(config)
    again = MatchConfig.from_json(config.to_json())
    assert again == config
    assert again.fingerprint() == config.fingerprint()


def test_fingerprint_changes_with_the_thresholds():
    config = preset("person")
    other = MatchConfig.from_dict({**config.to_dict(), "auto_merge_threshold": 0.95})
    assert other.fingerprint() != config.fingerprint()


def test_it_rejects_inverted_thresholds():
    data = {
        **preset("person").to_dict(),
        "review_threshold": 0.95,
        "auto_merge_threshold": 0.9,
    }
    with pytest.raises(ValueError):
        MatchConfig.from_dict(data)


def test_an_untrained_preset_is_not_trained():
    assert not preset("person").trained


def test_a_config_saved_before_corroboration_and_ordering_still_loads():
    data = preset("company_cn").to_dict()
    for comp in data["comparisons"]:
        comp.pop("ordered")
        for level in comp["levels"]:
            level.pop("corroborates")
    config = MatchConfig.from_dict(data)
    assert not any(c.ordered for c in config.comparisons)
    assert not any(lv.corroborates for c in config.comparisons for lv in c.levels)

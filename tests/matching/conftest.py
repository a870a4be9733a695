import numpy as np
import pytest

from matching import Record, preset, run_pipeline


@pytest.fixture(scope="session")
def company_trained():
    """A company model trained without labels on 400 generated companies."""
    chinese_b2b = pytest.importorskip("fixtures.chinese_b2b")
    data = chinese_b2b.generate(companies=400, seed=42)
    records = [Record(r.key, r.system, r.flat) for r in data.records]
    result = run_pipeline(records, preset("company_cn"))
    truth = np.array([r.entity_id for r in data.records])
    return result, truth, data

import pytest

from mdm.services.realtime_matching import realtime_index_reset


@pytest.fixture(autouse=True)
def fresh_realtime_index():
    # Each test rolls its database back; the per-process index must not
    # remember records from another test.
    realtime_index_reset()
    yield
    realtime_index_reset()


# Real-browser fixtures for the UI and import tests.
from tests.browser import browser, page  # noqa: E402, F401

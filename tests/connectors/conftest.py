"""Loopback Kingdee and Salesforce servers for the sync tests, started per
test (sync_helpers.start_kingdee / start_salesforce). A test module with its
own `kingdee` or `org` fixture (a server set up otherwise) overrides these."""

import pytest

from tests.connectors.sync_helpers import start_kingdee, start_salesforce


@pytest.fixture
def kingdee():
    fake = start_kingdee()
    yield fake
    fake.stop()


@pytest.fixture
def org():
    fake = start_salesforce()
    yield fake
    fake.stop()

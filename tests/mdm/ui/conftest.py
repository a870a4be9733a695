import pytest
from django.test import Client

from tests.builders import make_user
from tests.mdm.ui.helpers import make_steward, make_viewer


@pytest.fixture
def steward(db):
    return make_steward()


@pytest.fixture
def viewer(db):
    return make_viewer()


@pytest.fixture
def steward_client(steward):
    client = Client()
    client.force_login(steward)
    return client


@pytest.fixture
def viewer_client(viewer):
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(make_user("root", is_superuser=True, is_staff=True))
    return client

from tests.mdm.ui.conftest import steward, steward_client  # noqa: F401

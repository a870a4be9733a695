from tests.mdm.ui.conftest import steward, steward_client, viewer, viewer_client  # noqa: F401

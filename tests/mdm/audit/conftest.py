from tests.mdm.ui.conftest import (  # noqa: F401
    steward,
    steward_client,
    viewer,
    viewer_client,
)

"""Which connector class serves which target kind.

Classes are named by dotted path and imported on first use, so a kind whose
optional dependencies are missing only fails for targets of that kind.
"""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from connectors.base import Connector

CONNECTOR_CLASSES: dict[str, str] = {
    "webhook": "connectors.webhook.connector.WebhookConnector",
    "file": "connectors.file.FileConnector",
    "tryton": "connectors.erp.tryton.connector.TrytonConnector",
    "kingdee": "connectors.erp.kingdee.connector.KingdeeConnector",
    "salesforce": "connectors.crm.salesforce.connector.SalesforceConnector",
}


@cache
def connector_class(kind: str) -> type[Connector]:
    """The Connector subclass for `kind` (KeyError for an unknown kind)."""
    return import_string(CONNECTOR_CLASSES[kind])

"""Kingdee K/3 Cloud (金蝶云星空) over its WebAPI."""

from connectors.erp.kingdee.connector import KingdeeConnector

__all__ = ["KingdeeConnector"]

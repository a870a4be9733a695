"""Tryton ERP (trytond + party module) over JSON-RPC."""

from connectors.erp.tryton.connector import TrytonConnector

__all__ = ["TrytonConnector"]

"""Salesforce CRM over its REST API (Accounts)."""

from connectors.crm.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]

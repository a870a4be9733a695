"""CRM connectors: Salesforce (REST)."""

"""ERP connectors: Tryton (JSON-RPC) and Kingdee K/3 Cloud (WebAPI)."""

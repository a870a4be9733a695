"""Generic webhook target: signed JSON POSTs (the Standard Webhooks scheme)."""

"""Core Django app of golden-record: the customer ID card, source records,
cross-references, golden records and steward decisions."""

"""What an operator runs the product with: health and readiness probes,
Prometheus metrics, and the database-outage response."""

"""Running Parley: health checks, Prometheus metrics and log formatting for operators."""

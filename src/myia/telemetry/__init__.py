"""Telemetry of provider calls: the call log (`api_call_logs`), costs, Prometheus series."""

"""Metrics of provider calls (seed 001's MetricsService): latency, errors, usage, cost."""

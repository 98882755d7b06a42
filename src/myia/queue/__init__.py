"""Certification jobs on a queue: engines (embedded, SAQ), item execution, rate limiting."""

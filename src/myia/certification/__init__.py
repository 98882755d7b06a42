"""Certification: a test suite run against one deployment in one region, scored 0–5."""

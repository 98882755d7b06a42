"""Structured logging (stdout + `logs` table), request ids and health checks."""

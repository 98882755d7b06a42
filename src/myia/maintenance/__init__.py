"""Database maintenance services: diagnose, migrate, seed, backup, restore, reset.

Plain async functions usable from the CLI, the API and workers alike; the CLI only prints.
"""

"""User administration and per-user settings (the operator's and the user's side)."""

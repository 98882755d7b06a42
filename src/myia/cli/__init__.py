"""The operator CLI `myia`: one Typer app, one module per noun group."""

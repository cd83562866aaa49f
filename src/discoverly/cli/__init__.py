"""The ``discoverly`` command line (``discoverly --help``)."""

from discoverly.cli.app import app, main

__all__ = ["app", "main"]

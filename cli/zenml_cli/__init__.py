"""zenml-cli: the thin command line client for zenml-server (standard library only)."""

__version__ = "0.1.0"

"""zenml-server: self-hosted authentication for ZenML-style tooling."""

__version__ = "0.1.0"

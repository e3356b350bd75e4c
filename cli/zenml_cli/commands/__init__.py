"""One module per command group; each has ``register(subparsers)`` and ``run_*`` handlers."""

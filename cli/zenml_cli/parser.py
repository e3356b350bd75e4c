"""The whole ``zenml`` command line, assembled from each command module's ``register``."""

from __future__ import annotations

from zenml_cli import __version__
from zenml_cli.arguments import Parser, print_help
from zenml_cli.commands import audit, connect, devices, local_server, service_accounts, users


def build_parser() -> Parser:
    parser = Parser(
        prog="zenml",
        description="Connect to a zenml-server and manage devices, service accounts and users.",
        epilog="Run `zenml COMMAND --help` for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"zenml-cli {__version__}")
    parser.set_defaults(handler=lambda rt, args: print_help(rt, parser))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (connect, devices, service_accounts, users, audit, local_server):
        module.register(commands)
    return parser

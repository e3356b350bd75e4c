"""Every command line on the docs page parses to the right handler and arguments (parse only)."""

from __future__ import annotations

import argparse
import shlex

import pytest
from zenml_cli.commands import api_keys, connect, devices, local_server, service_accounts, users
from zenml_cli.errors import CLIError
from zenml_cli.parser import build_parser

DEVICE = "4f1c2a9e-0000-4000-8000-000000000001"

# (command line as on the page, handler it must reach)
SEED_PAGE = [
    ("zenml connect --url https://zenml.example.com", connect.run_connect),
    ("zenml authorized-device list", devices.run_list),
    (f"zenml authorized-device describe {DEVICE}", devices.run_describe),
    (f"zenml authorized-device lock {DEVICE}", devices.run_lock),
    ("zenml devices list", devices.run_list),
    (f"zenml device lock {DEVICE}", devices.run_lock),
    ("zenml service-account create --name ci-bot", service_accounts.run_create),
    (
        "zenml connect --url https://zenml.example.com --api-key ZENKEY_abc",
        connect.run_connect,
    ),
    ("zenml service-account list", service_accounts.run_list),
    ("zenml service-account api-key ci-bot list", api_keys.run_list),
    ("zenml service-account describe ci-bot", service_accounts.run_describe),
    ("zenml service-account api-key ci-bot describe default", api_keys.run_describe),
    ("zenml service-account api-key ci-bot rotate default", api_keys.run_rotate),
    ("zenml service-account api-key ci-bot rotate default --retain 60", api_keys.run_rotate),
    ("zenml service-account update ci-bot --active false", service_accounts.run_update),
    (
        "zenml service-account api-key ci-bot update default --active false",
        api_keys.run_update,
    ),
    ("zenml up", local_server.run_up),
]


def _parse(line: str) -> argparse.Namespace:
    argv = shlex.split(line)
    assert argv[0] == "zenml"
    return build_parser().parse_args(argv[1:])


@pytest.mark.parametrize(("line", "handler"), SEED_PAGE, ids=[line for line, _ in SEED_PAGE])
def test_seed_page_command_parses(line: str, handler: object) -> None:
    """The command line from the docs page reaches its handler."""
    assert _parse(line).handler is handler


def test_connect_arguments() -> None:
    """connect keeps --url and --api-key; login takes the URL positionally."""
    args = _parse("zenml connect --url https://z.example --api-key K --no-browser")
    assert (args.url, args.api_key, args.no_browser) == ("https://z.example", "K", True)
    login = _parse("zenml login https://z.example")
    assert (login.handler, login.url_arg) == (connect.run_connect, "https://z.example")


def test_logout_and_status() -> None:
    """disconnect has the alias logout; status takes no arguments."""
    assert _parse("zenml logout").handler is connect.run_disconnect
    assert _parse("zenml disconnect").handler is connect.run_disconnect
    assert _parse("zenml status").handler is connect.run_status


def test_rotate_puts_the_service_account_before_the_action() -> None:
    """`api-key SA rotate KEY --retain 60` reads SA, KEY and 60 minutes."""
    args = _parse("zenml service-account api-key ci-bot rotate default --retain 60")
    assert (args.account, args.key, args.retain) == ("ci-bot", "default", 60)


def test_active_false_is_a_boolean() -> None:
    """`--active false` means False, not the truthy string 'false'."""
    args = _parse("zenml service-account update ci-bot --active false")
    assert args.active is False
    assert _parse("zenml user update alice --active true").active is True


def test_service_account_create_takes_the_name_either_way() -> None:
    """create accepts --name NAME or a positional NAME, plus --description and --no-api-key."""
    flag = _parse("zenml service-account create --name bot --description 'CI runner'")
    positional = _parse("zenml service-account create bot --no-api-key --output json")
    assert (flag.name, flag.description, flag.no_api_key) == ("bot", "CI runner", False)
    assert (positional.name_arg, positional.no_api_key, positional.output) == (
        "bot",
        True,
        "json",
    )


def test_device_actions() -> None:
    """delete takes --yes, approve takes a code and --trust, list filters by status."""
    delete = _parse(f"zenml authorized-device delete {DEVICE[:6]} --yes")
    approve = _parse("zenml authorized-device approve WDJB-MJHT --trust")
    listing = _parse("zenml devices list --status locked --output json")
    assert (delete.handler, delete.device_id, delete.yes) == (devices.run_delete, DEVICE[:6], True)
    assert (approve.user_code, approve.trust) == ("WDJB-MJHT", True)
    assert (listing.status, listing.output) == ("locked", "json")


def test_user_commands() -> None:
    """user create/list/update parse their flags."""
    create = _parse("zenml user create alice --admin --password-stdin")
    update = _parse("zenml user update alice --active false --admin true")
    assert (create.handler, create.admin, create.password_stdin) == (users.run_create, True, True)
    assert (update.active, update.is_admin) == (False, True)
    assert _parse("zenml user list").handler is users.run_list


def test_up_and_down() -> None:
    """up takes --port; down takes nothing."""
    assert _parse("zenml up --port 9000").port == 9000
    assert _parse("zenml down").handler is local_server.run_down


@pytest.mark.parametrize(
    "line",
    [
        "zenml service-account update ci-bot --active maybe",
        "zenml service-account api-key ci-bot rotate default --retain -5",
        "zenml authorized-device nonsense",
        "zenml nonsense",
        "zenml up --port 70000",
    ],
)
def test_bad_command_lines_are_one_line_usage_errors(line: str) -> None:
    """A mistyped command is a CLIError with exit code 2, not argparse's SystemExit."""
    with pytest.raises(CLIError) as raised:
        _parse(line)
    assert raised.value.exit_code == 2
    assert "\n" not in raised.value.message

"""`monitor users add|list|disable|token|revoke`: the accounts of the web app. Each
action calls one function of monitor.accounts and writes an audit entry in the same
transaction; the parser entries are here too (``add_user_parser``), so the argument
parser stays one call long for them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from monitor.cli.common import EXIT_OK, UsageError, action_parsers, load

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store

# monitor.accounts.ROLES, written out so building the parser imports no library
# (tests/test_accounts.py keeps the two equal).
ROLE_CHOICES = ("ombudsman", "agency")

USERS_HELP = """\
The people who may sign in to the web app, and their API tokens.

  monitor users add NAME --role ROLE [--agency ID] --password-stdin
  monitor users list               every user, its role, agency and active tokens
  monitor users disable NAME       the user can no longer sign in; its tokens stop
  monitor users token NAME         a new API token for scripts (shown once)
  monitor users revoke NAME        stop all the user's API tokens

Roles: 'ombudsman' is staff of the Ombudsman office and sees every agency;
'agency' is staff of one agency (--agency, an id of the config's [[agencies]])
and sees only that agency. A name is 3 to 40 characters: lower-case letters,
digits, '.', '_' and '-'. A password has at least 12 characters and is read from
standard input, never from the command line (where 'ps' and the shell history
would show it). Only a salted scrypt hash of it is stored; of a token, only its
SHA-256. Users are never deleted, only disabled, so the audit log keeps naming
them. Every add, disable, token and revoke is written to the audit log with the
login name of whoever ran it.

  read -rs PW && printf '%s\\n' "$PW" | monitor users add maria.asisten \\
      --role ombudsman --password-stdin; unset PW
  printf '%s\\n' "$PW" | monitor users add budi --role agency \\
      --agency rsud-sk-lerik --password-stdin
  monitor users token laporan-bot > token.txt  # the token is the last line"""


def add_user_parser(
    add: Callable[..., argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    epilog: str,
) -> None:
    """The `users` command and its actions, added with the parser's own ``add``."""
    p = add(
        "users",
        cmd_users,
        "add, list or disable the web app's users; make or revoke API tokens",
        USERS_HELP,
    )
    action = action_parsers(p, common, epilog)

    a = action(
        "add",
        "make a user; the password comes from standard input",
        "Make a user who can sign in to the web app. The password is the first line of\n"
        "standard input (at least 12 characters); without --password-stdin the command\n"
        "refuses, so a password never appears on the command line.\n\n"
        "  read -rs PW && printf '%s\\n' \"$PW\" | monitor users add maria.asisten \\\n"
        "      --role ombudsman --password-stdin; unset PW\n"
        "  printf '%s\\n' \"$PW\" | monitor users add budi --role agency \\\n"
        "      --agency rsud-sk-lerik --password-stdin",
    )
    a.add_argument("name", metavar="NAME", help="3-40 characters: a-z, 0-9, '.', '_', '-'")
    a.add_argument(
        "--role",
        required=True,
        choices=ROLE_CHOICES,
        help="ombudsman (sees every agency) or agency (sees only --agency)",
    )
    a.add_argument(
        "--agency", metavar="ID", help="for --role agency: the agency's id in the config"
    )
    a.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (required)",
    )
    action(
        "list",
        "every user with role, agency, state and active tokens (the default)",
        "Every user by name: role, agency, whether disabled, how many API tokens are\n"
        "still valid, and when the user was made (UTC).",
    )
    a = action(
        "disable",
        "stop a user from signing in, and revoke its API tokens",
        "Disable NAME for good: the web app no longer lets the user sign in, and every\n"
        "API token of the user stops working. The user stays in the list and in the\n"
        "audit log. For someone who left, or an account that may be known to others.",
    )
    a.add_argument("name", metavar="NAME", help="the user's name")
    a = action(
        "token",
        "print a new API token for a user (shown once, on the last line)",
        "Make a new API token for NAME and print it on the last line. It is shown only\n"
        "this once: only its SHA-256 is stored, so a lost token cannot be shown again;\n"
        "make a new one and revoke the old ('monitor users revoke NAME'). A script sends\n"
        "it in the header 'Authorization: Bearer TOKEN' and sees what NAME may see.\n\n"
        "  monitor users token laporan-bot | tail -n 1 > /etc/monitor/token",
    )
    a.add_argument("name", metavar="NAME", help="the user's name")
    a = action(
        "revoke",
        "stop every API token of a user (the user can still sign in)",
        "Revoke every API token of NAME, e.g. when one may have leaked. Signing in with\n"
        "the password is not affected; 'monitor users disable NAME' stops that too.",
    )
    a.add_argument("name", metavar="NAME", help="the user's name")


def cmd_users(args: argparse.Namespace) -> int:
    actions = {
        "add": _add,
        "list": _list,
        "disable": _disable,
        "token": _token,
        "revoke": _revoke,
    }
    return actions[args.action or "list"](args)


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name in some containers
        return "unknown"


def _open(config: Config) -> Store:
    from monitor.secrets import secret_values
    from monitor.store import Store

    return Store.open(config.database, secret_values(config))


def _read_password(args: argparse.Namespace) -> str:
    how = (
        "pipe it in and add --password-stdin, e.g. read -rs PW && printf '%s\\n' \"$PW\" | "
        f"monitor users add {args.name} --role {args.role} "
        + (f"--agency {args.agency} " if args.agency else "")
        + "--password-stdin"
    )
    if not args.password_stdin:
        raise UsageError(f"no password given: {how}")
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(f"the password is read from a pipe, not typed here: {how}")
    password = sys.stdin.readline().rstrip("\n").rstrip("\r")
    if not password:
        raise UsageError(f"the first line of standard input is empty: {how}")
    return password


def _add(args: argparse.Namespace) -> int:
    from monitor.accounts import AccountError, add_user, audit

    password = _read_password(args)
    config = load(args)
    agency_ids = [agency.id for agency in config.agencies]
    with _open(config) as store:
        try:
            with store.transaction():
                user = add_user(store, args.name, args.role, password, args.agency, agency_ids)
                where = f" agency={user.agency_id}" if user.agency_id else ""
                audit(store, _login_name(), "user.add", f"{user.name} role={user.role}{where}")
        except AccountError as exc:
            raise UsageError(str(exc)) from None
    sees = f"agency {user.agency_id} only" if user.agency_id else "every agency"
    print(f"User {user.name} added: role {user.role}, sees {sees}.")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from monitor.accounts import active_token_counts, list_users

    config = load(args)
    if not config.database.is_file():
        print(f"No users yet (no database at {config.database}): monitor users add --help")
        return EXIT_OK
    with _open(config) as store:
        users = list_users(store)
        tokens = active_token_counts(store)
    if not users:
        print("No users yet: monitor users add --help")
        return EXIT_OK
    rows = [("name", "role", "agency", "disabled", "active tokens", "created (UTC)")]
    for user in users:
        rows.append(
            (
                user.name,
                user.role,
                user.agency_id or "-",
                "yes" if user.disabled else "no",
                str(tokens.get(user.name, 0)),
                user.created_at[:16].replace("T", " "),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return EXIT_OK


def _change(args: argparse.Namespace, change: Callable[[Store, str], object], action: str):
    """Run ``change`` on the user and write its audit entry, in one transaction."""
    from monitor.accounts import AccountError, audit

    config = load(args)
    with _open(config) as store:
        try:
            with store.transaction():
                result = change(store, args.name)
                audit(store, _login_name(), action, args.name.strip().lower())
        except AccountError as exc:
            raise UsageError(str(exc)) from None
    return result


def _disable(args: argparse.Namespace) -> int:
    from monitor.accounts import disable_user

    user = _change(args, disable_user, "user.disable")
    print(f"User {user.name} is disabled: it can no longer sign in, and its API tokens stopped.")
    return EXIT_OK


def _token(args: argparse.Namespace) -> int:
    from monitor.accounts import new_token

    token = _change(args, new_token, "token.new")
    print(
        f"New API token for {args.name.strip().lower()}, shown only this once (only its hash "
        "is kept; 'monitor users revoke' stops it):"
    )
    print(token)
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    from monitor.accounts import revoke_tokens

    revoked = _change(args, revoke_tokens, "token.revoke")
    name = args.name.strip().lower()
    print(f"{revoked} API token(s) of {name} revoked; signing in with the password still works.")
    return EXIT_OK

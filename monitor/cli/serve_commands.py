"""`monitor serve`: the web app for staff and agencies, on waitress. The parser entry
is here too (``add_serve_parser``), so the argument parser stays one call long for it.
Flask is imported only when the command runs (``monitor --help`` stays light)."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable

from monitor.cli.common import EXIT_OK, UsageError, load

SERVE_HELP = """\
Serve the web app: staff of the Ombudsman office sign in and see every agency's
trend and the daily digest; staff of an agency see only their agency's page. The
same numbers are in a JSON/CSV API for scripts (Authorization: Bearer <token>).

It listens on 127.0.0.1:8080 by default and speaks plain HTTP: put a TLS reverse
proxy (nginx, Caddy) in front of it, which passes X-Forwarded-For and
X-Forwarded-Proto. Session cookies are sent only over HTTPS unless
[web] secure_cookies = false (for trying it locally only).

Nobody can sign in until an operator makes users:
  monitor users add maria.asisten --role ombudsman --password-stdin
  monitor users add budi.dukcapil --role agency \
      --agency disdukcapil-kota-kupang --password-stdin
  monitor users token budi.dukcapil        (an API token, shown once)
'monitor users --help' tells more.

The key that signs sessions: the environment variable named by
[web] secret_key_env (MONITOR_WEB_SECRET unless set), else a random key kept in
web_secret.key beside the database. SIGTERM or Ctrl-C stops it.

  monitor serve
  monitor serve --host 127.0.0.1 --port 8080
  curl -H "Authorization: Bearer $TOKEN" \\
       http://127.0.0.1:8080/api/agencies/rsud-sk-lerik/trend?format=csv"""


def add_serve_parser(
    add: Callable[..., argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    epilog: str,
) -> None:
    """The `serve` command, added with the parser's own ``add``."""
    p = add("serve", cmd_serve, "serve the web app (login, agency pages, digest, API)", SERVE_HELP)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--threads", type=int, default=4, help="requests answered at once (default 4)")


def cmd_serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from monitor.service import wait_for_stop_signal
    from monitor.web import create_app

    config = load(args)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: choose a port from 1 to 65535")
    try:
        app = create_app(config)
    except (ValueError, OSError) as exc:
        raise UsageError(f"cannot start the web app: {exc}") from None
    try:
        server = create_server(
            app,
            host=args.host,
            port=args.port,
            threads=max(1, args.threads),
            ident="monitor",
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=False,  # the app's ProxyFix reads them
        )
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror}; choose another --port"
        ) from None
    host, port = server.effective_host, server.effective_port
    shown = f"[{host}]" if ":" in str(host) else host
    print(f"Web app at http://{shown}:{port}/ (behind your TLS proxy; Ctrl-C stops)", flush=True)
    worker = threading.Thread(target=server.run, daemon=True)
    worker.start()
    try:
        wait_for_stop_signal()
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        args.progress("serve stopped")
    return EXIT_OK

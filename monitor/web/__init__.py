"""The web app (`monitor serve`): staff and agencies sign in and read the trend pages
and the digest live from the database; a JSON API gives the same numbers to scripts.

``app`` (the factory, sessions, CSRF, headers, errors), ``context`` (what the parts
share), ``auth`` (login), ``pages``, ``api``.
Flask is imported only here, never by the commands that do not serve.
"""

from monitor.web.app import create_app

__all__ = ["create_app"]

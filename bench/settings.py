"""
Settings of the benchmark's server: Casebook's own settings plus what measuring needs.

Everything here is additive: the floor endpoints (``bench.urls``), a middleware
that reports the SQL queries and the worker of each request, and the few
production settings that cannot hold on plain http://127.0.0.1.
"""

from typing import Any

from portal.settings import *  # noqa: F403
from portal.settings import MIDDLEWARE, REST_FRAMEWORK

ROOT_URLCONF = "bench.urls"

# Outermost, so it counts the queries of the session and authentication
# middleware as well as the view's.
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]

# The server is reached over plain http on the loopback: a redirect to https
# would measure nothing. Cookies marked Secure are still sent by our client,
# which does not enforce the flag; unmarking them only keeps a browser pointed
# at the benchmark server usable.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Per-client rate limits would cap every API figure at the limit. They are
# switched off here, and only here.
_rest: dict[str, Any] = dict(REST_FRAMEWORK)
_rest["DEFAULT_THROTTLE_CLASSES"] = []
REST_FRAMEWORK = _rest

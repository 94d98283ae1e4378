"""WSGI entry point: gevent monkey-patching first, then `app = create_app()`."""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from kraken import create_app  # noqa: E402
from kraken.config import ConfigError  # noqa: E402

try:
    app = create_app()
except ConfigError as exc:
    print(f"kraken: {exc}", file=sys.stderr)
    sys.exit(2)


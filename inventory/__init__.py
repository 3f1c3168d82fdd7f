"""Sampada: the application factory for the district IT asset and network inventory.

Flask is imported inside create_app so that the probes (inventory.probes), which run in
worker processes of their own, do not pay for the web stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: configuration, extensions, blueprints and CLI commands."""
    from pathlib import Path

    from flask import Flask

    from inventory import cli, extensions, security, web
    from inventory.config import load_config

    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    load_config(app, test_config)
    extensions.init_app(app)
    security.init_app(app)
    web.init_app(app)
    cli.init_app(app)
    return app

"""Sampada: the application factory for the district IT asset and network inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from inventory.config import load_config

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: configuration, extensions, blueprints and CLI commands."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    load_config(app, test_config)

    from inventory import extensions

    extensions.init_app(app)

    from inventory import security, web

    security.init_app(app)
    web.init_app(app)

    from inventory import cli

    cli.init_app(app)
    return app

"""Flipfunnel: surveys, follow-up and referrals as one headless service."""

from functools import cached_property
from pathlib import Path

from flask import Flask
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from api import counters, database, demo
from api.extensions import api, db, migrate
from api.http import errors, intake, log_format, ratelimit, request_log
from api.http.auth import identify_caller
from api.http.retries import RetryingFlask
from api.i18n import templates as i18n_templates


class NoCookieSessions(SessionInterface):
    """Callers prove who they are with keys and signed links, never a cookie.

    Flask's default signed-cookie session would build a serializer on every
    request only to find no cookie; a null session also makes any accidental
    use of `flask.session` fail loudly.
    """

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        pass


MAX_SYNC_FUNCTIONS = 1024


class FlipfunnelApp(RetryingFlask):
    """Flask that runs again a request whose work lost a race (api/http/retries.py),
    remembering which of its hooks and views need running as coroutines."""

    def ensure_sync(self, func):
        # Flask asks `inspect.iscoroutinefunction` of every hook and view on every
        # request (10 times for /healthz, 16 for a widget call), and the answer for a
        # function never changes. Flask documents this method as the one to override.
        known = self._sync_functions
        try:
            return known[func]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable: asked each time, as Flask does
            return super().ensure_sync(func)
        sync = super().ensure_sync(func)
        # Bounded: a function made per request (`after_this_request`) must not pile up.
        if len(known) < MAX_SYNC_FUNCTIONS:
            known[func] = sync
        return sync

    @cached_property
    def _sync_functions(self) -> dict:
        return {}


def create_app(test_config: dict | None = None) -> Flask:
    app = FlipfunnelApp(__name__, instance_relative_config=False)
    app.session_interface = NoCookieSessions()
    load_settings(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    wrap_wsgi(app)
    return app


def load_settings(app: Flask, test_config: dict | None) -> None:
    settings = config.load((test_config or {}).get("ENV_NAME"))
    settings.update(test_config or {})
    settings["SQLALCHEMY_DATABASE_URI"] = settings.get("SQLALCHEMY_DATABASE_URI") or (
        config.database_uri(settings["DATABASE_URL"], app.instance_path)
    )
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(settings)
    settings["SECRET_KEY"] = config.secret_key(settings, app.instance_path)
    app.config.update(settings)


def register_extensions(app: Flask) -> None:
    # Order matters: request ids first, then the intake gate (before anything reads
    # the request), then who is calling, then the limiter (which counts per caller),
    # then the database's end-of-request commit.
    log_format.init_app(app)
    request_log.init_app(app)
    intake.init_app(app)
    app.before_request(identify_caller)
    db.init_app(app)
    database.init_app(app)
    counters.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    ratelimit.init_app(app)
    api.init_app(app)
    i18n_templates.init_app(app)
    errors.init_app(app)


def wrap_wsgi(app: Flask) -> None:
    """WSGI middleware. Every request then goes through Flask's routing and its hooks."""
    if app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=1, x_host=1)


def register_blueprints(app: Flask) -> None:
    from api import health
    from api.advocacy.routes import bp as advocacy_bp
    from api.contacts.imports.routes import bp as contact_imports_bp
    from api.contacts.routes import bp as contacts_bp
    from api.events.routes import bp as events_bp
    from api.integrations.receiver import bp as stripe_in_bp
    from api.integrations.routes import bp as integrations_bp
    from api.jobs.routes import bp as jobs_bp
    from api.pages.routes import bp as pages_bp
    from api.pages.wall import bp as wall_bp
    from api.queues.routes import bp as queues_bp
    from api.referrals.redirect import bp as referral_links_bp
    from api.referrals.routes import bp as referrals_bp
    from api.reports.pages import bp as report_pages_bp
    from api.reports.routes import bp as reports_bp
    from api.reports.routes import retention_bp
    from api.responses.routes import bp as responses_bp
    from api.surveys.batch_routes import bp as invitation_batches_bp
    from api.surveys.routes import bp as surveys_bp
    from api.webhooks.routes import bp as webhooks_bp
    from api.widget.advocacy import public_bp
    from api.widget.assets import bp as widget_assets_bp
    from api.widget.routes import bp as widget_bp
    from api.widget.routes import settings_bp as widget_settings_bp
    from api.workspaces.routes import bp as keys_bp
    from api.workspaces.routes import settings_bp

    for blueprint in (
        referral_links_bp,
        widget_assets_bp,
        stripe_in_bp,
    ):
        app.register_blueprint(blueprint)
    for blueprint in (
        contact_imports_bp,
        contacts_bp,
        surveys_bp,
        invitation_batches_bp,
        responses_bp,
        reports_bp,
        retention_bp,
        queues_bp,
        events_bp,
        jobs_bp,
        webhooks_bp,
        referrals_bp,
        integrations_bp,
        keys_bp,
        settings_bp,
        widget_settings_bp,
        widget_bp,
        advocacy_bp,
        public_bp,
        pages_bp,
        wall_bp,
        report_pages_bp,
        health.bp,
    ):
        api.register_blueprint(blueprint)


def register_commands(app: Flask) -> None:
    from api import worker
    from api.workspaces import cli as workspaces_cli

    workspaces_cli.init_app(app)
    demo.init_app(app)
    worker.init_app(app)

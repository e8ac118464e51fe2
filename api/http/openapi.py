"""The OpenAPI document and the offline docs page.

flask-smorest builds `/openapi.json` from the same marshmallow schemas that
validate requests, so the document cannot drift from the code. `/docs` is its
Swagger UI, with the assets served from the `swagger-ui-bundle` package so the
page works on a machine with no internet.
"""

import flask_smorest
from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path


class Api(flask_smorest.Api):
    def _register_error_handlers(self):
        """Errors are answered by api.http.errors, in the one format."""

    def init_app(self, app, *, spec_kwargs=None):
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.spec.components.security_scheme(
            "secretKey",
            {"type": "http", "scheme": "bearer", "description": "A secret key, sk_..."},
        )
        self.spec.components.security_scheme(
            "publishableKey",
            {"type": "http", "scheme": "bearer", "description": "A publishable key, pk_..."},
        )
        self.spec.options["security"] = [{"secretKey": []}]
        app.register_blueprint(_docs_assets)


_docs_assets = Blueprint("docs_assets", __name__)


@_docs_assets.get("/docs/assets/<path:filename>")
def docs_asset(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)

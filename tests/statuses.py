"""The statuses an app answered its documented operations with, against its document.

Clients generate code and error handling from /openapi.json, so a status the API
answers but does not document is a bug the suite can see: the tests provoke most
of the statuses there are, including ones a fuzzer reaches only by luck.
"""

import contextlib
import json
from collections import defaultdict

from flask import Flask, Response, request, request_finished
from flask_smorest.spec.plugins import FlaskPlugin

# A server error is a bug whatever the document says; tests provoke it on purpose.
_NOT_PROMISED = {500}


@contextlib.contextmanager
def recorded(app: Flask):
    """Collect {(path, method): statuses} for every request the app finishes."""
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)

    def record(sender: Flask, response: Response, **extra) -> None:
        if request.url_rule is not None:
            seen[request.url_rule.rule, request.method.lower()].add(response.status_code)

    with request_finished.connected_to(record, app):
        yield seen


def undocumented(app: Flask, seen: dict[tuple[str, str], set[int]]) -> list[str]:
    """`METHOD path status` for each status an operation answered but does not document."""
    spec = json.loads(app.test_client().get("/openapi.json").get_data())
    missing = []
    for (rule, method), answered in sorted(seen.items()):
        operation = spec["paths"].get(FlaskPlugin.flaskpath2openapi(rule), {}).get(method)
        if operation is None:  # not an API operation: a page asset, a preflight
            continue
        documented = {int(status) for status in operation["responses"]}
        for status in sorted(answered - documented - _NOT_PROMISED):
            missing.append(f"{method.upper()} {rule} {status}")
    return missing

"""Every hook of a widget blueprint runs on every one of its routes.

The widget API has no path of its own in front of Flask: a check added to
`WidgetBlueprint` (or to the app) tomorrow runs on every widget call. The routes
are read from the URL map, so a route added later is covered without a change here.
"""

from api.widget.routes import WidgetBlueprint
from tests.conftest import create_tenant
from tests.test_widget_api import SITE, Widget

# A preflight is answered by the origin check itself; HEAD is GET without a body.
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
HOOK_REGISTRIES = (
    "before_request_funcs",
    "after_request_funcs",
    "teardown_request_funcs",
    "url_value_preprocessors",
)


def _widget_routes(app) -> list[tuple[str, str, str]]:
    """(blueprint, rule, method) of every route of every WidgetBlueprint."""
    names = {name for name, bp in app.blueprints.items() if isinstance(bp, WidgetBlueprint)}
    routes = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint in names:
            for method in sorted(rule.methods - SKIPPED_METHODS):
                routes.append((blueprint, rule.rule, method))
    return sorted(routes)


def test_the_widget_blueprints_have_routes_and_hooks(app):
    routes = _widget_routes(app)
    assert {("widget", "/w/v1/eligibility", "GET"), ("widget", "/w/v1/responses", "POST")} <= set(
        routes
    )
    assert {blueprint for blueprint, _, _ in routes} == {"widget", "public"}
    for blueprint in ("widget", "public"):
        assert app.before_request_funcs[blueprint] and app.after_request_funcs[blueprint]


def _record_hooks(app, monkeypatch, blueprint: str) -> tuple[set, set]:
    """Wrap the app's and `blueprint`'s hooks to note each run; (every hook, those run)."""
    expected, ran = set(), set()
    for registry_name in HOOK_REGISTRIES:
        registry = getattr(app, registry_name)
        for scope in (None, blueprint):
            hooks = registry.get(scope)
            if not hooks:
                continue

            def wrapped(hook, label):
                def run(*args, **kwargs):
                    ran.add(label)
                    return hook(*args, **kwargs)

                return run

            labels = [
                (registry_name, scope, i, getattr(hook, "__qualname__", repr(hook)))
                for i, hook in enumerate(hooks)
            ]
            expected.update(labels)
            monkeypatch.setitem(
                registry, scope, [wrapped(h, label) for h, label in zip(hooks, labels, strict=True)]
            )
    return expected, ran


def test_every_hook_runs_on_every_widget_route(app, monkeypatch):
    widget = Widget(app, create_tenant(app))
    problems = []
    for blueprint, rule, method in _widget_routes(app):
        with monkeypatch.context() as patch:
            expected, ran = _record_hooks(app, patch, blueprint)
            path = rule.replace("<", "").replace(">", "")  # any value: hooks run before the view
            response = widget.client.open(
                f"{path}?key={widget.tenant.publishable_key}",
                method=method,
                json={} if method in {"POST", "PUT", "PATCH"} else None,
                headers={"Origin": SITE},
            )
        assert ("before_request_funcs", blueprint, 0, "require_publishable_key") in expected
        if response.status_code >= 500 or ran != expected:
            problems.append(f"{method} {rule} ({response.status_code}): {sorted(expected - ran)}")
        elif response.headers.get("Access-Control-Allow-Origin") != SITE:
            problems.append(f"{method} {rule}: no CORS headers")
    assert problems == []

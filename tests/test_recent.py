"""The per-worker memory: a TTL cache of immutable values, never ORM objects."""

from types import MappingProxyType

import pytest

from api import recent
from api.extensions import db
from api.surveys.models import Survey
from api.widget import service
from tests.conftest import create_tenant


def test_a_frozen_row_reads_as_the_object_and_cannot_change(app):
    tenant = create_tenant(app)
    with app.app_context():
        survey = Survey(
            workspace_id=tenant.id,
            name="W",
            kind="nps",
            widget_enabled=True,
            texts={"en": {"question": "How likely?"}},
            url_rules=[{"match": "exact", "value": "/"}],
        )
        db.session.add(survey)
        db.session.commit()
        snapshot = recent.frozen(survey)
        assert (snapshot.id, snapshot.name, snapshot.kind) == (survey.id, "W", "nps")
        assert snapshot.updated_at == survey.updated_at
        assert snapshot.texts["en"]["question"] == "How likely?"
        assert isinstance(snapshot.texts, MappingProxyType)
        assert snapshot.url_rules == ({"match": "exact", "value": "/"},)
        with pytest.raises(AttributeError):
            snapshot.name = "changed"
        with pytest.raises(TypeError):
            snapshot.texts["en"] = {}
        with pytest.raises(TypeError):
            snapshot.url_rules[0]["value"] = "/other"
        assert recent.frozen(None) is None


def test_remembered_widget_rows_are_snapshots_shared_until_the_interval_ends(
    app_factory, monkeypatch
):
    app = app_factory(WIDGET_CACHE_SECONDS=5)
    tenant = create_tenant(app)
    with app.app_context():
        db.session.add(Survey(workspace_id=tenant.id, name="W", kind="nps", widget_enabled=True))
        db.session.commit()
    clock = {"now": 1000.0}
    monkeypatch.setattr("api.recent.monotonic", lambda: clock["now"])
    with app.test_request_context():
        first = service.widget_surveys(tenant.id)
        workspace = service.widget_workspace(tenant.id)
        assert isinstance(first, tuple) and not isinstance(first[0], Survey)
        assert not isinstance(workspace, db.Model)
        assert service.widget_surveys(tenant.id) is first  # remembered
        clock["now"] += 6
        assert service.widget_surveys(tenant.id) is not first  # read again after 5 s


def test_a_memory_of_zero_seconds_always_loads(app):
    loads = []
    with app.app_context():
        memory = recent.memory("test_zero", 0)
        for _ in range(3):
            memory.get("k", lambda: loads.append(1) or len(loads))
    assert len(loads) == 3


def test_a_full_memory_drops_the_least_recently_used(app, monkeypatch):
    monkeypatch.setattr(recent, "MAX_ENTRIES", 2)
    with app.app_context():
        memory = recent.memory("test_full", 60)
        memory.get("a", lambda: 1)
        memory.get("b", lambda: 2)
        memory.get("a", lambda: 0)  # a hit: "a" is now the most recent
        memory.get("c", lambda: 3)
        assert memory.get("a", lambda: -1) == 1
        assert memory.get("b", lambda: -1) == -1  # dropped

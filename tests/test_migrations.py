"""The migrations build exactly the schema the models describe, and run both ways."""

import pprint

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

import api.models  # noqa: F401  every model, so the metadata is the whole schema
from api.extensions import db
from api.surveys.models import Survey
from api.workspaces import keys
from tests.conftest import make_app

# The revision before the one that names blank products (1e1b5ea170bc).
NAMED_PRODUCTS_PARENT = "c4e8f2a61d37"


def test_migrated_database_matches_the_models(app):
    """The suite's database is built by the migrations; the models must not differ from it."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], "models and migrations differ:\n" + pprint.pformat(diff, width=100)


def script_directory(app) -> ScriptDirectory:
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_there_is_one_head(app):
    heads = script_directory(app).get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"


def test_upgrade_downgrade_upgrade_on_a_fresh_database(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'fresh.db'}")
    expected = set(db.metadata.tables)
    with app.app_context():
        head = script_directory(app).get_current_head()

        flask_migrate.upgrade()
        assert set(inspect(db.engine).get_table_names()) == expected | {"alembic_version"}
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head

        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() is None

        flask_migrate.upgrade()
        assert set(inspect(db.engine).get_table_names()) == expected | {"alembic_version"}
        db.engine.dispose()


def test_surveys_left_without_a_product_take_their_workspaces_name(tmp_path):
    """Older versions made surveys with a blank `product_name`; the upgrade names them.

    The rows are made at head and the migration run again by going down past it, so
    the test holds whatever later migrations do to these tables."""
    app = make_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        flask_migrate.upgrade()
        workspace, _secret, _publishable = keys.create_workspace("Initech")
        blank = Survey(workspace_id=workspace.id, name="Old", kind="nps", product_name="")
        named = Survey(workspace_id=workspace.id, name="Named", kind="nps", product_name="TPS")
        db.session.add_all([blank, named])
        db.session.commit()
        db.session.remove()

        flask_migrate.downgrade(revision=NAMED_PRODUCTS_PARENT)
        flask_migrate.upgrade()
        names = db.session.execute(select(Survey.name, Survey.product_name)).all()
        assert sorted(names) == [("Named", "TPS"), ("Old", "Initech")]
        db.session.remove()
        db.engine.dispose()

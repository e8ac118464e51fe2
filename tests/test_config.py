"""Settings: environment classes, typed environment overrides, secrets, database URIs."""

import os
import stat

import pytest
from sqlalchemy import text

import config
from api import create_app
from api.extensions import db


def test_defaults_per_environment():
    assert config.load("testing", environ={})["TESTING"] is True
    assert config.load("production", environ={})["TESTING"] is False
    development = config.load(environ={})
    assert development["ENV_NAME"] == "development"
    assert development["DEBUG"] is False


def test_environment_picks_the_class():
    assert config.load(environ={"FLIPFUNNEL_ENV": "testing"})["ENV_NAME"] == "testing"
    # An explicit name wins over the environment's.
    assert config.load("production", environ={"FLIPFUNNEL_ENV": "testing"})["ENV_NAME"] == (
        "production"
    )


def test_environment_overrides_are_typed():
    settings = config.load(
        "production",
        environ={
            "IDEMPOTENCY_LOCK_SECONDS": "30",  # int
            "PAGE_SIZE_MAX": " 200 ",  # int, with blanks
            "DEBUG": "true",  # bool
            "TESTING": "yes",  # bool
            "SECRET_KEY_FALLBACKS": "old-1, old-2,,",  # list, blanks dropped
            "BASE_URL": "https://survey.example.com",  # str
            "RATELIMIT_API": "10 per second",  # str
            "NOT_A_SETTING": "ignored",
        },
    )
    assert settings["IDEMPOTENCY_LOCK_SECONDS"] == 30
    assert settings["PAGE_SIZE_MAX"] == 200
    assert settings["DEBUG"] is True and settings["TESTING"] is True
    assert settings["SECRET_KEY_FALLBACKS"] == ["old-1", "old-2"]
    assert settings["BASE_URL"] == "https://survey.example.com"
    assert settings["RATELIMIT_API"] == "10 per second"
    assert "NOT_A_SETTING" not in settings


@pytest.mark.parametrize(
    ("text_value", "expected"),
    [("1", True), ("TRUE", True), ("on", True), ("0", False), ("false", False), ("", False)],
)
def test_bool_overrides(text_value, expected):
    assert config.load("production", environ={"DEBUG": text_value})["DEBUG"] is expected


def test_bad_int_override_fails_loudly():
    with pytest.raises(ValueError):
        config.load("production", environ={"PAGE_SIZE_MAX": "many"})


def test_defaults_are_not_shared_between_loads():
    first = config.load("production", environ={})
    first["SECRET_KEY_FALLBACKS"].append("leaked")
    assert config.load("production", environ={})["SECRET_KEY_FALLBACKS"] == []


def test_secret_key_fallbacks_reach_the_app(monkeypatch, database_uri):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", "first,second")
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_uri})
    assert app.config["SECRET_KEY_FALLBACKS"] == ["first", "second"]


def test_unknown_environment_raises():
    with pytest.raises(RuntimeError, match="FLIPFUNNEL_ENV"):
        config.load(environ={"FLIPFUNNEL_ENV": "staging"})
    with pytest.raises(RuntimeError):
        config.load("prod", environ={})


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x"})


def test_production_takes_the_secret_key_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app(
        {
            "ENV_NAME": "production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x",
            "RATELIMIT_STORAGE_URI": "memory://",  # not the repository's instance folder
        }
    )
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_development_generates_a_private_secret_key_once(tmp_path):
    settings = config.load("development", environ={})
    instance = tmp_path / "instance"
    first = config.secret_key(settings, str(instance))
    path = instance / "secret_key"
    assert path.exists()
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert config.secret_key(settings, str(instance)) == first
    assert [p.name for p in instance.iterdir()] == ["secret_key"]  # no temporary file left
    # Another instance folder, another key.
    assert config.secret_key(settings, str(tmp_path / "other")) != first


def test_testing_secret_keys_are_random_and_not_stored(tmp_path):
    settings = config.load("testing", environ={})
    assert config.secret_key(settings, str(tmp_path)) != config.secret_key(settings, str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_set_secret_key_wins(tmp_path):
    settings = config.load("development", environ={"SECRET_KEY": "set"})
    assert config.secret_key(settings, str(tmp_path)) == "set"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/ff", "postgresql+psycopg://u:p@db:5432/ff"),
        ("postgresql://u@db/ff?sslmode=require", "postgresql+psycopg://u@db/ff?sslmode=require"),
        ("postgresql+psycopg://u@db/ff", "postgresql+psycopg://u@db/ff"),
        ("sqlite:////data/ff.db", "sqlite:////data/ff.db"),
    ],
)
def test_database_uri(url, expected):
    assert config.database_uri(url, "/instance") == expected


def test_empty_database_url_is_a_sqlite_file_in_the_instance_folder(tmp_path):
    assert config.database_uri("", str(tmp_path)) == f"sqlite:///{tmp_path / 'flipfunnel.db'}"


def test_sqlite_connections_are_configured(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            busy = connection.execute(text("PRAGMA busy_timeout")).scalar()
            assert busy == app.config["SQLITE_BUSY_TIMEOUT_MS"] == 5000

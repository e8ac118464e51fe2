"""Query strings that many callers send are loaded once per worker, with webargs' answer."""

import pytest
from flask import Flask
from marshmallow import Schema, fields, post_load, validate
from werkzeug.exceptions import UnprocessableEntity

from api.http.openapi import ArgumentsParser


class Wall(Schema):
    shared_query = True
    loads = 0

    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    tag = fields.String()

    @post_load
    def counted(self, data, **_kwargs):
        type(self).loads += 1
        return data


class PerUser(Wall):
    shared_query = False


@pytest.fixture
def parse():
    app = Flask(__name__)
    parser = ArgumentsParser()

    def parse(schema, query: str):
        with app.test_request_context(f"/?{query}"):
            return parser.parse(schema, location="query")

    parse.parser = parser
    Wall.loads = PerUser.loads = 0
    return parse


def test_a_shared_query_string_is_loaded_once_and_each_caller_gets_its_own_dict(parse):
    wall = Wall()
    first = parse(wall, "limit=5&tag=home")
    first["limit"] = 99  # a view changing its arguments changes nobody else's
    second = parse(wall, "limit=5&tag=home")
    assert second == {"limit": 5, "tag": "home"}
    assert Wall.loads == 1
    assert parse(wall, "tag=home") == {"limit": 20, "tag": "home"}
    assert Wall.loads == 2


def test_a_query_string_that_fails_is_refused_every_time_and_not_kept(parse):
    wall = Wall()
    for _ in range(2):
        with pytest.raises(UnprocessableEntity):
            parse(wall, "limit=0")
    assert parse.parser.remembered == {}


def test_other_schemas_are_loaded_on_every_request(parse):
    per_user = PerUser()
    parse(per_user, "limit=5")
    parse(per_user, "limit=5")
    assert PerUser.loads == 2
    assert parse.parser.remembered == {}


def test_no_more_than_remembered_query_strings_are_kept(parse):
    wall = Wall()
    for limit in range(1, ArgumentsParser.REMEMBERED + 20):
        parse(wall, f"limit={min(limit, 100)}&tag=t{limit}")
    assert len(parse.parser.remembered) == ArgumentsParser.REMEMBERED

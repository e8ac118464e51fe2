"""The suite wipes only databases named for tests."""

import pytest

from tests import scratch


@pytest.mark.parametrize(
    "name", ["test", "flipfunnel_test", "test_ci", "app-test-2", "TESTS", "flipfunnel_tests"]
)
def test_names_that_say_test_are_accepted(name):
    assert scratch.is_test_name(name)


@pytest.mark.parametrize("name", ["flipfunnel", "production", "latest", "contest", "", None])
def test_other_names_are_refused(name):
    assert not scratch.is_test_name(name)


def test_a_production_database_is_never_opened():
    with pytest.raises(scratch.NotATestDatabase, match="'flipfunnel'"):
        # Refused before any connection: no server answers at this port.
        scratch.test_database("postgresql://postgres@127.0.0.1:1/flipfunnel")

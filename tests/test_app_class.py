"""The app remembers which hooks and views are coroutines, without changing Flask's rule."""

import pytest

from api import MAX_SYNC_FUNCTIONS


def test_a_plain_function_runs_as_it_is(app):
    def hook():
        return None

    assert app.ensure_sync(hook) is hook
    assert app.ensure_sync(hook) is hook  # remembered


def test_a_coroutine_function_still_goes_through_flasks_async_support(app):
    async def view():
        return "async"

    # Flask wraps it with asgiref when installed; it is not here, so Flask says so.
    with pytest.raises(RuntimeError, match="async"):
        app.ensure_sync(view)


def test_functions_made_per_request_do_not_pile_up(app_factory):
    app = app_factory()
    for _ in range(MAX_SYNC_FUNCTIONS + 50):

        def made_per_request(response):
            return response

        assert app.ensure_sync(made_per_request) is made_per_request
    assert len(app._sync_functions) <= MAX_SYNC_FUNCTIONS

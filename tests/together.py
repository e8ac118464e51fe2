"""Requests made at the same moment from many threads, for the tests of races."""

import threading


def run_together(app, count: int, call, timeout: float = 60) -> list:
    """`call(client, index)` in `count` threads released at once; their answers, by index.

    Each thread has its own test client. A thread's exception fails the caller.
    """
    barrier = threading.Barrier(count)
    answers, errors = [None] * count, []

    def run(index):
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            answers[index] = call(client, index)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors
    return answers

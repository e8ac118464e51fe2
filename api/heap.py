"""What a long-running process built at start-up stays out of the garbage collector's way.

Python's full collection walks every object the collector tracks. Once the app is
made, some 180,000 of them are its own (routes, schemas, SQLAlchemy's mappers,
templates, translations) and live as long as the process: walking them finds nothing,
yet a request that allocates a lot (a batch of 10,000 invitations) set off a full
collection in the POST and another in the worker's job, 190 ms of CPU each. Frozen,
they are not walked: the same collections took 40 ms.
"""

import gc
from contextlib import contextmanager


def freeze_startup() -> None:
    """Called once a process has made its app (wsgi.py, `flask worker`), before serving.

    Garbage is collected first, so that only what is alive is frozen: a frozen cycle
    would never be freed. Objects made later are collected as usual.
    """
    gc.collect()
    gc.freeze()


@contextmanager
def collector_paused():
    """Around one chunk of a batch's invitations (`batches.run_batch`, 10,000 contacts).

    A chunk makes hundreds of thousands of containers (references, rows, parameters)
    that die by reference counting when it ends. Meanwhile the collector ran anyway,
    each full collection walking the batch's live references again: 11 of them, 1.0 s
    of a 100,000-contact batch's 12 s job on SQLite. Collection resumes when the chunk
    ends, so a cycle made meanwhile (by another thread too) waits one chunk at most. A
    pause already under way is left to whoever made it. (A CSV import's chunks gained
    nothing from it: their live data is strings, which the collector does not track.)
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()

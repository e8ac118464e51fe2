"""Background jobs: work a request asks for and the worker carries out.

A request enqueues a job in its own transaction (`queue.enqueue`), so the job
exists exactly when the request's change does; the worker claims it under a
lease, runs the handler registered for its kind, and records progress and the
result. Partners follow it at `GET /v1/jobs/{id}`.
"""

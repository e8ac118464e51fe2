"""Webhooks: endpoints subscribe to event types; every event becomes one durable
delivery per matching endpoint, signed per Standard Webhooks, sent by the worker,
retried on a schedule, logged attempt by attempt, replayable.

    models.py      endpoints, deliveries, attempts, the fan-out cursor
    endpoints.py   create, change, rotate the secret, ping
    secrets.py     signing secrets derived from SECRET_KEY (nothing to leak)
    ssrf.py        which URLs and addresses a webhook may go to
    fanout.py      events -> deliveries, in feed order, behind a durable cursor
    deliveries.py  claiming due deliveries, recording attempts, the schedule, replay
    messages.py    the bytes sent: Standard Webhooks JSON, or Slack Block Kit
    sender.py      outbound HTTP: the checked address, bounded pool, deadlines
    dispatch.py    the worker's delivery loop, tying these together
"""

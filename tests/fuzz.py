"""`make fuzz`: schemathesis against `/openapi.json` of the running app.

The app runs under gunicorn and gunicorn.conf.py on a free loopback port, on a
scratch SQLite database migrated for the run, with a workspace whose secret key
(`/v1`) and publishable key (`/w/v1`, `/public/v1`) were made for it and a few
objects for the generated calls to find. schemathesis reads the document the
app serves and sends what it describes, within a time budget; the run fails on
any server error and on any answer the document does not describe: its status,
content type, headers or body. Runs in CI after the linters.

    .venv/bin/python -m tests.fuzz [--max-time SECONDS] [schemathesis options...]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import flask_migrate

from api import create_app
from api.extensions import db
from api.widget import identity
from api.workspaces import keys
from tests.gunicorn_server import ROOT, Gunicorn

CONFIG = Path(__file__).with_name("schemathesis.toml")
# What must hold of every answer; the other checks judge the API's choices (which
# inputs it accepts), not whether the document tells the truth about it.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
GENEROUS = "1000000 per minute"
# Webhook endpoints on this machine (no delivery is made: no worker runs).
LOCAL_WEBHOOKS = {
    "WEBHOOKS_ALLOW_PRIVATE": True,
    "WEBHOOKS_ALLOW_HTTP": True,
}  # the fuzzer is one caller sending as fast as it can


def prepare(database_uri: str) -> tuple[dict[str, str], "Seeded"]:
    """Migrate the scratch database and make the run's workspace through the API itself:
    (its keys as environment variables, what `seed` made)."""
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_uri, **LOCAL_WEBHOOKS, "SECRET_KEY": "fuzz"}
    )
    with app.app_context():
        flask_migrate.upgrade(directory=str(ROOT / "migrations"))
        _, secret, publishable = keys.create_workspace("Fuzz")
        db.session.commit()
        db.engine.dispose()
    keys_made = {"FUZZ_SECRET_KEY": secret, "FUZZ_PUBLISHABLE_KEY": publishable}
    return keys_made, seed(app.test_client(), secret)


class Seeded(NamedTuple):
    # The ids of what the workspace holds, per path parameter name.
    ids: dict[str, list[str]]
    # Parameters some operations always take, by operation name ("GET /w/v1/referral").
    pinned: dict[str, dict[str, str]]
    # The signed token of each hosted page, by its path's first segment ("s"): a token
    # opens one page only, so each page draws from its own.
    tokens: dict[str, list[str]]


def seed(client, secret: str) -> Seeded:
    """A few objects of each kind, so generated calls reach more than a 404."""
    ids: dict[str, list[str]] = {}

    def call(method: str, path: str, body: dict | None = None, name: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {secret}"}
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code < 300, (method, path, response.get_data(as_text=True))
        answer = response.get_json()
        if name:
            ids.setdefault(name, []).append(answer["id"])
        return answer

    for index in range(3):
        external_id = f"fuzz-{index}"
        call(
            "POST",
            "/v1/contacts",
            {"external_id": external_id, "email": f"{external_id}@fuzz.test"},
        )
        ids.setdefault("external_id", []).append(external_id)
    # Anonymous visitors too: an eligibility call without a user then answers a display,
    # whose links lead the stateful phase on to the widget's POSTs.
    widget = {"widget_enabled": True, "allow_anonymous": True}
    survey = call("POST", "/v1/surveys", {"name": "Fuzz", "kind": "nps", **widget})
    ids["survey_id"] = [survey["id"]]
    for index, score in enumerate((2, 8, 10)):
        body = {
            "survey_id": survey["id"],
            "score": score,
            "contact": {"external_id": f"fuzz-{index}"},
        }
        call("POST", "/v1/responses", body, "response_id")
    for queue in ("follow-up", "advocacy"):
        items = call("GET", f"/v1/queues/{queue}/items")["data"]
        ids.setdefault("item_id", []).extend(item["id"] for item in items)
    ids["queue"] = ["follow-up", "advocacy"]
    reward = {"kind": "money", "amount": 25, "currency": "USD"}
    program = {"enabled": True, "hold_days": 0, "landing_url": "https://fuzz.test/"}
    call("PUT", "/v1/referral-program", program | {"referrer_reward": reward})
    code = call("POST", "/v1/referral-codes", {"contact": {"external_id": "fuzz-2"}})
    ids["id_or_code"] = [code["id"], code["code"]]
    referral = call(
        "POST",
        "/v1/referrals",
        {"code": code["code"], "customer": {"external_id": "friend", "email": "friend@fuzz.test"}},
        "referral_id",
    )
    call(
        "POST",
        f"/v1/referrals/{referral['id']}/conversions",
        {"order_id": "o-1", "amount": 100, "currency": "USD"},
    )
    ids["reward_id"] = [reward["id"] for reward in call("GET", "/v1/rewards")["data"]]
    call(
        "POST",
        "/v1/testimonials",
        {
            "contact": {"external_id": "fuzz-2"},
            "text": "Good.",
            "display_name": "F.",
            "consent": {"text": "You may quote me."},
        },
        "testimonial_id",
    )
    destination = {"name": "G2", "url": "https://fuzz.test/review"}
    settings = {"review_ask": "everyone", "review_destinations": [destination]}
    settings = call("PATCH", "/v1/advocacy-settings", settings)
    ids["destination_id"] = [each["id"] for each in settings["review_destinations"]]
    review = call(
        "POST", "/v1/review-requests", {"contact": {"external_id": "fuzz-1"}}, "review_request_id"
    )
    # The hosted pages' signed tokens: the survey page, the preference page, the review ask.
    body = {"contact": {"external_id": "fuzz-3", "email": "fuzz-3@fuzz.test"}, "channel": "link"}
    (link,) = call("POST", f"/v1/surveys/{survey['id']}/invitations", body)["invitations"]
    tokens = {
        page: [url.rsplit("/", 1)[-1]]
        for page, url in (("s", link["url"]), ("p", link["unsubscribe_url"]), ("rv", review["url"]))
    }
    ids["workspace_id"] = [call("GET", "/v1/workspace")["id"]]
    endpoint = call(
        "POST", "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"}, "endpoint_id"
    )
    call("POST", f"/v1/webhook-endpoints/{endpoint['id']}/ping")
    deliveries = call("GET", f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")["data"]
    ids["delivery_id"] = [delivery["id"] for delivery in deliveries]
    # Work for the worker, left queued (no worker runs): a CSV import and a batch too
    # large to invite in the request, with the jobs they enqueued.
    upload = client.post(
        "/v1/contacts/imports",
        data=b"external_id,email\nfuzz-import,import@fuzz.test\n",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "text/csv"},
    )
    assert upload.status_code == 202, upload.get_data(as_text=True)
    ids["import_id"] = [upload.get_json()["id"]]
    many = [{"external_id": f"fuzz-batch-{index}", "first_name": "F"} for index in range(101)]
    batch = call("POST", f"/v1/surveys/{survey['id']}/invitations", {"contacts": many})
    ids["batch_id"] = [batch["id"]]
    ids["job_id"] = [job["id"] for job in call("GET", "/v1/jobs")["data"]]
    # A key of its own for /v1/keys/{key_id}, which may revoke it: not the run's.
    call("POST", "/v1/keys", {"kind": "secret", "name": "to revoke"}, "key_id")
    # Revoking or rotating a key takes the spare one, always: the run's own key is in
    # GET /v1/keys, and a fuzzer that found it there rotated it (its old self expiring
    # at once with `grace_hours: 0`) and met 401 on every operation after.
    (spare,) = ids["key_id"]
    pinned = {
        name: {"path.key_id": spare}
        for name in ("DELETE /v1/keys/{key_id}", "POST /v1/keys/{key_id}/rotate")
    }
    # The referral widget answers an identified user only: fuzz-2, who has a code. (A
    # rotation of the identity secret during the run, which the fuzzer also calls, makes
    # this hash stale at once: from then on it answers 403 `invalid_user_hash`.)
    identity_secret = call("GET", "/v1/widget")["identity_secret"]
    pinned["GET /w/v1/referral"] = {
        "query.user_id": "fuzz-2",
        "query.user_hash": identity.user_hash(identity_secret, "fuzz-2"),
    }
    return Seeded({name: values for name, values in ids.items() if values}, pinned, tokens)


def run_config(seeded: Seeded, path: Path) -> Path:
    """tests/schemathesis.toml, the seeded ids as dictionaries its path parameters
    take most of the time (the rest is generated, as for every other parameter), and
    the pinned parameters (schemathesis applies an operation's in every phase)."""
    ids = seeded.ids
    lines = [CONFIG.read_text()]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for name in ids:
        lines.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}')
    for page, values in seeded.tokens.items():
        name = f"{page}_token"
        lines += ["", f"[dictionaries.{name}]", f"values = {json.dumps(values)}"]
        lines += ["", "[[operations]]", f'include-path-regex = "^/{page}/"']
        lines.append(
            f'parameters = {{ "path.token" = {{ dictionary = "{name}", probability = 0.8 }} }}'
        )
    for name, parameters in seeded.pinned.items():
        values = ", ".join(
            f"{json.dumps(key)} = {json.dumps(value)}" for key, value in parameters.items()
        )
        lines += ["", "[[operations]]", f"include-name = {json.dumps(name)}"]
        lines.append(f"parameters = {{ {values} }}")
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-time", type=int, default=90, help="seconds of fuzzing")
    options, extra = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="flipfunnel-fuzz-") as scratch:
        database_uri = f"sqlite:///{Path(scratch) / 'fuzz.db'}"
        made, seeded = prepare(database_uri)
        config = run_config(seeded, Path(scratch) / "schemathesis.toml")
        env = {
            "FLIPFUNNEL_ENV": "development",
            "DATABASE_URL": database_uri,
            "SECRET_KEY": "fuzz",
            "RATELIMIT_STORAGE_URI": "memory://",
            "REQUEST_LOG_QUEUED": "0",
            **{name: "1" for name in LOCAL_WEBHOOKS},
            **dict.fromkeys(
                (
                    "RATELIMIT_API",
                    "RATELIMIT_PUBLIC",
                    "RATELIMIT_WIDGET_KEY",
                    "RATELIMIT_WIDGET_IP",
                    "RATELIMIT_REDIRECT",
                ),
                GENEROUS,
            ),
        }
        server = Gunicorn(Path(scratch) / "gunicorn.log", env, workers=2)
        started = time.monotonic()
        try:
            command = [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(config),
                "run",
                f"http://127.0.0.1:{server.port}/openapi.json",
                "--url",
                f"http://127.0.0.1:{server.port}",
                "--checks",
                ",".join(CHECKS),
                "--max-time",
                str(options.max_time),
                *extra,
            ]
            status = subprocess.call(command, env={**os.environ, **made}, cwd=ROOT)  # noqa: S603
        finally:
            log = server.stop()
        errors = [line for line in log.splitlines() if "unhandled error" in line]
        print(f"fuzz: {time.monotonic() - started:.0f} s, schemathesis exit {status}")
        if errors:
            print("fuzz: the app logged server errors:\n" + "\n".join(errors[:20]))
            return status or 1
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

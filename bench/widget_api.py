"""The widget API's eligibility and answers against the baseline's constant `/json`.

Ours does the real work: the publishable key, the origin check, the signed user
identity, the survey choice and its throttles (eligibility); a first answer (a
new display each request, as every real answer is: the invitation, the response,
their counters, queue item and events written); and a retried answer (the same
display each time, the idempotent re-submit a retrying widget makes). The
database is a migrated SQLite file with a real workspace and widget survey.
PASS/FAIL against 0.5 for eligibility and the retry, and for a first answer
against 0.4 on SQLite and 0.2 on PostgreSQL; median ratio over rounds.
`--postgres` runs ours on a scratch database next to DATABASE_URL's instead.

    python -m bench.widget_api [--duration 5] [--rounds 3] [--postgres] [--only first-answer]
"""

import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from bench import throughput
from bench.throughput import (
    BASELINE_APP,
    Target,
    bench_app,
    compare,
    lua_string,
    migrated_database,
    run_bench,
)

MIN_RATIO = 0.5
FIRST_ANSWER_MIN_RATIO = {"sqlite": 0.4, "postgresql": 0.2}
ORIGIN = "https://shop.example.com"
UNLIMITED = {
    "RATELIMIT_WIDGET_KEY": "100000000 per minute",
    "RATELIMIT_WIDGET_IP": "100000000 per minute",
}


def seed(database: Path | str, fresh_displays: int = 0) -> dict:
    """A workspace, its widget survey, one identified user, one display token, and
    `fresh_displays` more, each for a display not shown yet (as eligibility signs them)."""
    from api import signing
    from api.extensions import db
    from api.ids import new_id
    from api.surveys.models import Survey
    from api.widget import identity
    from api.workspaces import keys

    app = bench_app(database)
    with app.app_context():
        workspace, _, publishable = keys.create_workspace("Bench")
        workspace.allowed_origins = [ORIGIN]
        db.session.add(
            Survey(
                workspace_id=workspace.id,
                name="Bench",
                kind="nps",
                widget_enabled=True,
                resurvey_days=0,
                decline_days=0,
            )
        )
        db.session.commit()
        user_hash = identity.user_hash(identity.identity_secret(workspace), "bench-user")
        query = {"key": publishable, "user_id": "bench-user", "user_hash": user_hash}
        client = app.test_client()
        answer = client.get(f"/w/v1/eligibility?{urlencode(query)}", headers={"Origin": ORIGIN})
        display = answer.get_json()["display"]
        shown = signing.unsign(signing.WIDGET_DISPLAY, display, 60)
        fresh = [
            signing.sign(signing.WIDGET_DISPLAY, {**shown, "i": new_id("inv")})
            for _ in range(fresh_displays)
        ]
        db.engine.dispose()
    return {"query": urlencode(query), "key": publishable, "display": display, "fresh": fresh}


# Each request answers a display of its own. wrk runs a new process per round (and for
# the warm-up), so where the last run stopped is kept in a file beside the tokens.
FIRST_ANSWER_LUA = """
local tokens_path, position_path = %(tokens)s, %(position)s
local threads, next_id = {}, 1
function setup(thread)
  thread:set("id", next_id)
  table.insert(threads, thread)
  next_id = next_id + 1
end
function init(args)
  tokens = {}
  for line in io.lines(tokens_path) do tokens[#tokens + 1] = line end
  available = #tokens
  local file = io.open(position_path)
  base = tonumber(file:read("*l")) or 0
  file:close()
  sent = 0
  wrk.method = "POST"
  wrk.headers["Origin"] = %(origin)s
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  local index = base + sent * %(threads)d + id
  sent = sent + 1
  if index > #tokens then index = (index %% #tokens) + 1 end
  return wrk.format(nil, nil, nil, '{"display":"' .. tokens[index] .. '","score":9}')
end
function done(summary, latency, requests)
  local most, start, total = 0, 0, 0
  for _, thread in ipairs(threads) do
    most = math.max(most, thread:get("sent") or 0)
    start, total = thread:get("base") or start, thread:get("available") or total
  end
  local file = io.open(position_path, "w")
  file:write(tostring(start + (most + 1) * %(threads)d))
  file:close()
  if start + most * %(threads)d > total then
    io.stderr:write("first-answer tokens ran out: later answers were retries\\n")
  end
end
"""


def first_answer_target(seeded: dict, env: dict, workdir: Path, threads: int) -> Target:
    """A first answer per request: the tokens after the first, which the probe uses."""
    tokens, position = workdir / "first-answer-tokens.txt", workdir / "first-answer-position"
    tokens.write_text("\n".join(seeded["fresh"][1:]) + "\n")
    position.write_text("0")
    lua = FIRST_ANSWER_LUA % {
        "tokens": lua_string(str(tokens)),
        "position": lua_string(str(position)),
        "origin": lua_string(ORIGIN),
        "threads": threads,
    }
    return Target(
        "ours-first-answer",
        "wsgi:app",
        f"/w/v1/responses?key={seeded['key']}",
        method="POST",
        body=json.dumps({"display": seeded["fresh"][0], "score": 9}),
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
        env=env,
        lua=lua,
    )


def main(argv: list[str] | None = None) -> int:
    parser = throughput.comparison_options("python -m bench.widget_api", MIN_RATIO)
    parser.add_argument(
        "--only", choices=("eligibility", "first-answer", "retried-answer"), help="one figure"
    )
    args = parser.parse_args(argv)

    suffix = "-postgres" if args.postgres else ""
    engine = "postgresql" if args.postgres else "sqlite"
    # Enough new displays for the warm-up and every round at 4,000 answers a second.
    fresh = 4000 * round(args.duration * args.rounds + 3) + 1

    def run() -> None:
        with (
            migrated_database(args.postgres, UNLIMITED) as (where, env),
            tempfile.TemporaryDirectory() as workdir,
        ):
            seeded = seed(where, fresh)
            baseline = Target("baseline-json", BASELINE_APP, "/json")
            wanted = {args.only} if args.only else {"eligibility", "first-answer", "retried-answer"}
            if "eligibility" in wanted:
                compare(
                    Target(
                        "ours-eligibility",
                        "wsgi:app",
                        f"/w/v1/eligibility?{seeded['query']}",
                        headers={"Origin": ORIGIN},
                        env=env,
                    ),
                    baseline,
                    **throughput.comparison(args, f"widget-eligibility{suffix}"),
                )
            if "first-answer" in wanted:
                compare(
                    first_answer_target(seeded, env, Path(workdir), args.threads),
                    baseline,
                    **throughput.comparison(args, f"widget-first-answer{suffix}")
                    | {"min_ratio": FIRST_ANSWER_MIN_RATIO[engine]},
                )
            if "retried-answer" in wanted:
                compare(
                    Target(
                        "ours-retried-answer",
                        "wsgi:app",
                        f"/w/v1/responses?key={seeded['key']}",
                        method="POST",
                        body=json.dumps({"display": seeded["display"], "score": 9}),
                        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
                        env=env,
                    ),
                    baseline,
                    **throughput.comparison(args, f"widget-retried-answer{suffix}"),
                )

    return run_bench(run)


if __name__ == "__main__":
    sys.exit(main())

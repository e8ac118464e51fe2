"""Sizes of the widget scripts exactly as served, against their budgets.

Fetches /widgets/v1/<name> from the app (test client, no compression asked), so it
measures the bytes we serve (the minified build in widgets/dist, the loader with
the other scripts' versions filled in), then reports raw, `gzip -9` (the budget)
and brotli when the `brotli` command or Python module is there. Exit status 1 if
any is over. Budgets: what a page pays before and while a widget shows.

    python -m bench.widget_sizes
"""

import gzip
import shutil
import subprocess
import sys
from dataclasses import dataclass

# Budgets in bytes of `gzip -9`: 1 KB = 1024 bytes.
BUDGETS = {
    "loader.js": 1024,
    "survey.js": 6 * 1024,
    "referral.js": 4 * 1024,
    "wall.js": 3 * 1024,
}


@dataclass(frozen=True)
class Size:
    name: str
    raw: int
    gzip: int
    brotli: int | None
    budget: int

    @property
    def passed(self) -> bool:
        return self.gzip <= self.budget


def gzip9(data: bytes) -> int:
    if shutil.which("gzip"):
        return len(subprocess.run(["gzip", "-9", "-c"], input=data, capture_output=True).stdout)
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def brotli_size(data: bytes) -> int | None:
    try:
        import brotli  # type: ignore[import-not-found]

        return len(brotli.compress(data, quality=11))
    except ImportError:
        pass
    if shutil.which("brotli"):
        command = ["brotli", "-c", "-q", "11"]
        return len(subprocess.run(command, input=data, capture_output=True).stdout)
    return None


def served(name: str, client) -> bytes:
    response = client.get(f"/widgets/v1/{name}")
    if response.status_code != 200:
        raise RuntimeError(f"/widgets/v1/{name} answered {response.status_code}")
    return response.data


def measure() -> list[Size]:
    from api import create_app

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    client = app.test_client()
    rows = []
    for name, budget in BUDGETS.items():
        data = served(name, client)
        rows.append(Size(name, len(data), gzip9(data), brotli_size(data), budget))
    return rows


def main() -> int:
    rows = measure()
    print(f"{'file':<13} {'raw':>7} {'gzip -9':>8} {'brotli':>7} {'budget':>7}  result")
    for row in rows:
        brotli = "n/a" if row.brotli is None else str(row.brotli)
        verdict = "PASS" if row.passed else "FAIL"
        print(f"{row.name:<13} {row.raw:>7} {row.gzip:>8} {brotli:>7} {row.budget:>7}  {verdict}")
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The word lists the referral rules read from data/ (reserved and blocked words,
disposable mail domains): one lower-case entry a line, ``#`` starts a comment."""

from pathlib import Path

_DATA_DIR = Path(__file__).parent / "data"


def load(name: str) -> list[str]:
    entries = []
    for raw in (_DATA_DIR / name).read_text(encoding="utf-8").splitlines():
        entry = raw.split("#", 1)[0].strip().lower()
        if entry:
            entries.append(entry)
    return entries

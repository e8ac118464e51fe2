"""Public identifiers: a type prefix and a time-ordered random part.

`con_01JD3...` tells a support engineer what kind of object an id names, and
because the random part starts with the creation time (a ULID), sorting by id
sorts by creation, which is what cursor pagination walks.
"""

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 32  # column size: the longest prefix (4) + "_" + 26


def _ulid() -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_CROCKFORD[index])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    return f"{prefix}_{_ulid()}"

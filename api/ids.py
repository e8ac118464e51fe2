"""Public identifiers: a type prefix and a time-ordered random part.

`con_01JD3...` tells a support engineer what kind of object an id names, and
because the random part starts with the creation time (a ULID), sorting by id
sorts by creation, which is what cursor pagination walks.
"""

import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two digits (10 bits) per step: a batch of 10,000 invitations makes 20,000 ids, and
# 26 divmods each took 0.2 s of it.
_PAIRS = [high + low for high in _CROCKFORD for low in _CROCKFORD]
_PAIR_SHIFTS = tuple(range(120, -1, -10))  # 13 pairs: 130 bits, the top two always 0


def _ulid() -> str:
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in _PAIR_SHIFTS])


def new_id(prefix: str) -> str:
    return f"{prefix}_{_ulid()}"

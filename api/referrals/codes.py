"""Referral codes: generation, normalisation of typed input, and vanity-code rules.

Pure functions only; the database layer calls them. Uniqueness is enforced by the
database (a unique index on the canonical form, see below) and :func:`issue_code`
retries on conflict.

Generated codes
---------------
ALPHABET is upper-case letters and digits without the characters people confuse when
reading a code aloud or copying it from a screen: 0/O, 1/I/L. We also drop U (as
Crockford's base32 does): with U gone the commonest four-letter obscenities (FUCK,
CUNT, ...) cannot come out of the generator at all, and of the vowels only A, E
remain, so accidental words are rarer. That leaves 8 digits + 22 letters = 30 symbols.

Length and collisions. With N = 30**L possible codes there are two bounds:

* Birthday bound, chance of *any* collision among n codes:
  ``1 - exp(-n**2 / (2 * N))`` -> :func:`collision_probability`. For n = 10 million
  this is ~1 for every length up to 9 (30**9 = 2e13, n**2 / 2N = 2.5), so *some* pair
  of codes will collide at that scale whatever we pick. That is fine because we do
  not assume uniqueness: the database rejects a duplicate and we draw again.
* Per-insert bound, chance that *one new* code hits one of n existing codes:
  ``1 - exp(-n / N)`` (~ n / N) -> :func:`new_code_collision_probability`. This is
  the number that matters for the retry loop: it is the probability a single insert
  has to retry. We want it under 1e-4 at 10 million codes.

  L = 6: N = 7.29e8   -> 1.4e-2   (too high)
  L = 7: N = 2.19e10  -> 4.6e-4   (too high)
  L = 8: N = 6.56e11  -> 1.5e-5   (chosen)

So CODE_LENGTH = 8: one insert in ~66,000 retries once at 10 million codes, and all
eight attempts of :func:`issue_code` fail with probability ~(1.5e-5)**8 ~ 3e-39.
Codes are stored and shown ungrouped (``"K7WQ3MZB"``); input may be grouped by the
user and is normalised by :func:`normalize_code`.

Typed input
-----------
:func:`normalize_code` upper-cases and removes whitespace and dashes. It maps no
look-alike characters: 0, O, 1, I and L are all outside the generated alphabet, so a
typed "O" could only be a mistake for a character that is itself not in any
generated code (mapping O->0 or 0->O would never turn it into a valid one), while
for vanity codes the letters are what the person chose ("LOOP" must stay "LOOP").
Characters outside the alphabet therefore make the input invalid as a generated
code (:func:`is_generated_shape` is False); it can still match a vanity code.

Vanity codes and the canonical form
-----------------------------------
A vanity code may use any ASCII letters and digits, with single hyphens between
them. Its canonical form is ``normalize_code(text)``: upper-case with the hyphens
removed. Hyphens are a readability aid only, so "my-shop", "MyShop" and "MY SHOP"
all name the same code, and looking up whatever a user types with
``normalize_code`` finds it. The database's unique index is on this canonical
(upper-case, hyphen-free) form, shared by generated and vanity codes, which makes
uniqueness case-insensitive and also stops two vanity codes that differ only in
hyphens. The 4..20 length limits count the canonical characters.
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable

from api.referrals import word_lists

__all__ = [
    "ALPHABET",
    "BLOCKED_SUBSTRINGS",
    "BLOCKED_WHOLE_WORDS",
    "CODE_LENGTH",
    "RESERVED_WORDS",
    "VANITY_MAX_LENGTH",
    "VANITY_MIN_LENGTH",
    "CodeSpaceExhausted",
    "InvalidVanityCode",
    "collision_probability",
    "generate_code",
    "is_generated_shape",
    "issue_code",
    "new_code_collision_probability",
    "normalize_code",
    "validate_vanity",
]

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8

VANITY_MIN_LENGTH = 4
VANITY_MAX_LENGTH = 20

_ALPHABET_SET = frozenset(ALPHABET)
_SYSTEM_RANDOM = secrets.SystemRandom()

# Whitespace is removed via str.split(); these are the dashes removed as separators
# (ASCII hyphen-minus plus the Unicode dashes phones substitute when autocorrecting).
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DASH_TABLE = str.maketrans("", "", _DASHES)

# Leetspeak digits mapped back to letters before the offensive-word check.
_LEET_TABLE = str.maketrans("013457", "oieast")


RESERVED_WORDS: frozenset[str] = frozenset(
    word.replace("-", "") for word in word_lists.load("reserved_words.txt")
)

_blocked = word_lists.load("blocked_words.txt")
# Plain entries are blocked anywhere in a code; "=word" entries only as the whole code.
BLOCKED_SUBSTRINGS: frozenset[str] = frozenset(w for w in _blocked if not w.startswith("="))
BLOCKED_WHOLE_WORDS: frozenset[str] = frozenset(w[1:] for w in _blocked if w.startswith("="))
del _blocked


class CodeSpaceExhausted(RuntimeError):
    """Every attempt of :func:`issue_code` hit an existing code."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(
            f"could not issue a unique referral code after {attempts} attempts; "
            "the code space may be nearly full or the store keeps rejecting inserts"
        )


class InvalidVanityCode(ValueError):
    """A requested vanity code was refused; ``reason_code`` is machine-readable.

    Reasons: ``too_short``, ``too_long``, ``bad_characters``, ``reserved``, ``offensive``.
    """

    def __init__(self, reason_code: str, message: str) -> None:
        self.reason_code = reason_code
        self.message = message
        super().__init__(reason_code, message)

    def __str__(self) -> str:
        return f"{self.reason_code}: {self.message}"


def collision_probability(n_codes: int, length: int) -> float:
    """Birthday bound: chance that *any* two of ``n_codes`` random codes are equal.

    Approximation ``1 - exp(-n**2 / (2 * len(ALPHABET)**length))``.
    """
    space = len(ALPHABET) ** length
    return -math.expm1(-(n_codes**2) / (2 * space))


def new_code_collision_probability(n_existing: int, length: int) -> float:
    """Chance that one new random code equals one of ``n_existing`` distinct codes.

    ``1 - exp(-n / len(ALPHABET)**length)``, i.e. about ``n / N``: the probability that
    a single insert has to be retried.
    """
    space = len(ALPHABET) ** length
    return -math.expm1(-n_existing / space)


def generate_code(rng: random.Random = _SYSTEM_RANDOM) -> str:
    """Return a random code of CODE_LENGTH characters from ALPHABET.

    The default source is the OS CSPRNG; pass a seeded ``random.Random`` for
    reproducible output in tests.
    """
    return "".join(rng.choice(ALPHABET) for _ in range(CODE_LENGTH))


def issue_code(
    exists_or_insert: Callable[[str], bool],
    *,
    attempts: int = 8,
    generate: Callable[[], str] = generate_code,
) -> str:
    """Generate codes until ``exists_or_insert`` manages to store one; return it.

    ``exists_or_insert(code)`` must try to store ``code`` and return True on success,
    False when the store reports a uniqueness conflict (e.g. it caught the database's
    IntegrityError on the unique index). Any other exception propagates unchanged.
    Raises :class:`CodeSpaceExhausted` after ``attempts`` conflicts.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for _ in range(attempts):
        candidate = generate()
        if exists_or_insert(candidate):
            return candidate
    raise CodeSpaceExhausted(attempts)


def normalize_code(text: str) -> str:
    """Canonical form of a typed or stored code: upper-case, no whitespace or dashes.

    Look-alike characters are not mapped (see the module docstring). The result is
    not validated: use :func:`is_generated_shape` or a lookup to decide validity.
    """
    return "".join(text.split()).translate(_DASH_TABLE).upper()


def is_generated_shape(code: str) -> bool:
    """True when ``code`` (after :func:`normalize_code`) could be a generated code."""
    canonical = normalize_code(code)
    return len(canonical) == CODE_LENGTH and all(ch in _ALPHABET_SET for ch in canonical)


def _has_bad_characters(text: str) -> bool:
    """Allowed: ASCII letters and digits, with single hyphens only between them."""
    if not text:
        return False  # reported as too_short instead
    if not text.isascii():
        return True
    return not all(part.isalnum() for part in text.split("-"))


def validate_vanity(text: str) -> str:
    """Check a requested vanity code and return its canonical (stored) form.

    Leading and trailing whitespace is ignored. Raises :class:`InvalidVanityCode`
    with reason ``bad_characters``, ``too_short``, ``too_long``, ``reserved`` or
    ``offensive``, checked in that order.
    """
    stripped = text.strip()
    if _has_bad_characters(stripped):
        raise InvalidVanityCode(
            "bad_characters",
            "use only letters A-Z, digits 0-9 and single hyphens between them",
        )
    canonical = normalize_code(stripped)
    if len(canonical) < VANITY_MIN_LENGTH:
        raise InvalidVanityCode(
            "too_short", f"a code needs at least {VANITY_MIN_LENGTH} letters or digits"
        )
    if len(canonical) > VANITY_MAX_LENGTH:
        raise InvalidVanityCode(
            "too_long", f"a code can have at most {VANITY_MAX_LENGTH} letters or digits"
        )
    lower = canonical.lower()
    if lower in RESERVED_WORDS:
        raise InvalidVanityCode("reserved", "this code is reserved")
    if _is_offensive(lower):
        raise InvalidVanityCode("offensive", "this code contains a word we do not allow")
    return canonical


def _is_offensive(lower: str) -> bool:
    """``lower`` is a lower-case, hyphen-free code."""
    for form in {lower, lower.translate(_LEET_TABLE)}:
        if form in BLOCKED_WHOLE_WORDS or any(word in form for word in BLOCKED_SUBSTRINGS):
            return True
    return False

"""Domain errors: what a service raises when one of our rules says no.

A service knows the rule it enforces, not HTTP: it raises one of these kinds
with a machine code, a message for people and, where particular inputs are at
fault, `fields`. The HTTP layer (api/http/errors.py) maps each kind to its
status and answers in the one error format; a CLI command or the worker reads
the same facts without pretending to be a web request.
"""

from typing import TypeVar

T = TypeVar("T")


class DomainError(Exception):
    """A request our rules refuse. Subclasses say how, the HTTP layer says with what status."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.fields = fields or {}


class Invalid(DomainError):
    """The input breaks a rule (a score off the scale, an unknown contact reference)."""

    code = "validation_error"


class NotFound(DomainError):
    """What the request names does not exist in the caller's workspace."""

    code = "not_found"


class Conflict(DomainError):
    """The request disagrees with the current state (already claimed, order reported)."""

    code = "conflict"


class Gone(DomainError):
    """It existed but no longer can be used (an expired display or link)."""

    code = "gone"


class Unidentified(DomainError):
    """The rule needs to know who the caller is, and the call does not say (no user_hash)."""

    code = "unauthorized"


class Forbidden(DomainError):
    """The caller is known but may not do this (a wrong user hash)."""

    code = "forbidden"


def not_found(what: str) -> NotFound:
    """The one wording of a missing object: "No such reward."."""
    return NotFound(f"No such {what}.")


def found(value: T | None, what: str) -> T:
    """`value`, or NotFound in the one wording when a lookup found nothing (None)."""
    if value is None:
        raise not_found(what)
    return value

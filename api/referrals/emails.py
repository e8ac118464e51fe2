"""E-mail helpers for referral abuse rules: normalisation, disposable and free-mail domains.

``normalize_email`` gives the key used to spot one person signing up repeatedly with
variants of one mailbox (``Jane.Doe+promo@GoogleMail.com`` -> ``janedoe@gmail.com``).
It is for comparison only; keep the address the user typed for sending mail.
"""

from __future__ import annotations

from api.referrals import word_lists

__all__ = [
    "DISPOSABLE_DOMAINS",
    "PERSONAL_DOMAINS",
    "email_domain",
    "is_disposable",
    "is_personal_domain",
    "normalize_email",
]


# Domains where dots in the local part are ignored by the provider.
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


DISPOSABLE_DOMAINS: frozenset[str] = frozenset(word_lists.load("disposable_domains.txt"))

# Big free mail providers: two people at gmail.com are not colleagues, so the optional
# same-domain self-referral rule must not fire for these. Exact domain match.
PERSONAL_DOMAINS: frozenset[str] = frozenset(
    {
        # Google, Microsoft, Yahoo, Apple, AOL
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "outlook.de",
        "outlook.fr",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "hotmail.fr",
        "hotmail.it",
        "hotmail.es",
        "live.com",
        "live.co.uk",
        "live.de",
        "live.fr",
        "msn.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.de",
        "yahoo.fr",
        "yahoo.es",
        "yahoo.it",
        "yahoo.co.jp",
        "yahoo.com.br",
        "ymail.com",
        "rocketmail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aim.com",
        # Europe
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "posteo.de",
        "mailbox.org",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "interia.pl",
        "btinternet.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        # privacy-focused and others
        "proton.me",
        "protonmail.com",
        "protonmail.ch",
        "pm.me",
        "tutanota.com",
        "tuta.io",
        "fastmail.com",
        "hey.com",
        "zoho.com",
        "mail.com",
        "hushmail.com",
        # North American ISPs
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "bellsouth.net",
        "cox.net",
        "charter.net",
        "earthlink.net",
        # Asia
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "daum.net",
        "rediffmail.com",
    }
)


def _split(email: str) -> tuple[str, str]:
    """Strip and lower-case ``email``; return (local, domain) or raise ValueError."""
    if not isinstance(email, str):
        raise ValueError("email must be a string")
    text = email.strip().lower()
    if text.count("@") != 1:
        raise ValueError(f"not an email address (needs exactly one @): {email!r}")
    local, domain = text.split("@")
    domain = domain.removesuffix(".")  # "gmail.com." is the same fully-qualified domain
    if not local or not domain:
        raise ValueError(f"not an email address (empty local part or domain): {email!r}")
    if any(ch.isspace() for ch in text):
        raise ValueError(f"not an email address (contains whitespace): {email!r}")
    if any(not label for label in domain.split(".")):
        raise ValueError(f"not an email address (malformed domain): {email!r}")
    return local, domain


def normalize_email(email: str) -> str:
    """Return the comparison key of ``email``.

    Strips surrounding whitespace and lower-cases; removes a ``+tag`` from the local
    part for every domain; for gmail.com and googlemail.com also removes dots from the
    local part and rewrites googlemail.com to gmail.com. Raises ValueError for input
    without exactly one ``@``, or with an empty local part or domain (also after the
    tag or the Gmail dots are removed, e.g. ``+x@example.com``).
    """
    local, domain = _split(email)
    local = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    if not local:
        raise ValueError(f"not an email address (empty local part): {email!r}")
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    """Domain of the normalised address (so googlemail.com gives gmail.com)."""
    return normalize_email(email).rpartition("@")[2]


def _domain_and_parents(domain: str) -> list[str]:
    """``a.b.example.com`` -> [a.b.example.com, b.example.com, example.com, com]."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def is_disposable(email: str) -> bool:
    """True when the domain, or any parent domain, is a known disposable-mail domain."""
    return any(d in DISPOSABLE_DOMAINS for d in _domain_and_parents(email_domain(email)))


def is_personal_domain(email: str) -> bool:
    """True when the address is at a big free mail provider (exact domain match)."""
    return email_domain(email) in PERSONAL_DOMAINS

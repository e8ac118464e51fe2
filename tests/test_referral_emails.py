import pytest

from api.referrals.emails import (
    DISPOSABLE_DOMAINS,
    PERSONAL_DOMAINS,
    email_domain,
    is_disposable,
    is_personal_domain,
    normalize_email,
)


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane@Example.COM  ", "jane@example.com"),  # strip and lower-case
        ("jane+promo@example.com", "jane@example.com"),  # +tag removed for any domain
        ("jane+a+b@example.com", "jane@example.com"),
        ("jane.doe@example.com", "jane.doe@example.com"),  # non-gmail dots kept
        ("jane.doe+x@outlook.com", "jane.doe@outlook.com"),
        ("j.a.n.e@gmail.com", "jane@gmail.com"),  # gmail ignores dots
        ("Jane.Doe+Promo@GMail.com", "janedoe@gmail.com"),
        ("jane.doe@googlemail.com", "janedoe@gmail.com"),  # googlemail is gmail
        ("JANE.DOE+x@GoogleMail.com", "janedoe@gmail.com"),
        ("jane@gmail.com.", "jane@gmail.com"),  # trailing root dot
        ("jane@mail.example.co.uk", "jane@mail.example.co.uk"),
    ],
)
def test_normalize_email(email, expected):
    assert normalize_email(email) == expected
    assert normalize_email(expected) == expected


def test_gmail_variants_collapse_to_one_key():
    variants = ["janedoe@gmail.com", "jane.doe@gmail.com", "JaneDoe+1@googlemail.com"]
    assert len({normalize_email(v) for v in variants}) == 1


def test_dot_removal_is_gmail_only():
    assert normalize_email("jane.doe@example.com") != normalize_email("janedoe@example.com")


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "jane",
        "jane.example.com",  # no @
        "@example.com",  # empty local part
        "jane@",  # empty domain
        "jane@@example.com",
        "jane@doe@example.com",
        "+tag@example.com",  # local part empty once the tag is removed
        "...@gmail.com",  # local part empty once gmail dots are removed
        "jane doe@example.com",
        "jane@example..com",
        "jane@.example.com",
        None,
    ],
)
def test_invalid_email_raises_value_error(email):
    with pytest.raises(ValueError):
        normalize_email(email)
    with pytest.raises(ValueError):
        email_domain(email)


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("jane@Example.COM", "example.com"),
        ("jane@googlemail.com", "gmail.com"),
        ("jane@sub.example.org", "sub.example.org"),
    ],
)
def test_email_domain(email, domain):
    assert email_domain(email) == domain


def test_disposable_list_is_substantial():
    assert len(DISPOSABLE_DOMAINS) >= 100
    assert not any(d.startswith("#") or " " in d for d in DISPOSABLE_DOMAINS)


@pytest.mark.parametrize(
    "email",
    [
        "x@mailinator.com",
        "X@MAILINATOR.COM",
        "x@10minutemail.com",
        "x@guerrillamail.com",
        "x@yopmail.com",
        "x@temp-mail.org",
        "x@trashmail.com",
        "x@sharklasers.com",
        "x@getnada.com",
        "x@dispostable.com",
        "x@maildrop.cc",
        "x@abc.mailinator.com",  # subdomain of a listed domain
        "x@a.b.yopmail.com",
    ],
)
def test_is_disposable(email):
    assert is_disposable(email) is True


@pytest.mark.parametrize(
    "email",
    [
        "x@gmail.com",
        "x@example.com",
        "x@mailinator.com.example.org",  # listed domain as a prefix, not a parent
        "x@notmailinator.org",
        "x@com",
    ],
)
def test_is_not_disposable(email):
    assert is_disposable(email) is False


@pytest.mark.parametrize(
    "email",
    [
        "x@gmail.com",
        "x@googlemail.com",
        "x@outlook.com",
        "x@hotmail.com",
        "x@yahoo.com",
        "x@icloud.com",
        "x@gmx.de",
        "x@web.de",
        "x@proton.me",
        "x@protonmail.com",
        "x@AOL.com",
    ],
)
def test_is_personal_domain(email):
    assert is_personal_domain(email) is True


@pytest.mark.parametrize(
    "email", ["x@flipfunnel.com", "x@acme.io", "x@mail.gmail.com.evil.io", "x@mailinator.com"]
)
def test_is_not_personal_domain(email):
    assert is_personal_domain(email) is False


def test_personal_and_disposable_lists_do_not_overlap():
    assert not (PERSONAL_DOMAINS & DISPOSABLE_DOMAINS)

import math
import random
import string

import pytest

from api.referrals import codes
from api.referrals.codes import (
    ALPHABET,
    CODE_LENGTH,
    CodeSpaceExhausted,
    InvalidVanityCode,
    collision_probability,
    generate_code,
    is_generated_shape,
    issue_code,
    new_code_collision_probability,
    normalize_code,
    validate_vanity,
)

# --- alphabet ---------------------------------------------------------------


@pytest.mark.parametrize("ambiguous", ["0", "O", "1", "I", "L", "U"])
def test_alphabet_excludes_ambiguous_characters(ambiguous):
    assert ambiguous not in ALPHABET
    assert ambiguous.lower() not in ALPHABET


def test_alphabet_is_upper_case_ascii_alphanumeric_without_duplicates():
    assert set(ALPHABET) <= set(string.ascii_uppercase + string.digits)
    assert len(set(ALPHABET)) == len(ALPHABET) == 30


# --- generation -------------------------------------------------------------


def test_100k_seeded_codes_are_unique_well_formed_and_use_whole_alphabet():
    rng = random.Random(20240601)
    generated = [generate_code(rng) for _ in range(100_000)]
    assert len(set(generated)) == len(generated)
    assert all(len(code) == CODE_LENGTH for code in generated)
    used = set().union(*map(set, generated))
    assert used == set(ALPHABET)


def test_default_system_random_codes_are_well_formed():
    generated = [generate_code() for _ in range(2_000)]
    assert all(len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) for code in generated)
    assert all(is_generated_shape(code) for code in generated)
    assert len(set(generated)) > 1


def test_generation_is_deterministic_with_seeded_random():
    first = [generate_code(random.Random(7)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    rng_a, rng_b = random.Random(7), random.Random(7)
    seq_a = [generate_code(rng_a) for _ in range(5)]
    seq_b = [generate_code(rng_b) for _ in range(5)]
    assert seq_a == seq_b
    assert len(set(seq_a)) == 5
    assert generate_code(random.Random(8)) != first[0]


# --- issuing with retry -----------------------------------------------------


def _fake_generator(candidates):
    it = iter(candidates)
    return lambda: next(it)


def test_issue_code_retries_after_conflicts_and_returns_third_candidate():
    answers = iter([False, False, True])
    tried = []

    def exists_or_insert(code):
        tried.append(code)
        return next(answers)

    result = issue_code(
        exists_or_insert, generate=_fake_generator(["AAAA2222", "BBBB3333", "CCCC4444"])
    )
    assert result == "CCCC4444"
    assert tried == ["AAAA2222", "BBBB3333", "CCCC4444"]


def test_issue_code_returns_first_candidate_when_no_conflict():
    rng = random.Random(1)
    expected = generate_code(random.Random(1))
    assert issue_code(lambda code: True, generate=lambda: generate_code(rng)) == expected


@pytest.mark.parametrize("attempts", [1, 3, 8])
def test_issue_code_raises_after_exactly_attempts_conflicts(attempts):
    calls = []

    def always_conflicts(code):
        calls.append(code)
        return False

    rng = random.Random(3)
    with pytest.raises(CodeSpaceExhausted) as excinfo:
        issue_code(always_conflicts, attempts=attempts, generate=lambda: generate_code(rng))
    assert len(calls) == attempts
    assert excinfo.value.attempts == attempts
    assert str(attempts) in str(excinfo.value)


def test_issue_code_default_is_eight_attempts():
    calls = []
    with pytest.raises(CodeSpaceExhausted):
        issue_code(lambda code: calls.append(code) or False)
    assert len(calls) == 8
    assert all(is_generated_shape(code) for code in calls)


@pytest.mark.parametrize("attempts", [0, -1])
def test_issue_code_rejects_non_positive_attempts(attempts):
    with pytest.raises(ValueError):
        issue_code(lambda code: True, attempts=attempts)


def test_issue_code_does_not_swallow_store_errors():
    def broken_store(code):
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        issue_code(broken_store)


# --- collision figures ------------------------------------------------------


def test_single_new_code_collision_with_10_million_existing_is_below_1e_4():
    p = new_code_collision_probability(10_000_000, CODE_LENGTH)
    assert p < 1e-4
    assert p == pytest.approx(10_000_000 / 30**CODE_LENGTH, rel=1e-4)


def test_code_length_is_the_shortest_meeting_the_target():
    assert new_code_collision_probability(10_000_000, CODE_LENGTH - 1) > 1e-4


def test_retry_loop_exhaustion_is_negligible_at_10_million_codes():
    p = new_code_collision_probability(10_000_000, CODE_LENGTH)
    assert p**8 < 1e-30


def test_birthday_bound_shows_some_collision_is_expected_at_10_million():
    # Why uniqueness must be enforced by the database with retries.
    assert collision_probability(10_000_000, CODE_LENGTH) > 0.99
    assert collision_probability(1_000, CODE_LENGTH) < 1e-5


def test_collision_probability_matches_exact_birthday_for_small_space():
    # length 2 -> 900 codes; exact probability that 30 draws are not all distinct
    space, n = len(ALPHABET) ** 2, 30
    exact = 1 - math.prod((space - i) / space for i in range(n))
    assert collision_probability(n, 2) == pytest.approx(exact, abs=0.01)
    assert collision_probability(0, CODE_LENGTH) == 0.0


# --- normalisation and shape ------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("K7WQ3MZB", "K7WQ3MZB"),
        ("k7wq3mzb", "K7WQ3MZB"),
        ("  k7wq-3mzb ", "K7WQ3MZB"),
        ("K7W Q3M ZB", "K7WQ3MZB"),
        ("k7wq\u20133mzb", "K7WQ3MZB"),  # en dash from phone autocorrect
        ("k-7-w-q-3-m-z-b", "K7WQ3MZB"),
        ("my-shop", "MYSHOP"),
        ("LOOP", "LOOP"),  # no look-alike mapping: O stays O
        ("O0I1L", "O0I1L"),
    ],
)
def test_normalize_code(typed, expected):
    assert normalize_code(typed) == expected
    assert normalize_code(expected) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K7WQ3MZB", True),
        ("k7wq-3mzb", True),
        ("K7WQ3MZ", False),  # too short
        ("K7WQ3MZBB", False),  # too long
        ("K7WQ3MZ0", False),  # zero is not in the alphabet
        ("K7WQ3MZO", False),
        ("K7WQ3MZI", False),
        ("K7WQ3MZU", False),
        ("K7WQ3MZ!", False),
        ("", False),
    ],
)
def test_is_generated_shape(text, expected):
    assert is_generated_shape(text) is expected


# --- vanity codes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("jane", "JANE"),
        ("JaneDoe2024", "JANEDOE2024"),
        ("jane-doe", "JANEDOE"),
        ("a-b-c-d", "ABCD"),
        ("  loop  ", "LOOP"),
        ("Olli1", "OLLI1"),  # people may use any letters and digits
        ("x" * 20, "X" * 20),
        ("-".join("abcdefghij") + "-" + "-".join("klmnopqrst"), "ABCDEFGHIJKLMNOPQRST"),
        # harmless words that contain a whole-word-only entry
        ("classic", "CLASSIC"),
        ("grapevine", "GRAPEVINE"),
        ("therapist", "THERAPIST"),
        ("peacock", "PEACOCK"),
        ("document", "DOCUMENT"),
        ("spice-girl", "SPICEGIRL"),
        ("raccoon", "RACCOON"),
        ("analysis", "ANALYSIS"),
        ("swanky", "SWANKY"),
        ("admin2", "ADMIN2"),  # reserved words are matched as the whole code only
    ],
)
def test_vanity_accepted(text, canonical):
    assert validate_vanity(text) == canonical
    # whatever the user later types is found by normalising it the same way
    assert normalize_code(text) == canonical


@pytest.mark.parametrize("variant", ["jane-doe", "JANE-DOE", "Jane-Doe", "janeDOE", "JANEDOE"])
def test_vanity_canonical_form_is_case_and_hyphen_insensitive(variant):
    assert validate_vanity(variant) == "JANEDOE"


def _reason(text):
    with pytest.raises(InvalidVanityCode) as excinfo:
        validate_vanity(text)
    assert excinfo.value.args[0] == excinfo.value.reason_code
    assert excinfo.value.message
    return excinfo.value.reason_code


@pytest.mark.parametrize("text", ["", "   ", "a", "abc", "a-b-c", "ab-c"])
def test_vanity_too_short(text):
    assert _reason(text) == "too_short"


@pytest.mark.parametrize("text", ["x" * 21, "abcdefghij-klmnopqrstu"])
def test_vanity_too_long(text):
    assert _reason(text) == "too_long"


@pytest.mark.parametrize(
    "text",
    [
        "jane doe",  # inner space
        "jane_doe",
        "jane.doe",
        "jane--doe",  # double hyphen
        "-jane",  # leading hyphen
        "jane-",  # trailing hyphen
        "jäne",  # non-ASCII letter
        "jane\u2013doe",  # en dash is not a hyphen here
        "\uff2a\uff41\uff4e\uff45",  # full-width "Jane"
        "jane!",
        "x" * 30 + "!",  # bad characters reported before length
    ],
)
def test_vanity_bad_characters(text):
    assert _reason(text) == "bad_characters"


@pytest.mark.parametrize(
    "text",
    ["admin", "ADMIN", "support", "help", "flipfunnel", "Flip-Funnel", "null", "undefined",
     "test", "login", "sign-up", "signup", "postmaster"],
)  # fmt: skip
def test_vanity_reserved(text):
    assert _reason(text) == "reserved"


def test_reserved_list_is_loaded_with_at_least_30_entries():
    assert len(codes.RESERVED_WORDS) >= 30
    assert {"admin", "api", "www", "support", "flipfunnel", "null", "undefined"} <= (
        codes.RESERVED_WORDS
    )
    assert not any(word.startswith("#") for word in codes.RESERVED_WORDS)


@pytest.mark.parametrize(
    "text",
    [
        "fuck",  # whole code
        "FUCK",
        "bitch",
        "superfuckyou",  # substring
        "big-shit-energy",  # substring across hyphens
        "sh-it-head",
        "5H1T",  # leetspeak 5->s 1->i
        "b1tch",
        "n4z1-club",  # 4->a 1->i
        "wh0re",  # 0->o
        "a55hole",  # 5->s
        "7wat",  # 7->t
        "bast4rd",
        "cock",  # whole-word-only entry as the whole code
        "d1ck",  # whole-word-only entry after leetspeak
        "r4pe",
    ],
)
def test_vanity_offensive(text):
    assert _reason(text) == "offensive"


def test_blocked_lists_are_loaded():
    assert "fuck" in codes.BLOCKED_SUBSTRINGS
    assert "ass" in codes.BLOCKED_WHOLE_WORDS
    assert "ass" not in codes.BLOCKED_SUBSTRINGS
    assert not any(w.startswith(("=", "#")) for w in codes.BLOCKED_SUBSTRINGS)


def test_invalid_vanity_code_str_includes_reason():
    err = InvalidVanityCode("reserved", "this code is reserved")
    assert str(err) == "reserved: this code is reserved"
    assert isinstance(err, ValueError)

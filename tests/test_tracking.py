"""The signed tracking token: round trip, forgery, case folding, VERP length."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbounce.config import Secret
from mailbounce.errors import ConfigError
from mailbounce.tracking import (
    MAX_LOCAL_PART,
    TRACKING_HEADER,
    base32_of_15,
    base32_text,
    make_token,
    read_token,
    secret_from,
    token_from_address,
    verp_sender,
)

SECRET = b"test-secret-0123456789abcdef"
ids = st.integers(min_value=0, max_value=2**63 - 1)


def test_header_name() -> None:
    assert TRACKING_HEADER == "X-Mailbounce-Token"


@given(ids, ids)
def test_round_trip(campaign: int, delivery: int) -> None:
    token = make_token(SECRET, campaign, delivery)
    assert read_token(SECRET, token) == (campaign, delivery)
    assert read_token(SECRET, token.upper()) == (campaign, delivery)


@given(ids, ids)
def test_token_alphabet_and_verp_length(campaign: int, delivery: int) -> None:
    token = make_token(SECRET, campaign, delivery)
    assert token == token.lower()
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyz234567")
    sender = verp_sender(token, "bounces.asso.example")
    local = sender.rpartition("@")[0]
    assert len(local.encode()) <= MAX_LOCAL_PART
    assert token_from_address(sender) == token
    assert token_from_address(sender.upper()) == token


def test_same_token_every_time() -> None:
    assert make_token(SECRET, 7, 42) == make_token(SECRET, 7, 42)
    assert make_token(SECRET, 7, 42) != make_token(SECRET, 7, 43)
    assert make_token(SECRET, 7, 42) != make_token(SECRET, 8, 42)


@given(ids, ids, st.data())
def test_tampered_token_is_refused(campaign: int, delivery: int, data: st.DataObject) -> None:
    token = make_token(SECRET, campaign, delivery)
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz234567"))
    tampered = token[:index] + replacement + token[index + 1 :]
    result = read_token(SECRET, tampered)
    # base32's last character carries padding bits that may decode to the same bytes;
    # any token that is accepted must then still name the same delivery.
    assert result is None or result == (campaign, delivery)


def test_wrong_secret_is_refused() -> None:
    token = make_token(SECRET, 3, 99)
    assert read_token(b"another-secret-0123456789", token) is None


@pytest.mark.parametrize(
    "token", ["", "abc", "!!!!", "a" * 65, "bounces+abc", "ag4wbp5flp34pjj4k3l7", "0189"]
)
def test_malformed_token_is_refused(token: str) -> None:
    assert read_token(SECRET, token) is None


def test_make_token_rejects_bad_ids() -> None:
    with pytest.raises(ValueError, match="campaign_id"):
        make_token(SECRET, -1, 1)
    with pytest.raises(ValueError, match="delivery_id"):
        make_token(SECRET, 1, 2**63)
    with pytest.raises(ValueError, match="empty"):
        make_token(b"", 1, 1)


def test_verp_sender_shape_and_limits() -> None:
    token = make_token(SECRET, 1, 2)
    assert verp_sender(token, "Bounces.Asso.Example") == f"bounces+{token}@bounces.asso.example"
    assert verp_sender(token, "b.example", prefix="retour").startswith(f"retour+{token}@")
    with pytest.raises(ValueError, match="64"):
        verp_sender(token, "b.example", prefix="x" * 60)
    with pytest.raises(ValueError, match="prefix"):
        verp_sender(token, "b.example", prefix="a+b")
    with pytest.raises(ValueError, match="domain"):
        verp_sender(token, "")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("bounces+abc234@b.example", "abc234"),
        ("<Bounces+ABC234@B.example>", "abc234"),
        ("bounces@b.example", None),
        ("other+abc234@b.example", None),
        ("bounces+abc-234@b.example", None),
        ("bounces+@b.example", None),
        ("no-at-sign", None),
    ],
)
def test_token_from_address(address: str, expected: str | None) -> None:
    assert token_from_address(address) == expected


def test_secret_from() -> None:
    assert secret_from("  0123456789abcdef  ") == b"0123456789abcdef"
    assert secret_from(Secret("0123456789abcdef")) == b"0123456789abcdef"
    with pytest.raises(ConfigError, match="MAILBOUNCE_TRACKING_SECRET"):
        secret_from(None)
    with pytest.raises(ConfigError, match="not set"):
        secret_from("   ")
    with pytest.raises(ConfigError, match="too short"):
        secret_from("short")


@pytest.mark.parametrize(
    ("campaign", "delivery", "token"),
    [
        (0, 0, "aaajqpaqjuj52f4jjaea"),
        (12, 123456, "btamibyp56azsbpzjxolepy"),
        (1, 300, "agwaew34qc26ti5c3jlnq"),
        (2**63 - 1, 2**63 - 1, "777777777777677777777777777x6ap5jqclwv2vqdho2"),
    ],
)
def test_token_format_is_a_contract(campaign: int, delivery: int, token: str) -> None:
    """Tokens already sent must keep decoding: these were made before the fast encoder."""
    assert make_token(SECRET, campaign, delivery) == token
    assert read_token(SECRET, token) == (campaign, delivery)


@given(st.binary(max_size=64))
def test_base32_text_is_lower_case_b32encode_without_padding(data: bytes) -> None:
    assert base32_text(data) == base64.b32encode(data).decode("ascii").rstrip("=").lower()


@given(st.binary(min_size=15, max_size=15))
def test_base32_of_15_is_base32_text(data: bytes) -> None:
    assert base32_of_15(data) == base32_text(data)

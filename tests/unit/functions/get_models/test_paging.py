from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.get_models.paging import (
    InvalidPageTokenError,
    decode_page_token,
    encode_page_token,
)

REGISTRY_TOKENS = st.text(min_size=1, max_size=300)


@given(REGISTRY_TOKENS)
def test_token_round_trips(registry_token: str) -> None:
    token = encode_page_token(registry_token, scope="mnist")
    assert decode_page_token(token, scope="mnist") == registry_token


@given(REGISTRY_TOKENS, st.data())
def test_any_single_character_change_is_detected(registry_token: str, data: st.DataObject) -> None:
    token = encode_page_token(registry_token, scope="mnist")
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    )
    tampered = token[:position] + replacement + token[position + 1 :]
    if tampered == token:
        return
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(tampered, scope="mnist")


def test_a_last_character_that_decodes_to_the_same_bytes_is_still_refused() -> None:
    # "xy" gives a 16-byte payload, 22 characters: the last one holds 4 unused bits.
    token = encode_page_token("xy", scope="mnist")
    body, mac = token.split(".")
    assert len(body) % 4 == 2
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    same_bytes = [
        c
        for c in alphabet
        if c != body[-1]
        and base64.urlsafe_b64decode(body[:-1] + c + "==") == base64.urlsafe_b64decode(body + "==")
    ]
    assert len(same_bytes) == 15
    for c in same_bytes:
        with pytest.raises(InvalidPageTokenError):
            decode_page_token(f"{body[:-1]}{c}.{mac}", scope="mnist")


@given(st.text(max_size=200))
def test_arbitrary_text_is_refused_cleanly(text: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(text, scope="mnist")


def test_token_of_another_listing_is_refused() -> None:
    token = encode_page_token("abc", scope="mnist")
    with pytest.raises(InvalidPageTokenError, match="another listing"):
        decode_page_token(token, scope="fashion")


def test_token_is_url_safe() -> None:
    token = encode_page_token("a/b+c=d?&" * 20, scope="mnist")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

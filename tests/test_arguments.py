"""Binding argument text to typed handler parameters."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbot.arguments import ArgumentError, bind, signature_params, usage_of
from opsbot.events import Identity, Message, Room
from opsbot.plugin import Context, Rest
from opsbot.transports.memory import MemoryTransport


def make_ctx() -> Context:
    transport = MemoryTransport("irc")
    room = Room("irc", "#test")
    transport._members["#test"] = {"bob": Identity("irc", "bob", "Bob")}
    msg = Message(network="irc", room=room, sender=Identity("irc", "a", "a"), text="")
    return Context(transport, None, msg)  # type: ignore[arg-type]  # a transport knows members


async def words(ctx: Context, *words: str) -> None: ...
async def typed(
    ctx: Context, count: int, ratio: float, who: Identity, note: str | None = None
) -> None: ...
async def rest(ctx: Context, first: str, text: Rest) -> None: ...


def test_usage_is_derived_from_the_signature() -> None:
    assert usage_of(signature_params(typed)) == "COUNT RATIO WHO [NOTE]"
    assert usage_of(signature_params(rest)) == "FIRST TEXT..."
    assert usage_of(signature_params(words)) == "[WORDS...]"


def test_typed_conversion() -> None:
    ctx = make_ctx()
    values = bind(ctx, signature_params(typed), "3 0.5 BOB")
    assert values[:3] == [3, 0.5, Identity("irc", "bob", "Bob")] and values[3] is None
    with pytest.raises(ArgumentError, match="'x' is not a whole number"):
        bind(ctx, signature_params(typed), "x 0.5 bob")
    with pytest.raises(ArgumentError, match="I have not seen carol in #test"):
        bind(ctx, signature_params(typed), "1 1 carol")


def test_rest_keeps_the_line_as_typed() -> None:
    ctx = make_ctx()
    assert bind(ctx, signature_params(rest), "  'a b'   it's  \"odd  ") == ["a b", "it's  \"odd"]
    with pytest.raises(ArgumentError, match="text is missing"):
        bind(ctx, signature_params(rest), "only")


def test_unbalanced_quote_is_taken_literally() -> None:
    assert bind(make_ctx(), signature_params(words), '"open and shut') == ['"open', "and", "shut"]


unquoted_word = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="\"'\\"
    ),
    min_size=1,
    max_size=12,
)


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12),
        max_size=6,
    )
)
def test_shell_quoting_round_trips(items: list[str]) -> None:
    items = [
        w for w in items if w.strip() == w and w.isprintable() and not any(c.isspace() for c in w)
    ] or ["x"]
    assert bind(make_ctx(), signature_params(words), shlex.join(items)) == items


@given(st.lists(unquoted_word, max_size=8), st.sampled_from([" ", "  ", "\t"]))
def test_plain_words_split_on_whitespace(items: list[str], gap: str) -> None:
    assert bind(make_ctx(), signature_params(words), gap.join(items)) == items


@given(st.text(max_size=60))
def test_any_text_binds_or_explains(text: str) -> None:
    ctx = make_ctx()
    for fn in (words, typed, rest):
        try:
            values: list[Any] = bind(ctx, signature_params(fn), text)
        except ArgumentError as why:
            assert str(why)
        else:
            assert isinstance(values, list)

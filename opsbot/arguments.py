"""Turning a command's argument text into a handler's typed parameters.

The parameters after ``ctx`` declare what a command takes: ``str``, ``int``, ``float``,
``Identity`` (a nick seen in the room), ``Rest`` (the rest of the line, unparsed), ``X | None``
or a default for optional ones, and ``*args`` for any number. Words are split with shell-like
quoting, so ``"two words"`` is one argument; a stray apostrophe (``bob's``) is just a letter.
"""

from __future__ import annotations

import inspect
import io
import shlex
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

from .context import Context
from .events import Identity
from .rules import Rest
from .text import shorten


class ArgumentError(Exception):
    """The arguments do not fit; the message says why in words fit for chat."""


Converter = Callable[[Context, str], Any]


LARGEST = 2**63 - 1
"""The largest whole number a command takes (what a database column holds)."""


def _to_int(ctx: Context, word: str) -> int:
    try:
        number = int(word)
    except ValueError:
        raise ArgumentError(f"{shorten(word)!r} is not a whole number") from None
    if not -LARGEST <= number <= LARGEST:
        raise ArgumentError(f"{shorten(word)!r} is too large a number")
    return number


def _to_float(ctx: Context, word: str) -> float:
    try:
        return float(word)
    except ValueError:
        raise ArgumentError(f"{shorten(word)!r} is not a number") from None


def _to_identity(ctx: Context, word: str) -> Identity:
    nick = word if ":" in word[1:-1] else word.removeprefix("@").rstrip(":,")
    who = ctx.services.member(ctx.room, nick)
    if who is None:
        raise ArgumentError(f"I have not seen {shorten(word)} in {ctx.room}")
    return who


CONVERTERS: dict[Any, Converter] = {
    str: lambda ctx, word: word,
    Rest: lambda ctx, text: Rest(text),
    int: _to_int,
    float: _to_float,
    Identity: _to_identity,
}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    convert: Converter
    required: bool
    default: Any
    rest: bool = False
    variadic: bool = False

    @property
    def label(self) -> str:
        word = self.name.upper()
        if self.variadic:
            return f"[{word}...]"
        if self.rest:
            return f"{word}..." if self.required else f"[{word}...]"
        return word if self.required else f"[{word}]"


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def signature_params(fn: Callable[..., Any]) -> list[Param]:
    """The parameters after ``ctx`` of a handler, ready to bind words to; raises TypeError for a
    parameter whose type has no converter (a plugin bug, caught at start-up)."""
    hints = typing.get_type_hints(fn)
    sig = inspect.signature(fn)
    params: list[Param] = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind is p.VAR_KEYWORD:
            continue
        hint, optional = _unwrap_optional(hints.get(p.name, str))
        if hint not in CONVERTERS:
            raise TypeError(
                f"{fn.__qualname__}: parameter {p.name!r} has unsupported type {hint!r}"
            )
        has_default = p.default is not p.empty
        params.append(
            Param(
                name=p.name,
                convert=CONVERTERS[hint],
                required=not (optional or has_default) and p.kind is not p.VAR_POSITIONAL,
                default=p.default if has_default else None,
                rest=hint is Rest,
                variadic=p.kind is p.VAR_POSITIONAL,
            )
        )
    return params


def usage_of(params: list[Param]) -> str:
    return " ".join(p.label for p in params)


class _Words:
    """Reads shell-quoted words off the front of a text, leaving the rest untouched."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def rest(self) -> str:
        return self.text[self.pos :].strip()

    def next(self) -> str | None:
        remaining = self.text[self.pos :]
        stripped = remaining.lstrip()
        if not stripped:
            return None
        start = self.pos + len(remaining) - len(stripped)
        if stripped[0] in "\"'":
            stream = io.StringIO(stripped)
            lexer = shlex.shlex(stream, posix=True)
            lexer.whitespace_split = True
            lexer.commenters = ""
            try:
                word = lexer.get_token()
            except ValueError:
                word = None  # an unbalanced quote: take the word literally
            if word is not None:
                consumed = stream.tell()
                self.pos = start + consumed
                return word
        end = start
        while end < len(self.text) and not self.text[end].isspace():
            end += 1
        self.pos = end
        return self.text[start:end]


def bind(ctx: Context, params: list[Param], text: str) -> list[Any]:
    """Convert ``text`` into positional arguments for ``params``; raises ArgumentError."""
    words = _Words(text)
    values: list[Any] = []
    for param in params:
        if param.rest:
            rest = words.rest()
            if not rest:
                if param.required:
                    raise ArgumentError(f"{param.name} is missing")
                values.append(param.default)
            else:
                values.append(param.convert(ctx, rest))
            return values
        if param.variadic:
            while (word := words.next()) is not None:
                values.append(param.convert(ctx, word))
            return values
        word = words.next()
        if word is None:
            if param.required:
                raise ArgumentError(f"{param.name} is missing")
            values.append(param.default)
        else:
            values.append(param.convert(ctx, word))
    if words.rest():
        raise ArgumentError(f"too many arguments ({shorten(words.rest())!r} left over)")
    return values

"""What the bot says back: echoes short and clean, lines of a sane length."""

from __future__ import annotations

from opsbot.text import MOST_SAID, fit, shorten


def test_echoes_are_short_and_carry_no_control_or_bidi_characters() -> None:
    assert shorten("ops") == "ops"
    assert shorten("x" * 500) == "x" * 59 + "…"
    assert shorten("red\x1b[31m\x07\u202eevil") == "red?[31m??evil"


def test_each_line_is_cut_not_the_lines_a_plugin_means_to_say() -> None:
    assert fit("short") == "short"
    [one] = fit("y" * 5_000).split("\n")
    assert len(one) < MOST_SAID + 10 and one.endswith("characters cut)")
    many = "\n".join(["z" * 380] * 50)
    assert fit(many) == many

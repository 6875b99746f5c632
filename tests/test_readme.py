"""The README's plugin example and its test run as written, so the documentation stays true."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opsbot.testing import BotFactory

README = Path(__file__).resolve().parent.parent / "README.md"


async def test_the_plugin_example_and_its_test_work(bot_factory: BotFactory) -> None:
    plugin_source, test_source = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    plugin: dict[str, Any] = {"__name__": "readme_greet"}
    exec(compile(plugin_source, "README.md (plugin)", "exec"), plugin)
    example: dict[str, Any] = {"Greet": plugin["Greet"]}
    exec(compile(test_source, "README.md (test)", "exec"), example)
    await example["test_hug"](bot_factory)


def test_the_readme_shows_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text

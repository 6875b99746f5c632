"""The shape of the house, checked: no import circle in the core (type-only imports included),
plugins never import each other nor the bot, and plugins reach the bot only through Services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def modules(package: str) -> dict[str, Path]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        # Plugins are installed as the package ``opsbot_plugins`` (the folder ``plugins``).
        targets = [t.replace("opsbot_plugins", "plugins", 1) for t in targets]
        found |= {t for t in targets if t in known}
    return found - {name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_core_has_no_import_circle() -> None:
    known = modules("opsbot")
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert cycles(graph) == []


def test_plugins_meet_only_through_the_core() -> None:
    known = {**modules("opsbot"), **modules("plugins")}
    for name, path in modules("plugins").items():
        if name == "plugins":
            continue
        plugin = name.split(".")[1]
        for target in imports(name, path, known):
            if target.startswith("plugins."):
                assert target.split(".")[1] == plugin, f"{name} imports {target}"
            if not name.endswith(".cli"):  # a command-line tool may run a bot of its own
                assert target not in ("opsbot.bot", "opsbot.router"), f"{name} imports {target}"
        source = path.read_text()
        assert "self.bot." not in source and "ctx.transport" not in source, name


def test_web_pages_read_through_queries_never_the_plugin() -> None:
    for path in (ROOT / "plugins").glob("*/web.py"):
        source = path.read_text()
        assert "from .plugin import" not in source and "self.plugin" not in source, path
    for path in (ROOT / "plugins").glob("*/templates/**/*.html"):
        assert "plugin." not in path.read_text(), path


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["minutes", "list"], "No meetings."),
        (["minutes", "show", "ops"], "No meeting 'ops'."),
        (["meetings", "regenerate", "7"], "There is no meeting 7."),
        (["records", "export"], "person"),
        (["records", "rebuild"], "0 ledger entries"),
    ],
)
def test_command_line_tools_never_build_a_plugin(
    args: list[str], said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin object that never ran ``setup()`` is half a plugin: the tools read through the
    plugin's store and reads with :class:`opsbot.cli.PluginTools`, never building one."""
    from click.testing import CliRunner

    from opsbot.cli import main
    from opsbot.plugin import Plugin

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a command-line tool built a plugin")

    monkeypatch.setattr(Plugin, "__init__", refuse)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite+aiosqlite:///{tmp_path}/bot.db'}}\n"
        "plugins: {enabled: [core, meetings, records]}\n"
    )
    result = CliRunner().invoke(main, [*args, "-c", str(config)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert said in result.output

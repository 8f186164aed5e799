"""The shape of the house: the floors go one way, no import circles, no module past 500 lines.

Read from the source with ``ast`` (every import, also the ones inside functions; not those under
``if TYPE_CHECKING:``, which never run). The composition root — the process (``bot/app.py``) and the
command line (``bot/cli*.py``) — wires every floor together and may import upwards.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "adapters", "workflows", "storage")
COMPOSITION_ROOT = ("bot.app", "bot.cli")
# The dashboard is a read-only surface: it reads through the workflows' own query functions rather
# than keeping a second copy of them (ARCHITECTURE: "Reports and read-only surfaces").
READS_WORKFLOWS = ("adapters.dashboard",)
FLOOR = {"storage": 0, "bot": 1, "adapters": 2, "workflows": 2}
MAX_LINES = 500


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (hit := resolve(alias.name)) is not None:
                    found.add(hit)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                hit = resolve(f"{base}.{alias.name}") or resolve(base)
                if hit is not None:
                    found.add(hit)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_the_floors_go_one_way() -> None:
    wrong = []
    for name, targets in graph().items():
        if name.startswith(COMPOSITION_ROOT):
            continue
        floor = FLOOR[name.split(".")[0]]
        for target in targets:
            top = target.split(".")[0]
            if top == "workflows" and name.startswith(READS_WORKFLOWS):
                continue
            if FLOOR[top] > floor or (FLOOR[top] == floor and top != name.split(".")[0]):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_circles() -> None:
    edges = graph()
    edges = {name: {t for t in targets if t != name.rpartition(".")[0]} for name, targets in edges.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target] if target in path else [node, target])
            elif target not in state:
                walk(target, [*path, target])
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            walk(name, [name])
    assert not cycles, "\n".join(" → ".join(c) for c in cycles)


def test_no_module_is_longer_than_500_lines() -> None:
    long = {name: n for name, path in modules().items() if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long

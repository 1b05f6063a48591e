"""What tests share lives in tests/support (issue 9): a test module that imports another runs
against that module's fixtures and collection, so moving or deleting one test breaks others."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported(tree: ast.Module, package: list[str]) -> Iterator[list[str]]:
    """Every module path *tree* may import: `from x import y` as both x and x.y, since y may be a
    module; relative imports resolved against *package*, so a dot cannot hide a test module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".") for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            yield module
            yield from ([*module, alias.name] for alias in node.names)


def is_test_module(parts: list[str]) -> bool:
    return parts[-1].startswith("test_") and ROOT.joinpath(*parts).with_suffix(".py").is_file()


def test_no_test_module_imports_another() -> None:
    offenders: list[str] = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        package = list(path.relative_to(ROOT).parent.parts)
        tree = ast.parse(path.read_text(), str(path))
        found = {".".join(parts) for parts in imported(tree, package) if is_test_module(parts)}
        offenders += [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(found)]
    assert offenders == [], "move what they share to tests/support:\n" + "\n".join(offenders)

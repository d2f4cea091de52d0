"""The import rules of docs/architecture.md: data flows one way, and library internals are
reached through one checked seam each."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("core", "accounts", "chat", "api", "ops", "config")


def product_modules() -> dict[str, set[str]]:
    """Every product module, by dotted name, with the modules it imports (anywhere in it)."""
    modules: dict[str, set[str]] = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            imported: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module)
                    imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            modules[name] = imported
    return modules


MODULES = product_modules()


def importers(prefix: str, *, of: str) -> list[str]:
    """Modules under `prefix` that import anything under `of`."""
    return sorted(
        name
        for name, imported in MODULES.items()
        if (name == prefix or name.startswith(prefix + "."))
        and any(target == of or target.startswith(of + ".") for target in imported)
    )


# (importing package, imported package): arrows that must not exist.
FORBIDDEN = [
    # core is the bottom: every app may import it, it imports none of them.
    *[("core", app) for app in ("accounts", "chat", "api", "ops", "config")],
    # accounts and ops know nothing of chat or the API; chat hears accounts through a signal.
    *[(app, other) for app in ("accounts", "ops") for other in ("chat", "api")],
    ("chat", "api"),
    ("chat", "ops"),
    # Within chat: wire < realtime < selectors < services < consumers and pages.
    ("chat.wire", "chat.realtime"),
    ("chat.wire", "chat.selectors"),
    ("chat.wire", "chat.services"),
    ("chat.realtime", "chat.selectors"),
    ("chat.realtime", "chat.services"),
    ("chat.realtime", "chat.consumers"),
    ("chat.selectors", "chat.services"),
    ("chat.selectors", "chat.consumers"),
    ("chat.services", "chat.consumers"),
    ("chat.services", "chat.views"),
    ("chat.models", "chat.selectors"),
    ("chat.models", "chat.services"),
]


@pytest.mark.parametrize(("package", "forbidden"), FORBIDDEN, ids=lambda part: part)
def test_no_import_against_the_layers(package: str, forbidden: str) -> None:
    assert importers(package, of=forbidden) == []


def test_only_the_protocol_module_reaches_into_uvicorn() -> None:
    reaching = sorted(
        name
        for name, imported in MODULES.items()
        if any(target.startswith("uvicorn.protocols") for target in imported)
    )
    assert reaching == ["chat.realtime.uvicorn_protocol"]


def test_the_delivery_state_machine_does_no_io() -> None:
    """Pure: no Django, no channel layer, no database; unit-tested without a socket."""
    allowed = {"enum", "dataclasses", "typing"}
    assert {target.split(".")[0] for target in MODULES["chat.realtime.delivery"]} <= allowed


def test_no_product_module_passes_400_lines() -> None:
    long = {
        name: lines
        for name in MODULES
        if (
            lines := len(
                (ROOT / Path(*name.split("."))).with_suffix(".py").read_text().splitlines()
            )
        )
        > 400
    }
    assert long == {}

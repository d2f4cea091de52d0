"""Accessibility checks in the browser tests: axe-core, from node_modules (`make node`).

The pages forbid inline script (ops/security_headers.py), so axe cannot come in through a
<script> tag: `page.add_script_tag(content=...)` would be refused and reported. Its source goes
through `page.evaluate` instead, which chromium runs over the DevTools protocol, outside the
page's Content-Security-Policy; the page's own scripts and policy stay as they are.
"""

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.servers import ROOT

AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices.
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
NODES_SHOWN = 3  # of each violation, in an assertion message

# The page first answers a change of media (emulate_media), which it hears at the next
# rendering update; then finite CSS transitions and animations (colours turning dark, a panel
# opening) end before axe measures contrast. Endless ones (a spinner) are left running.
SETTLE = """async () => {
  for (const _ of [1, 2]) await new Promise(done => requestAnimationFrame(done));
  const finite = document.getAnimations().filter(
    animation => animation.effect?.getComputedTiming().endTime !== Infinity);
  await Promise.all(finite.map(animation => animation.finished.catch(() => null)));
}"""
RUN = """async ({tags, shown}) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return results.violations.map(violation => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    helpUrl: violation.helpUrl,
    count: violation.nodes.length,
    nodes: violation.nodes.slice(0, shown).map(node => ({
      target: node.target.join(" "),
      html: node.html,
      failureSummary: node.failureSummary,
    })),
  }));
}"""


@cache
def _axe_source(path: Path) -> str:
    if not path.is_file():
        pytest.fail(
            f"The accessibility tests need axe-core at {path.relative_to(ROOT)}: run `make node` "
            "(it installs package-lock.json with npm).",
            pytrace=False,
        )
    return path.read_text(encoding="utf-8")


def accessibility_violations(
    page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, of the given impacts.

    Each is a dict with id, impact, help, helpUrl, count (elements in all) and nodes (the first
    few: target, html, failureSummary); `describe_violations` formats them for a message.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source(AXE_SOURCE))  # a script, not a function: evaluated as it is
    page.evaluate(SETTLE)
    violations = page.evaluate(RUN, {"tags": list(TAGS), "shown": NODES_SHOWN})
    return [violation for violation in violations if violation["impact"] in impacts]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """The violations as readable lines: rule, impact, help, then each element and its fix."""
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}, {violation['count']} element"
            f"{'' if violation['count'] == 1 else 's'}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"  at {node['target']}: {_one_line(node['html'], 160)}")
            lines.extend(f"    {line}" for line in node["failureSummary"].splitlines())
        if violation["count"] > len(violation["nodes"]):
            lines.append(f"  and {violation['count'] - len(violation['nodes'])} more")
    return "\n".join(lines)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 1]}…"

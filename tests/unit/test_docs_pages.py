"""What README.md, docs/*.md and benchmarks/*.md say about the project itself stays true: every
command and option they show exists, every link between pages (and its anchor) resolves, and the
error tree of docs/design.md is the one in ``discoverly.errors``. (The pages' Python examples run in
the areas' own ``test_docs*.py``.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from discoverly import errors
from discoverly.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "benchmarks").glob("*.md")),
         *sorted((ROOT / "benchmarks" / "results").glob("*.md"))]
FENCE = re.compile(r"```[^\n]*\n.*?```", flags=re.S)


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def shown_commands(text: str) -> list[list[str]]:
    """The ``discoverly ...`` commands of a page: lines of its code blocks (continuation lines
    joined) and inline code spans, as argument lists up to a pipe, redirection or comment."""
    lines: list[str] = []
    for block in FENCE.findall(text):
        lines += re.sub(r"\\\n\s*", " ", block).splitlines()
    lines += re.findall(r"`(discoverly [^`]+)`", FENCE.sub("", text))
    commands = []
    for line in lines:
        line = re.sub(r"^\s*(\$ )?", "", line)
        line = re.sub(r"^(\w+=\S+ )+", "", line)  # DISCOVERLY_ADMIN_TOKEN="$TOKEN" discoverly serve ...
        if not line.startswith("discoverly "):
            continue
        line = re.split(r"\s(?:#|\||&&|>|2>)\s?", line)[0]
        try:
            commands.append(shlex.split(line)[1:])
        except ValueError:  # an unbalanced quote in prose: not a command
            continue
    return commands


def options_of(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *getattr(p, "secondary_opts", []))} | {"--help"}


def resolve(args: list[str]) -> tuple[Any, list[str]]:
    """The (sub)command ``args`` name and the arguments left (typer's own click: no isinstance)."""
    command: Any = typer.main.get_command(app)
    rest = list(args)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        assert rest[0] in command.commands, f"no command {rest[0]!r} in 'discoverly ... {' '.join(args)}'"
        command = command.commands[rest.pop(0)]
    return command, rest


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_command_and_option_shown_exists(page: Path) -> None:
    for args in shown_commands(page.read_text(encoding="utf-8")):
        command, rest = resolve(args)
        known = options_of(command) | (options_of(typer.main.get_command(app)) if command.name is None else set())
        for arg in rest:
            if arg.startswith("-") and arg not in ("-", "--"):
                for option in arg.split("=")[0].split("/"):  # `--exclude-linked/--include-linked`: both
                    assert option in known, f"{page_id(page)}: 'discoverly {' '.join(args)}': no option {option}"


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings (and explicit ``<a id>`` / ``<a name>``)."""
    text = page.read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    out = set(re.findall(r'<a (?:name|id)="([^"]+)"', text))
    for heading in re.findall(r"^#+\s+(.*)$", FENCE.sub("", text), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_links_between_pages_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", FENCE.sub("", page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page_id(page)}: link to {target}: no such file"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page_id(page)}: link to {target}: no such heading"


def test_the_design_page_shows_the_whole_error_tree() -> None:
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    tree = re.search(r"```\nDiscoverlyError\n(.*?)```", text, flags=re.S)
    assert tree is not None
    shown = dict(re.findall(r"── (\w+)\s+\((\w+)\)", tree.group(1)))
    classes = {name: getattr(errors, name) for name in errors.__all__
               if isinstance(getattr(errors, name), type) and name != "DiscoverlyError"}
    assert set(shown) == set(classes)
    for name, builtin in shown.items():
        assert builtin in {base.__name__ for base in classes[name].__mro__}, name


def importable(dotted: str) -> bool:
    """Whether ``discoverly.a.b.C`` names a module, or an attribute of the longest importable module."""
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


@pytest.mark.parametrize("page", [p for p in PAGES if p.parent.name != "benchmarks"], ids=page_id)
def test_every_dotted_name_the_page_gives_exists(page: Path) -> None:
    names = set(re.findall(r"`(discoverly(?:\.\w+)+)`", page.read_text(encoding="utf-8")))
    assert not [n for n in sorted(names) if not importable(n)], page_id(page)


def test_docs_spark_quotes_the_memory_limit_error_as_it_is() -> None:
    from discoverly.engine.memory import check_memory, estimate_fit_memory
    from discoverly.errors import ResourceLimitError

    text = (ROOT / "docs" / "spark.md").read_text(encoding="utf-8")
    shown = re.search(r"\$ discoverly fit --interactions synthetic_50M.parquet .*?\nerror: (.*?)```", text, flags=re.S)
    assert shown is not None
    with pytest.raises(ResourceLimitError) as raised:
        check_memory(estimate_fit_memory(50_000_000, decoded_bytes=50_000_000 * 30), "4GB",
                     what="fitting on synthetic_50M.parquet")
    actual = re.sub(r"~[\d.]+ \w+", "~…", str(raised.value))
    assert " ".join(shown.group(1).split()) == actual


@pytest.mark.parametrize("page", [p for p in PAGES if p.parent.name != "benchmarks"], ids=page_id)
def test_the_examples_import_only_public_names(page: Path) -> None:
    """``from discoverly.x import name`` in a page's Python blocks: ``name`` is in ``discoverly.x.__all__``."""
    import importlib

    for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
        for module, names in re.findall(r"^\s*from (discoverly[\w.]*) import ([^\n(]+)", block, flags=re.M):
            public = getattr(importlib.import_module(module), "__all__", [])
            for name in (n.split(" as ")[0].strip() for n in names.split(",")):
                assert name in public, f"{page_id(page)}: from {module} import {name}: not in its __all__"


def test_every_page_is_reachable_from_its_index() -> None:
    """README.md links every docs/ page; benchmarks/README.md every benchmark page."""
    benchmarks = ROOT / "benchmarks"
    for index, folder in ((ROOT / "README.md", ROOT / "docs"), (benchmarks / "README.md", benchmarks)):
        linked = {(index.parent / t.partition("#")[0]).resolve()
                  for t in re.findall(r"\]\(([^)\s]+)\)", index.read_text(encoding="utf-8"))}
        pages = {p.resolve() for p in folder.glob("*.md")} - {index.resolve()}
        assert not pages - linked, sorted(p.name for p in pages - linked)

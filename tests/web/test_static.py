"""The browser files, read as text: no markup injection, no CDN, every string translated, small pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
PAGES = {"viewer.html": "viewer.js", "studio.html": "studio.js", "mod.html": "mod/console.js", "ops.html": "ops.js"}
# Our own JS per page, unminified (the vendored Socket.IO client is not counted). The viewer is
# what thousands of phones load: it keeps under 40 KB. The studio, loaded by one host, carries
# device handling, stats and both languages' strings: a little more.
# The moderator console is a desktop tool for a few people, with four panels: more again.
PAGE_JS_BUDGET = {"viewer.html": 40_000, "studio.html": 46_000, "mod.html": 100_000, "ops.html": 30_000}
# Panels a page loads with import() once the video plays (chat, ...): each has its own allowance.
LAZY_JS_BUDGET = 32_000


def own_js() -> list[Path]:
    return sorted((WEB / "js").rglob("*.js"))


def lazy_imports(path: Path) -> list[Path]:
    return [(path.parent / spec).resolve() for spec in re.findall(r"""import\(\s*['"](\.\.?/[^'"]+)['"]\s*\)""", path.read_text())]


def module_graph(entry: Path, *, lazy: bool = True) -> set[Path]:
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for spec in re.findall(r"""^\s*import\s+(?:[^'"]*?\s+from\s+)?['"](\.\.?/[^'"]+)['"]""", path.read_text(), re.M):
            todo.append((path.parent / spec).resolve())
        if lazy:
            todo.extend(lazy_imports(path))
    return seen


def dicts() -> dict[str, dict[str, set[str]]]:
    """Keys per language, per file that defines strings (i18n.js and strings-*.js)."""
    out: dict[str, dict[str, set[str]]] = {}
    for path in [WEB / "js" / "i18n.js", *sorted((WEB / "js").glob("strings-*.js"))]:
        text = path.read_text()
        langs: dict[str, set[str]] = {}
        for lang in ("zh", "en"):
            block = re.search(rf"^  {lang}: \{{\n(.*?)^  \}},", text, re.S | re.M)
            assert block, f"{path.name}: no {lang} block"
            langs[lang] = set(re.findall(r"^\s+'([^']+)':", block.group(1), re.M))
        out[path.name] = langs
    return out


def test_no_markup_injection_sinks() -> None:
    # Later issues put chat messages and product names on these pages: text only, always.
    sinks = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(")
    for path in [*own_js(), *WEB.glob("*.html")]:
        hits = [line for line in path.read_text().splitlines() if sinks.search(line)]
        assert not hits, f"{path.name}: {hits}"


def test_everything_is_served_locally() -> None:
    # Offline laptops and China-first audiences: no CDN, no third-party fonts or scripts.
    remote = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//|@import\s+url\(\s*["']?https?:|url\(\s*["']?https?:""")
    for path in [*own_js(), *WEB.glob("*.html"), *WEB.glob("*.css")]:
        assert not remote.search(path.read_text()), path.name
    assert (WEB / "vendor" / "socket.io.min.js").stat().st_size > 10_000
    assert "MIT" in (WEB / "vendor" / "LICENSE-socket.io-client").read_text()


def test_both_languages_have_the_same_keys() -> None:
    for name, langs in dicts().items():
        assert langs["zh"] == langs["en"], f"{name}: only zh {langs['zh'] - langs['en']}, only en {langs['en'] - langs['zh']}"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_string_used_by_a_page_is_defined(page: str) -> None:
    graph = module_graph(WEB / "js" / PAGES[page])
    defined: set[str] = set()
    for name, langs in dicts().items():
        if (WEB / "js" / name).resolve() in graph:
            defined |= langs["zh"]
    html = (WEB / page).read_text()
    used = set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', html))
    for path in graph:
        text = re.sub(r"^\s*//.*$", "", path.read_text(), flags=re.M)  # examples in comments
        used |= set(re.findall(r"""\bt\(\s*'([^']+)'""", text))
        used |= set(re.findall(r"""['`]((?:err|state|badge|stats|studio|panel|res|obs|takeover|mod)\.[a-zA-Z.]+)['`]""", text))
    # Built from parts at run time: `badge.${state}`, `stats.limit.${why}`.
    used = {k for k in used if not k.endswith(".")}
    missing = used - defined
    assert not missing, f"{page}: undefined strings {sorted(missing)}"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_javascript_stays_small(page: str) -> None:
    first = module_graph(WEB / "js" / PAGES[page], lazy=False)
    size = sum(p.stat().st_size for p in first)
    assert size <= PAGE_JS_BUDGET[page], f"{page}: {size} bytes of JS in {sorted(p.name for p in first)}"
    for later in {m for p in module_graph(WEB / "js" / PAGES[page]) for m in lazy_imports(p)} - first:
        extra = module_graph(later, lazy=False) - first
        size = sum(p.stat().st_size for p in extra)
        assert size <= LAZY_JS_BUDGET, f"{page}: {later.name} loads {size} bytes in {sorted(p.name for p in extra)}"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_load_from_static_and_fit_phones(page: str) -> None:
    html = (WEB / page).read_text()
    assert 'name="viewport"' in html and "viewport-fit=cover" in html
    assert f'src="/static/js/{PAGES[page]}"' in html and 'type="module"' in html
    assert '<html lang="zh-CN">' in html


def test_viewer_has_the_panel_slots_later_issues_fill() -> None:
    html = (WEB / "viewer.html").read_text()
    for slot in ("shop-panel", "chat-panel", "qa-panel"):
        assert f'id="{slot}"' in html
    assert re.search(r"<video[^>]*\bmuted\b[^>]*\bplaysinline\b", html)

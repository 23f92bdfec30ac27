"""The documentation site: the glue (scripts/docs_hook.py) on inputs made here, and a strict build of the real site."""
import dataclasses, json, logging, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import docs_hook as dh  # noqa: E402

def _code(src, outputs=()): return {"cell_type": "code", "metadata": {}, "source": src, "outputs": list(outputs), "execution_count": None}
def _md(src): return {"cell_type": "markdown", "metadata": {}, "source": src}

def test_notebook_reads_as_documentation():
    nb = {"cells": [
        _md("# Title"),
        _code("#| default_exp thing"),
        _code("#| hide\nsecret = 1"),
        _code('#| export\ndef scale(x: float, k: float = 2.0) -> float:\n    "`x` times `k`."\n    return x * k\n\ndef _helper(): pass'),
        _code("#|export\n@patch\ndef grow(self: Box, n: int):\n    \"Make the box bigger.\"\n    ..."),
        _code("#| export\n@dataclass\nclass Pt:\n    \"A point.\"\n    x: int = 0\n    y: int = 1"),
        _code("test_eq(scale(2), 4)", outputs=[{"output_type": "stream", "name": "stdout", "text": "ok\n"}]),
    ]}
    out = dh.doc_cells(nb)["cells"]
    sources = [c["source"] for c in out]
    assert not any("#|" in s for s in sources)                    # no directive line anywhere
    assert not any("secret" in s for s in sources)                # the hide cell is left out
    assert not any(s.strip() == "" for s in sources)              # the default_exp cell left nothing behind
    kinds = [(c["cell_type"], c["source"].splitlines()[0]) for c in out]
    assert kinds == [("markdown", "# Title"),
                     ("markdown", '<h4 id="u2pl.thing.scale"><code>scale</code><a class="anchor-link" href="#u2pl.thing.scale">¶</a></h4>'),
                     ("code", "def scale(x: float, k: float = 2.0) -> float:"),
                     ("markdown", '<h4 id="u2pl.thing.Box.grow"><code>Box.grow</code><a class="anchor-link" href="#u2pl.thing.Box.grow">¶</a></h4>'),
                     ("code", "@patch"),
                     ("markdown", '<h4 id="u2pl.thing.Pt"><code>Pt</code><a class="anchor-link" href="#u2pl.thing.Pt">¶</a></h4>'),
                     ("code", "@dataclass"),
                     ("code", "test_eq(scale(2), 4)")]
    assert "scale(x: float, k: float=2.0) -> float" in out[1]["source"] and "`x` times `k`." in out[1]["source"]
    assert "Box.grow(n: int)" in out[3]["source"] and "Make the box bigger." in out[3]["source"]
    assert "class Pt(x: int = 0, y: int = 1)" in out[5]["source"]
    assert "_helper" not in "".join(sources[:2] + sources[3:])    # private names get no block
    assert out[-1]["outputs"][0]["text"] == "ok\n"                 # outputs as committed
    assert dh.notebook_title(nb) == "Title"

def test_long_signatures_wrap_one_argument_per_line():
    sig = "f(a: dict[str, int] = {'x': 1, 'y': 2}, b: str = 'p, q', *, c: tuple = (1, 2), d=None) -> int"
    assert dh.wrap_signature(sig, width=200) == sig
    assert dh.wrap_signature(sig, width=40).splitlines() == [
        "f(", "    a: dict[str, int] = {'x': 1, 'y': 2},", "    b: str = 'p, q',", "    *,", "    c: tuple = (1, 2),",
        "    d=None,", ") -> int"]

def test_links_go_to_pages_or_the_repository(caplog):
    pages = {"README.md": "index.md", "docs/custom_dataset.md": "custom_dataset.md", "nbs/07_entropy.ipynb": "nbs/07_entropy.ipynb",
             "docs/images/a.png": "images/a.png"}
    url = "https://github.com/o/r"
    text = ("[c](docs/custom_dataset.md) [e](nbs/07_entropy.ipynb#the-schedule) ![i](docs/images/a.png) "
            "[s](scripts/slurm_train.sh) [w](https://example.org/x.md) [a](#set-up) [gone](docs/nothing.md)")
    with caplog.at_level(logging.WARNING, logger="mkdocs.plugins.u2pl_docs"):
        out = dh.rewrite_links(text, "README.md", "index.md", pages, url)
    assert out == ("[c](custom_dataset.md) [e](nbs/07_entropy.ipynb#the-schedule) ![i](images/a.png) "
                   f"[s]({url}/blob/main/scripts/slurm_train.sh) [w](https://example.org/x.md) [a](#set-up) [gone](docs/nothing.md)")
    assert [r.getMessage() for r in caplog.records] == ["README.md: the link 'docs/nothing.md' leads to no file of the repository"]
    # from a page one folder down, and through a URL function (notebook pages, whose links MkDocs does not see)
    assert dh.rewrite_links("[u](../README.md)", "docs/custom_dataset.md", "custom_dataset.md", pages, url) == "[u](index.md)"
    assert dh.rewrite_links("[x](07_entropy.ipynb)", "nbs/own.ipynb", "nbs/own.ipynb", pages, url,
                            to_url=lambda p: "URL:" + p) == "[x](URL:nbs/07_entropy.ipynb)"

def test_config_keys_from_source():
    src = '''
from dataclasses import dataclass, field
@dataclass
class AConfig:                 # section a: first
    n: int = 3                 # how many
    xs: list[int] = field(default_factory=lambda: [1, 2])   # the xs
    mode: str = "p"            # p or q,
                               # and more words
    bare: bool = True
@dataclass
class Config:
    top: str = "t"             # at the top
    a: AConfig = field(default_factory=AConfig)
CHOICES = {"a.mode": ("p", "q"), "top": ("t", "u")}
'''
    rows = dh.config_keys(src)
    assert [(r["key"], r["default"], r["comment"]) for r in rows] == [
        ("top", "'t'", "at the top"), ("a.n", "3", "how many"), ("a.xs", "[1, 2]", "the xs"),
        ("a.mode", "'p'", "p or q, and more words"), ("a.bare", "True", "")]
    assert rows[3]["choices"] == ("p", "q") and rows[1]["section_comment"] == "section a: first"
    md = dh.config_markdown(rows)
    assert "| `top` | `str` | `'t'` | at the top (one of `t`, `u`) |" in md     # choices the comment does not name
    assert "| `a.mode` | `str` | `'p'` | p or q, and more words |" in md         # named there already

def _keys(cls, prefix=""):
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(f.type) or (isinstance(f.type, str) and f.type.endswith("Config")):
            yield from _keys(getattr(__import__("u2pl.config", fromlist=[f.type]), f.type), f"{f.name}.")
        else: yield prefix + f.name

def test_every_config_key_is_on_the_page_with_a_comment():
    from u2pl.config import Config
    rows = dh.config_keys((ROOT / "u2pl/config.py").read_text())
    assert [r["key"] for r in rows] == list(_keys(Config))
    assert all(r["comment"] for r in rows), [r["key"] for r in rows if not r["comment"]]

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                       capture_output=True, text=True, env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def test_site_builds_strict_with_every_page(site):
    notebooks = sorted(p.stem for p in (ROOT / "nbs").glob("*.ipynb"))
    assert sorted(p.parent.name for p in (site / "nbs").glob("*/index.html")) == notebooks
    modules = sorted(p.stem for p in (ROOT / "u2pl").glob("*.py") if not p.stem.startswith("_"))
    assert sorted(p.parent.name for p in (site / "api").glob("*/index.html")) == modules
    for name in notebooks:
        html = (site / "nbs" / name / "index.html").read_text()
        assert not re.search(r"#\|\s*(export|hide|default_exp)", html), name
        ids = re.findall(r' id="([^"]+)"', html)
        assert len(ids) == len(set(ids)), (name, sorted(i for i in ids if ids.count(i) > 1))   # every anchor leads to one place

def test_site_pages_hold_what_they_should(site):
    entropy = (site / "nbs/07_entropy/index.html").read_text()
    assert 'id="u2pl.entropy.partition"' in entropy and "Split valid pixels into the" in entropy   # the doc block of an export
    ids = re.findall(r'<h[1-6] id="([^"]+)"', entropy)
    assert "entropy" in ids and "u2pl.entropy.entropy" in ids and len(ids) == len(set(ids))      # section and function apart
    assert 'href="../../api/entropy/"' in entropy                                        # and its API page
    api = (site / "api/entropy/index.html").read_text()
    assert "Shannon entropy (nats)" in api and 'href="../../nbs/07_entropy/"' in api
    home = (site / "index.html").read_text()
    assert 'href="nbs/explore_entropy/"' in home and 'href="custom_dataset/"' in home and 'src="images/explorer_image.png"' in home
    config = (site / "config/index.html").read_text()
    assert "fixmatch.threshold" in config and "model.pretrained_sha256" in config
    assert json.loads((site / "search/search_index.json").read_text())["docs"]                 # the theme's search index

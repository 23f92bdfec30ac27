"""The package is layered: every module of `u2pl/` imports only modules of lower-numbered notebooks (module-level and
function-level imports alike), so there are no import circles and nothing imports upward; the trainer imports the
method registry and no method module, and names no method."""
import ast, re
from pathlib import Path
from u2pl.method import BUILTIN

PKG = Path(__file__).resolve().parents[1] / "u2pl"

def number(module: str) -> int:
    "The notebook number of a module, from the header nbdev writes into it."
    first = (PKG / f"{module}.py").read_text().splitlines()[:8]
    m = next(re.search(r"nbs/(\d+)_\w+\.ipynb", l) for l in first if "File to edit" in l)
    return int(m[1])

def imports(module: str) -> set[str]:
    "The u2pl modules `module` imports anywhere in its code."
    out = set()
    for node in ast.walk(ast.parse((PKG / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1: out.add((node.module or "").split(".")[0] or None)
            elif (node.module or "").startswith("u2pl."): out.add(node.module.split(".")[1])
            elif node.module == "u2pl": out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("u2pl."))
    return out - {None}

MODULES = sorted(p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "_modidx"))

def test_every_import_goes_down():
    bad = [(m, number(m), x, number(x)) for m in MODULES for x in imports(m) if number(x) >= number(m)]
    assert not bad, f"imports that do not go to a lower notebook: {bad}"
    assert len({number(m) for m in MODULES}) == len(MODULES), "two modules share a notebook number"

def test_the_trainer_names_no_method():
    methods = {spec.split(":")[0].split(".")[1] for spec in BUILTIN.values()}
    assert "method" in imports("trainer") and not (imports("trainer") & methods), imports("trainer")
    src = (PKG / "trainer.py").read_text()
    assert not re.findall(r"ael|u2pl_loss|RecordingBank|suponly", src), re.findall(r".*(?:ael|u2pl_loss|RecordingBank|suponly).*", src)

"""bench/nb_cells.py (nbdev-test's cell selection without nbdev, for the GPU machine) picks what nbdev-test picks."""
import json, os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import nb_cells  # noqa: E402
from nbdev.test import nb_test_cells  # noqa: E402

def _nb(path, cells):
    path.write_text(json.dumps({"cells": [{"cell_type": t, "source": s, "metadata": {}, "outputs": [], "execution_count": None}
                                          if t == "code" else {"cell_type": t, "source": s, "metadata": {}} for t, s in cells],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path

def test_flags_and_eval_false(tmp_path):
    nb = _nb(tmp_path / "t.ipynb", [("code", "x = 1"), ("markdown", "raise ValueError"),
                                    ("code", "#| gpu\nraise RuntimeError('gpu cell ran')"),
                                    ("code", "#| eval: false\nraise RuntimeError('eval false ran')"),
                                    ("code", "#| export\nimport os\nassert os.getcwd() == %r and os.environ['IN_TEST'] == '1'" % str(tmp_path))])
    before = os.environ.get("IN_TEST")
    assert nb_cells.run_notebook(nb)[0] and os.environ.get("IN_TEST") == before   # restored afterwards
    ok, _, err = nb_cells.run_notebook(nb, ["gpu"])
    assert not ok and "gpu cell ran" in err
    assert len(nb_cells.test_cells(nb)) == 2 and len(nb_cells.test_cells(nb, ["gpu"])) == 3

@pytest.mark.parametrize("name", ["07_entropy", "09_losses", "10_contrastive", "16_evaluate"])
def test_same_cells_as_nbdev(name):
    fn = ROOT / "nbs" / f"{name}.ipynb"
    for flags in ([], ["gpu"]):
        theirs = [c.source for c in nb_test_cells(fn, skip_flags=["notest", "slow", "gpu"], force_flags=flags)]
        ours = nb_cells.test_cells(fn, flags)
        assert [s.strip() for s in ours] == [s.strip() for s in theirs], (name, flags)
    assert len(nb_cells.test_cells(fn, ["gpu"])) == len(nb_cells.test_cells(fn)) + 1   # each has one gpu cell

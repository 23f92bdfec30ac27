"""Run a notebook's tests the way `nbdev-test` does, without nbdev, for machines that have torch but not nbdev.

    python bench/nb_cells.py nbs/07_entropy.ipynb nbs/09_losses.ipynb --flags gpu

A bare CUDA machine often has torch but neither nbdev nor IPython (bench/gpu_check.sh uses this there). As
nbdev-test does: every code cell in order in one namespace, the working directory the notebook's folder,
IN_TEST=1, cells whose `#|` directives name a flag of `tst_flags` (notest, slow, gpu) skipped unless the
flag is passed with --flags, `#| eval: false` cells skipped. Cells may not use IPython syntax (`%`, `!`); the
project's notebooks do not. The notebooks import `fastcore.test`; carry fastcore (pure Python) when the
machine lacks it. Prints one line per notebook and exits non-zero if any failed.
"""
import argparse, os, re, sys, time, traceback, json
from pathlib import Path

TST_FLAGS = {"notest", "slow", "gpu"}

def directives(src: str) -> dict:
    "The `#| key: value` lines of a cell, as {key: value or ''}."
    out = {}
    for line in src.splitlines():
        m = re.match(r"\s*#\|\s*([\w-]+)\s*:?\s*(.*)$", line)
        if m: out[m[1]] = m[2].strip()
    return out

def test_cells(path: Path, flags=()) -> list[str]:
    "Sources of the code cells nbdev-test would run with `--flags flags`."
    skip = TST_FLAGS - set(flags)
    cells = json.loads(Path(path).read_text())["cells"]
    out = []
    for c in cells:
        if c["cell_type"] != "code": continue
        src = "".join(c["source"]); d = directives(src)
        if skip & d.keys() or d.get("eval", "").lower() == "false": continue
        out.append(src)
    return out

def run_notebook(path: Path, flags=()) -> tuple[bool, float, str]:
    path = Path(path).resolve()
    ns, cwd, t, prev = {"__name__": "__main__"}, os.getcwd(), time.time(), os.environ.get("IN_TEST")
    os.environ["IN_TEST"] = "1"
    try:
        os.chdir(path.parent)
        for i, src in enumerate(test_cells(path, flags)):
            try: exec(compile(src, f"{path.name}[cell {i}]", "exec"), ns)
            except Exception: return False, time.time() - t, traceback.format_exc(limit=-4)
    finally:
        os.chdir(cwd)
        if prev is None: os.environ.pop("IN_TEST", None)
        else: os.environ["IN_TEST"] = prev
    return True, time.time() - t, ""

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--flags", nargs="*", default=[], help=f"flags to run as well ({', '.join(sorted(TST_FLAGS))})")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("MPLBACKEND", "Agg")
    bad = 0
    for nb in a.notebooks:
        ok, dt, err = run_notebook(Path(nb), a.flags)
        print(f"{'ok  ' if ok else 'FAIL'} {nb} ({dt:.1f} s)" + ("" if ok else "\n" + err), flush=True)
        bad += not ok
    return 1 if bad else 0

if __name__ == "__main__": sys.exit(main())

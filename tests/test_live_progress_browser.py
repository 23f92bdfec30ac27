"""The live training view in a real browser (JupyterLab + Debian's Chromium): `u2pl.launch.launch(..., live=True)`
runs a toy training from a notebook cell while the progress bar and loss plot refresh from a background thread.
Every line the run writes to `train.log` must also be in the cell's output (a view that captured output from the
thread used to swallow the log lines printed meanwhile), and the progress widget must show the finished run."""
import json, re, time
from playwright.sync_api import sync_playwright
from _helpers import env, ROOT
from _jupyterlab import jupyterlab, browser, run_all

CELL = f'''import sys; sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from u2pl.presets import resolve_config
from u2pl.config import save_yaml
from u2pl.launch import launch
run = Path("run"); run.mkdir(exist_ok=True)
cfg = resolve_config("toy", {{"runtime.run_dir": "run", "runtime.device": "cpu", "runtime.num_threads": 1, "runtime.log_every": 1,
                              "train.epochs": 3}})
launch(save_yaml(cfg, run / "config.yaml"), nproc=1, run_dir=run, live=True)
print("LAUNCH" + "-DONE")'''

def test_every_log_line_reaches_the_cell(tmp_path):
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "live0001", "metadata": {}, "outputs": [], "source": CELL}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "live.ipynb").write_text(json.dumps(nb))
    with jupyterlab(tmp_path, env()) as (url, token, server), sync_playwright() as p:
        b = browser(p)
        try:
            page = b.new_page(viewport={"width": 1300, "height": 1600})
            run_all(page, url, token, "live.ipynb", ".jp-OutputArea-output:has-text('LAUNCH-DONE')", timeout_ms=400_000)
            time.sleep(1)
            shown = page.locator(".jp-Cell .jp-OutputArea").first.inner_text()
            bar = page.locator(".widget-inline-hbox .progress-bar, .widget-progress .progress-bar").count()
        finally: b.close()
    log = [re.sub(r"^\[\d\d:\d\d:\d\d\] ", "", l) for l in (tmp_path / "run/train.log").read_text().splitlines() if l.strip()]
    assert len(log) >= 8, log
    missing = [l for l in log if l not in shown]
    assert not missing, f"{len(missing)} of {len(log)} log lines are not in the cell output: {missing[:3]}"
    assert bar >= 1, "no progress bar was shown"

"""The entropy explorer in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by playwright.

A toy run is trained, `nbs/explore_entropy.ipynb` is prepared for it with papermill (`--prepare-only`: parameters
injected, nothing run), JupyterLab serves it with a token, and the browser runs all cells, moves the `alpha_t`
slider and hovers a pixel. Assertions: the partition panel redraws, the unreliable fraction shown changes to the
value `partition` gives for the new `alpha_t` (computed here, in this process, from the same checkpoint), and the
inspector shows the teacher's probabilities of the hovered pixel. Screenshots go to `runs/browser_test/` (or
$U2PL_ARTIFACTS). The server is stopped by its process group, pass or fail.
"""
import os, re, subprocess, sys, time
from pathlib import Path
import torch
from playwright.sync_api import sync_playwright
from _helpers import train_cmd, run, env, ROOT
from _jupyterlab import jupyterlab, browser, run_all

ART = Path(os.environ.get("U2PL_ARTIFACTS", ROOT / "runs" / "browser_test"))
SUMMARY = ".u2pl-summary .u2pl-unreliable-frac"

def test_explorer_in_jupyterlab(tmp_path):
    ART.mkdir(parents=True, exist_ok=True)
    run(train_cmd(tmp_path / "run", "train.max_iters=12"))
    subprocess.run([sys.executable, "-m", "papermill", "--prepare-only", str(ROOT / "nbs/explore_entropy.ipynb"), str(tmp_path / "explore.ipynb"),
                    "-p", "source", str(tmp_path / "run"), "-p", "n_images", "4"], check=True, capture_output=True, env=env())
    with jupyterlab(tmp_path, env()) as (url, token, server), sync_playwright() as p:
        b = browser(p)
        try: _drive(b.new_page(viewport={"width": 1500, "height": 1300}), url, token, tmp_path)
        finally: b.close()
    assert server.poll() is not None, "the JupyterLab server is still running"

def _text(page, sel: str) -> str: return page.locator(sel).first.inner_text().strip()

def _drive(page, url, token, tmp_path):
    from u2pl.explore import explore_split
    torch.set_num_threads(1)
    run_all(page, url, token, "explore.ipynb", SUMMARY)
    page.wait_for_selector(".jupyter-matplotlib-figure canvas", timeout=60_000)
    time.sleep(2)
    fig = page.locator(".jupyter-matplotlib-figure").first
    fig.scroll_into_view_if_needed()
    page.screenshot(path=str(ART / "explorer_start.png"))
    before_frac, before_png = _text(page, SUMMARY), fig.screenshot()

    out = explore_split(tmp_path / "run", "val", n=4, progress=False)          # the same checkpoint, in this process
    new_alpha = 5.0
    want = f"{100 * float(out.partition_of(0, new_alpha, 'split').unreliable.sum() / out.valid(0).sum()):.2f}"
    readout = page.locator(".widget-slider", has=page.locator("label", has_text="alpha_t %")).locator(".widget-readout").first
    readout.click(); page.keyboard.press("Control+A"); page.keyboard.type(f"{new_alpha}"); page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('{SUMMARY}').innerText.trim() === '{want}'", timeout=60_000)
    assert _text(page, ".u2pl-summary .u2pl-alpha") == f"{new_alpha:.2f}"
    assert want != before_frac, "alpha_t 5 gave the default's unreliable fraction: the test could not see a redraw"
    time.sleep(2)
    assert fig.screenshot() != before_png, "the partition panel did not redraw after the alpha_t slider moved"
    page.screenshot(path=str(ART / "explorer_alpha5.png"))

    box, html = fig.locator("canvas").last.bounding_box(), ""
    for k in range(20):                                   # hover inside the first panel (the image) until the kernel answers
        page.mouse.move(box["x"] + box["width"] * (0.08 + 0.004 * k), box["y"] + box["height"] * 0.5)
        time.sleep(0.5)
        html = page.locator(".u2pl-inspector").first.inner_html() if page.locator(".u2pl-inspector").count() else ""
        if "u2pl-prob" in html: break
    assert "u2pl-prob" in html, "hovering the image did not fill the pixel inspector"
    m = re.search(r"\(y=(\d+), x=(\d+)\)", html)
    shown = [float(v) for v in re.findall(r"u2pl-prob\">([0-9.]+)<", html)][:3]
    exp = out.inspect_pixel(0, int(m[1]), int(m[2]), new_alpha, "split")
    assert shown == [round(p, 3) for _, _, p in exp["teacher"]], (shown, exp["teacher"])
    page.screenshot(path=str(ART / "explorer_hover.png"))

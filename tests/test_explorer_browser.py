"""The entropy explorer in a real browser: JupyterLab on 127.0.0.1, Debian's Chromium driven by playwright.

A toy run is trained, `nbs/explore_entropy.ipynb` is prepared for it with papermill (`--prepare-only`: parameters
injected, nothing run), JupyterLab serves it with a token, and the browser runs all cells, moves the `alpha_t`
slider and hovers a pixel. Assertions: the partition panel redraws, the unreliable fraction shown changes to the
value `partition` gives for the new `alpha_t` (computed here, in this process, from the same checkpoint), and the
inspector shows the teacher's probabilities of the hovered pixel. Screenshots go to `runs/browser_test/` (or
$U2PL_ARTIFACTS). The server is stopped by its process group, pass or fail.
"""
import os, re, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import torch
from playwright.sync_api import sync_playwright
from _helpers import train_cmd, run, env, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ART = Path(os.environ.get("U2PL_ARTIFACTS", ROOT / "runs" / "browser_test"))

def _free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _wait_http(url: str, proc, timeout: float = 120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, "JupyterLab exited before it served"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200: return
        except OSError: time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer {url} within {timeout} s")

def _text(page, sel: str) -> str: return page.locator(sel).first.inner_text().strip()

def test_explorer_in_jupyterlab(tmp_path):
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: apt-get install chromium"
    ART.mkdir(parents=True, exist_ok=True)
    run(train_cmd(tmp_path / "run", "train.max_iters=12"))
    nb = tmp_path / "explore.ipynb"
    subprocess.run([sys.executable, "-m", "papermill", "--prepare-only", str(ROOT / "nbs/explore_entropy.ipynb"), str(nb),
                    "-p", "source", str(tmp_path / "run"), "-p", "n_images", "4"], check=True, capture_output=True, env=env())
    port, token = _free_port(), secrets.token_hex(16)
    e = env(); e["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config"); e.pop("IN_TEST", None)
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
                               "--LabApp.news_url=", "--ServerApp.disable_check_xsrf=False"],
                              env=e, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
            try: _drive(browser.new_page(viewport={"width": 1700, "height": 1300}), port, token, tmp_path)
            finally: browser.close()
    finally:
        try: os.killpg(server.pid, signal.SIGTERM); server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired): os.killpg(server.pid, signal.SIGKILL); server.wait()
        log.close()
    assert server.poll() is not None

def _drive(page, port, token, tmp_path):
    from u2pl.explore import explore_split
    torch.set_num_threads(1)
    page.set_default_timeout(60_000)
    page.goto(f"http://127.0.0.1:{port}/lab/tree/explore.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus", timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    summary = ".u2pl-summary .u2pl-unreliable-frac"
    page.wait_for_selector(summary, timeout=240_000)
    page.wait_for_selector(".jupyter-matplotlib-figure canvas", timeout=60_000)
    time.sleep(2)
    fig = page.locator(".jupyter-matplotlib-figure").first
    fig.scroll_into_view_if_needed()
    page.screenshot(path=str(ART / "explorer_start.png"), full_page=False)
    before_frac, before_png = _text(page, summary), fig.screenshot()

    out = explore_split(tmp_path / "run", "val", n=4, progress=False)
    new_alpha = 5.0
    want = f"{100 * float(out.partition_of(0, new_alpha, 'split').unreliable.sum() / out.valid(0).sum()):.2f}"
    readout = page.locator(".widget-slider", has=page.locator("label", has_text="alpha_t %")).locator(".widget-readout").first
    readout.click(); page.keyboard.press("Control+A"); page.keyboard.type(f"{new_alpha}"); page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('{summary}').innerText.trim() === '{want}'", timeout=60_000)
    assert _text(page, ".u2pl-summary .u2pl-alpha") == f"{new_alpha:.2f}"
    assert want != before_frac, "alpha_t 5 gave the same unreliable fraction as the default: the test would not see a redraw"
    time.sleep(2)
    assert fig.screenshot() != before_png, "the partition panel did not redraw after the alpha_t slider moved"
    page.screenshot(path=str(ART / "explorer_alpha5.png"))

    box = fig.locator("canvas").last.bounding_box()
    for k in range(20):                                   # hover inside the first panel (the image) until the kernel answers
        page.mouse.move(box["x"] + box["width"] * (0.08 + 0.004 * k), box["y"] + box["height"] * 0.5)
        time.sleep(0.5)
        html = page.locator(".u2pl-inspector").first.inner_html() if page.locator(".u2pl-inspector").count() else ""
        if "u2pl-prob" in html: break
    assert "u2pl-prob" in html, "hovering the image did not fill the pixel inspector"
    m = re.search(r"\(y=(\d+), x=(\d+)\)", html)
    y, x = int(m[1]), int(m[2])
    shown = [float(v) for v in re.findall(r"u2pl-prob\">([0-9.]+)<", html)][:3]
    exp = out.inspect_pixel(0, y, x, new_alpha, "split")
    assert shown == [round(p, 3) for _, _, p in exp["teacher"]], (shown, exp["teacher"])
    page.screenshot(path=str(ART / "explorer_hover.png"))

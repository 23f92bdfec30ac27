"A JupyterLab server on 127.0.0.1 for browser tests and screenshots: started with a token, stopped by its process group."
import contextlib, os, re, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

def free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _wait_http(url: str, proc, timeout: float = 120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError("JupyterLab exited before it served")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200: return
        except OSError: time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout} s")

@contextlib.contextmanager
def jupyterlab(root: Path, env: dict):
    "Yield the base URL (with token) of a JupyterLab serving `root`; the server is stopped on exit, pass or fail."
    port, token = free_port(), secrets.token_hex(16)
    settings = Path(root) / ".jupyter-config" / "lab-settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True, exist_ok=True)    # no "news?" pop-up over the page
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    e = dict(env, JUPYTER_CONFIG_DIR=str(Path(root) / ".jupyter-config"), JUPYTERLAB_SETTINGS_DIR=str(settings)); e.pop("IN_TEST", None)
    log = open(Path(root) / "jupyterlab.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                               f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                               "--LabApp.news_url="], env=e, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", server)
        yield f"http://127.0.0.1:{port}", token, server
    finally:
        try: os.killpg(server.pid, signal.SIGTERM); server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError): os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()

def browser(p):
    "Debian's Chromium, headless (nothing downloads a browser)."
    if not Path(CHROMIUM).exists(): raise FileNotFoundError(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    return p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)

def run_all(page, url: str, token: str, notebook: str, ready: str, timeout_ms: int = 240_000):
    "Open `notebook`, run all its cells from the Run menu, wait for selector `ready`."
    page.set_default_timeout(60_000)
    page.goto(f"{url}/lab/tree/{notebook}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.wait_for_function("() => /\\bIdle\\b/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
                           timeout=120_000)                                          # the kernel is up and idle
    for attempt in range(3):                       # a click that lands before the notebook is wired up runs nothing: retry
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try: page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]")).first.wait_for(timeout=20_000); break
        except Exception:
            if attempt == 2: raise
    page.wait_for_selector(ready, timeout=timeout_ms)

"""Screenshots of the entropy explorer's tabs in JupyterLab (headless Chromium), for the README.

    python scripts/explorer_screenshots.py RUN_DIR OUT_DIR [--split val] [--n 16]

RUN_DIR: a run folder (e.g. runs/explore_demo, which nbs/explore_entropy.ipynb trains when given no source).
"""
import argparse, os, subprocess, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from _jupyterlab import jupyterlab, browser, run_all
from playwright.sync_api import sync_playwright

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir"); ap.add_argument("out_dir"); ap.add_argument("--split", default="val"); ap.add_argument("--n", type=int, default=16)
    a = ap.parse_args()
    out = Path(a.out_dir); out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="u2pl-shots-") as d:
        subprocess.run([sys.executable, "-m", "papermill", "--prepare-only", str(ROOT / "nbs/explore_entropy.ipynb"), f"{d}/explore.ipynb",
                        "-p", "source", str(Path(a.run_dir).resolve()), "-p", "split", a.split, "-p", "n_images", str(a.n)], check=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with jupyterlab(Path(d), env) as (url, token, _), sync_playwright() as p:
            b = browser(p); page = b.new_page(viewport={"width": 1400, "height": 1150})
            try: run_all(page, url, token, "explore.ipynb", ".u2pl-summary")
            except Exception:
                page.screenshot(path=str(out / "failed.png")); print((Path(d) / "jupyterlab.log").read_text()[-3000:]); raise
            time.sleep(3)
            page.locator(".jp-Cell").last.scroll_into_view_if_needed()
            fig = page.locator(".jupyter-matplotlib-figure").first
            box = fig.locator("canvas").last.bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5); time.sleep(2)
            shots = {"image": page.locator(".jp-OutputArea-output").last}
            shots["image"].screenshot(path=str(out / "explorer_image.png"))
            for tab in ("dataset", "gallery", "training", "compare"):
                page.locator(".lm-TabBar-tabLabel", has_text=tab).first.click(); time.sleep(8)
                page.locator(".jp-OutputArea-output").last.screenshot(path=str(out / f"explorer_{tab}.png"))
            b.close()
    print("\n".join(str(p) for p in sorted(out.glob("explorer_*.png"))))

if __name__ == "__main__": main()

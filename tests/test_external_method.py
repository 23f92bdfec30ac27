"""A method from outside the package, named by its import path: it trains through `python -m u2pl.train` and through the
papermill driver (its run folder takes the method's short name); a class that lacks part of the interface, or a path
that does not import, is refused with one line, a non-zero exit and no run folder; a checkpoint of such a method predicts
without its code, and the explorer refuses it without importing anything unless the user names the method."""
import json, os, subprocess, sys, textwrap
from _helpers import ROOT, env, load, train_cmd

MODULE = textwrap.dedent('''
    import torch
    from u2pl.u2pl import U2PL

    class Mine(U2PL):
        "U2PL that also logs a number of its own (any change to a hook would do)."
        name = "mine"
        log_keys = U2PL.log_keys + ("mine_frac",)
        def monitor(self, out, b, side, ctx):
            s = super().monitor(out, b, side, ctx)
            if ctx.semi: s["mine_frac"] = torch.tensor(0.5)
            return s

    class Partial:
        name = "partial"
        def teacher_side(self, b, ctx): return None
''')

def _setup(tmp_path):
    pkg = tmp_path / "lib" / "mymethods"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mine.py").write_text(MODULE)
    e = env(); e["PYTHONPATH"] = str(tmp_path / "lib") + os.pathsep + e["PYTHONPATH"]
    return e

def test_outside_method_trains_through_the_cli_and_is_refused_when_it_does_not_fit(tmp_path):
    e = _setup(tmp_path)
    run = tmp_path / "run"
    r = subprocess.run(train_cmd(run, "semi.method=mymethods.mine:Mine", "train.max_iters=10", "runtime.log_every=1"),
                       capture_output=True, text=True, env=e, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x.get("mine_frac") for x in rows if x["iter"] > 8] == [0.5, 0.5]        # its own number, in the semi-supervised steps
    ck = load(run / "ckpt/latest.pt")
    assert ck["method"]["name"] == "mine" and ck["method"]["spec"] == "mymethods.mine:Mine" and "bank" in ck["method"]["state"]
    assert "mine (paper mode" in (run / "train.log").read_text()
    for spec, words in [("mymethods.mine:Partial", ["Partial lacks", "uses_unlabeled", "student_loss"]),
                        ("nosuchpkg.mod:X", ["cannot import module 'nosuchpkg.mod'"]), ("mymethods.mine:Gone", ["has no 'Gone'"])]:
        bad = tmp_path / spec.replace(":", "_")
        r = subprocess.run(train_cmd(bad, f"semi.method={spec}"), capture_output=True, text=True, env=e, cwd=ROOT, timeout=300)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
        assert all(w in r.stderr for w in words), r.stderr
        assert not bad.exists()

    # prediction needs no method code: without the module on the path, u2pl-predict uses the recorded network
    (tmp_path / "in").mkdir()
    from PIL import Image
    import numpy as np
    Image.fromarray(np.zeros((33, 33, 3), np.uint8)).save(tmp_path / "in/a.png")
    r = subprocess.run([sys.executable, "-m", "u2pl.predict", "--checkpoint", str(run / "ckpt/latest.pt"), "--input", str(tmp_path / "in"),
                        "--output", str(tmp_path / "out"), "--device", "cpu"], capture_output=True, text=True, env=env(), cwd=ROOT, timeout=300)
    assert r.returncode == 0 and (tmp_path / "out/a.png").is_file() and "using its teacher" in r.stdout, r.stderr

    # the explorer: refused without importing the checkpoint's module, unless the user names the method
    probe = textwrap.dedent(f'''
        import sys
        from u2pl.explore import explore_split
        from u2pl.core import ConfigError
        try: explore_split({str(run)!r}, "val", n=1, progress=False); print("NOT REFUSED")
        except ConfigError as e: print("refused:", e)
        print("imported" if "mymethods.mine" in sys.modules else "not imported")
        out = explore_split({str(run)!r}, "val", n=1, progress=False, method="mymethods.mine:Mine")
        print("explored", len(out))
    ''')
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=e, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "refused: the checkpoint was trained with method 'mine' (mymethods.mine:Mine), which is not built in" in r.stdout, r.stdout
    assert "not imported" in r.stdout and "explored 1" in r.stdout, r.stdout

def test_outside_method_through_the_papermill_driver(tmp_path):
    e = _setup(tmp_path)
    e.pop("IN_TEST", None)
    from u2pl.datasets import make_tiny_folder
    root = tmp_path / "leaf"
    make_tiny_folder(root, n=10, n_labeled=7, size=(40, 48))
    with open(root / "dataset.yaml", "a") as f: f.write("val: auto\n")
    small = ("overrides: {model.backbone: resnet18, model.multi_grid: false, model.aspp_dilations: [1, 2, 3], data.crop_size: 33,"
             f" data.batch_size: 2, data.batch_size_unlabeled: 2, data.splits_root: '{tmp_path / 'splits'}',"
             " contrastive.queue_capacity: 64, contrastive.queue_capacity_bg: 64, contrastive.num_queries: 8, contrastive.num_negatives: 4,"
             " model.pretrained: scratch}")
    r = subprocess.run([sys.executable, "-m", "papermill", "nbs/train.ipynb", str(tmp_path / "out.ipynb"), "--log-output",
                        "-p", "dataset", str(root), "-p", "split", "2", "-p", "smoke", "True", "-p", "method", "mymethods.mine:Mine",
                        "-y", small], cwd=ROOT, capture_output=True, text=True, timeout=900, env=e)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = root / "runs/2/mine"                                    # the short name, never the import path
    assert (run / "ckpt/latest.pt").is_file() and not list(root.glob("runs/2/mymethods*"))
    assert load(run / "ckpt/latest.pt")["method"]["name"] == "mine"
    assert any("mine_frac" in json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines())

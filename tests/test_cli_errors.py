"""Everyday mistakes end as one message at the command line, a non-zero exit and no traceback: bad data inside a
DataLoader worker (unwrapped to the data layer's message naming the file), a run folder that cannot be created, a
folder another run holds, a bad override, a corrupt checkpoint for u2pl-predict."""
import socket, subprocess, sys
import numpy as np
from PIL import Image
from u2pl.datasets import make_tiny_folder
from _helpers import train_cmd, run, env, ROOT

SMALL = ["model.backbone=resnet18", "model.multi_grid=false", "model.aspp_dilations=[1,2,3]", "data.crop_size=33",
         "data.batch_size=2", "data.batch_size_unlabeled=2", "train.epochs=1", "train.iters_per_epoch=2", "data.num_workers=1",
         "contrastive.queue_capacity=64", "contrastive.queue_capacity_bg=64", "runtime.device=cpu", "runtime.num_threads=1",
         "model.pretrained=scratch"]

def train(tmp_path, *args):
    cmd = [sys.executable, "-m", "u2pl.train", *args]
    for s in SMALL: cmd += ["--set", s]
    return run(cmd, check=False)

def one_message(r, *words):
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    line = [l for l in r.stderr.splitlines() if l.startswith("u2pl.train")]
    assert line and all(w in line[-1] for w in words), (words, r.stderr[-3000:])

def test_bad_label_in_a_worker_names_the_file(tmp_path):
    make_tiny_folder(tmp_path / "leaf", n=8, n_labeled=8, size=(40, 48))
    r = train(tmp_path, "--preset", "custom", "--run-dir", str(tmp_path / "run"), "--set", f"data.data_root={tmp_path / 'leaf'}",
              "--set", "data.split=4", "--set", f"data.splits_root={tmp_path / 'splits'}", "--set", "semi.method=suponly")
    assert r.returncode == 0, r.stderr[-3000:]
    lab = (tmp_path / "splits/4/labeled.txt").read_text().split()
    Image.fromarray(np.full((40, 48), 7, np.uint8), "L").save(tmp_path / f"leaf/masks/{lab[0]}.png")    # not 0/255
    r = train(tmp_path, "--preset", "custom", "--run-dir", str(tmp_path / "run2"), "--set", f"data.data_root={tmp_path / 'leaf'}",
              "--set", "data.split=4", "--set", f"data.splits_root={tmp_path / 'splits'}", "--set", "semi.method=suponly")
    one_message(r, "training failed: ValueError", f"{lab[0]}.png")
    assert "DataLoader worker" not in r.stderr and not (tmp_path / "run2/ckpt/latest.pt").exists()

def test_run_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    r = run(train_cmd(tmp_path / "file" / "run"), check=False)
    one_message(r, "training failed", "NotADirectoryError", str(tmp_path / "file"))

def test_second_run_on_the_same_folder_is_refused(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (tmp_path / "run").mkdir(); (tmp_path / "run/.lock").write_text(f"{socket.gethostname()} {holder.pid}\n")
        r = run(train_cmd(tmp_path / "run"), check=False)
        one_message(r, "training failed", f"in use by process {holder.pid}", str(tmp_path / "run"))
        assert not (tmp_path / "run/metrics.jsonl").exists() and not (tmp_path / "run/config.yaml").exists()
    finally: holder.kill()

def test_unknown_override_is_blamed_on_the_override(tmp_path):
    (tmp_path / "r.yaml").write_text("preset: toy\n")
    r = run([sys.executable, "-m", "u2pl.train", "--config", str(tmp_path / "r.yaml"), "--set", "train.lrr=1"], check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "invalid configuration: override train.lrr=1" in r.stderr and "train.lr" in r.stderr, r.stderr

def test_predict_exit_codes(tmp_path):
    (tmp_path / "in").mkdir()
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / "in/a.png")
    (tmp_path / "rand.pt").write_bytes(np.random.default_rng(0).bytes(4000))
    cmd = [sys.executable, "-c", "import sys; from u2pl.predict import predict_main; sys.exit(predict_main())",
           "--checkpoint", str(tmp_path / "rand.pt"), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--device", "cpu"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env(), cwd=ROOT, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr and "rand.pt is corrupt" in r.stderr, r.stderr[-2000:]
    run(train_cmd(tmp_path / "run", "train.epochs=1"))
    cmd[cmd.index(str(tmp_path / "rand.pt"))] = str(tmp_path / "run/ckpt/latest.pt")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env(), cwd=ROOT, timeout=120)
    assert r.returncode == 0 and str(tmp_path / "out/a.png") in r.stdout and "using its" in r.stdout, r.stdout + r.stderr[-2000:]

"""The papermill driver end to end, from the repository root, in smoke mode."""
import json, os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def papermill(out, *args, timeout=900):
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "papermill", "nbs/train.ipynb", str(out), "--log-output", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)

def outputs_text(nb_path) -> str:
    nb = json.loads(Path(nb_path).read_text())
    parts = []
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            parts += [o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", [])),
                      o.get("ename", ""), o.get("evalue", ""), "".join(o.get("traceback", []))]
    return "\n".join(parts)

def test_smoke_run_end_to_end(tmp_path):
    run_dir = tmp_path / "run"
    r = papermill(tmp_path / "out.ipynb", "-p", "dataset", "synthetic", "-p", "smoke", "True", "-p", "run_dir", str(run_dir))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for f in ("config.yaml", "metrics.jsonl", "eval.jsonl", "ckpt/latest.pt"): assert (run_dir / f).exists(), f
    evals = [json.loads(l) for l in (run_dir / "eval.jsonl").read_text().splitlines() if l.strip()]
    assert evals and all(0.0 <= e["miou"] <= 1.0 for e in evals) and "protocol" in evals[-1]
    text = outputs_text(tmp_path / "out.ipynb")
    assert "last mIoU" in text and "run folder" in text

def test_failing_run_fails_papermill(tmp_path):
    # an absurd learning rate makes the loss non-finite: the worker stops, the driver raises, papermill exits non-zero
    r = papermill(tmp_path / "bad.ipynb", "-p", "dataset", "synthetic", "-p", "smoke", "True", "-p", "run_dir", str(tmp_path / "bad"),
                  "-y", "overrides: {train.lr: 1.0e+30}")
    assert r.returncode != 0
    text = outputs_text(tmp_path / "bad.ipynb")
    assert "TrainingFailed" in text and "non-finite" in text

def test_missing_data_stops_with_instructions(tmp_path):
    r = papermill(tmp_path / "voc.ipynb", "-p", "split", "1464", "-p", "data_root", str(tmp_path / "nowhere"), timeout=300)
    assert r.returncode != 0
    text = outputs_text(tmp_path / "voc.ipynb")
    assert "JPEGImages" in text and "SegmentationClassAug" in text and "-p dataset synthetic" in text

def test_misspelled_parameter_and_unknown_dataset_stop_at_once(tmp_path):
    # `-p splt 64` would otherwise be ignored and the preset's defaults trained: the driver names it and the valid ones
    r = papermill(tmp_path / "typo.ipynb", "-p", "dataset", "synthetic", "-p", "splt", "64", "-p", "smoke", "True",
                  "-p", "run_dir", str(tmp_path / "typo"), timeout=300)
    assert r.returncode != 0
    text = outputs_text(tmp_path / "typo.ipynb")
    assert "unknown parameter(s) ['splt']" in text and "'split'" in text and "'epochs'" in text, text[-2000:]
    assert not (tmp_path / "typo").exists()                                           # nothing was started
    r = papermill(tmp_path / "nods.ipynb", "-p", "dataset", "nosuchdataset", timeout=300)
    assert r.returncode != 0
    text = outputs_text(tmp_path / "nods.ipynb")
    assert "unknown dataset 'nosuchdataset'" in text and "'synthetic'" in text and "dataset.yaml" in text, text[-2000:]

def error_outputs(nb_path) -> list[dict]:
    return [o for c in json.loads(Path(nb_path).read_text())["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]

def test_bad_values_end_in_one_line(tmp_path):
    # a value the run cannot take ends the notebook in its message alone (no stack of the driver's frames), naming the
    # setting, before anything is started; a non-integer epoch count is refused, not truncated
    for args, ename, words in [(("-p", "method", "nosuchmethod"), "ConfigError", ["semi.method='nosuchmethod'", "u2pl_ael"]),
                               (("-p", "epochs", "2.5"), "ConfigError", ["train.epochs", "2.5"]),
                               (("-p", "gpus", "two"), "DriverStop", ["gpus", "'two'"])]:
        out, run = tmp_path / f"{args[1]}.ipynb", tmp_path / f"run_{args[1]}"
        r = papermill(out, "-p", "dataset", "synthetic", "-p", "run_dir", str(run), *args, timeout=300)
        assert r.returncode != 0
        (err,) = error_outputs(out)
        assert err["ename"] == ename and all(w in err["evalue"] for w in words), err
        assert err["traceback"] == [f"{ename}: {err['evalue']}"], err["traceback"]
        assert not run.exists()

def test_explorer_bad_source_ends_in_one_line(tmp_path):
    # the explorer notebook with a source that holds no checkpoint, or a split that does not exist: its message alone
    for args, ename, words in [(("-p", "source", str(tmp_path / "nowhere")), "DriverStop", ["no checkpoint at", "ckpt/latest.pt"]),
                               (("-p", "source", str(tmp_path), "-p", "split", "tain"), "ConfigError", ["split must be one of", "'tain'"])]:
        out = tmp_path / f"explore_{len(args)}.ipynb"
        r = subprocess.run([sys.executable, "-m", "papermill", "nbs/explore_entropy.ipynb", str(out), *args], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode != 0
        (err,) = error_outputs(out)
        assert err["ename"] == ename and all(w in err["evalue"] for w in words), err
        assert err["traceback"] == [f"{ename}: {err['evalue']}"], err["traceback"]

def test_custom_folder_dataset_by_path(tmp_path):
    # `-p dataset <folder with dataset.yaml>`: the custom preset, classes from the yaml, splits generated on first use
    from u2pl.datasets import make_tiny_folder
    root = tmp_path / "leaf"
    ids = make_tiny_folder(root, n=10, n_labeled=7, size=(40, 48))
    (root / "val.txt").write_text("\n".join(ids[5:7]) + "\n")
    with open(root / "dataset.yaml", "a") as f: f.write("val: val.txt\n")
    small = ("overrides: {model.backbone: resnet18, model.multi_grid: false, model.aspp_dilations: [1, 2, 3], data.crop_size: 33,"
             f" data.batch_size: 2, data.batch_size_unlabeled: 2, data.splits_root: '{tmp_path / 'splits'}',"
             " contrastive.queue_capacity: 64, contrastive.queue_capacity_bg: 64, contrastive.num_queries: 8, contrastive.num_negatives: 4}")
    r = papermill(tmp_path / "nowts.ipynb", "-p", "dataset", str(root), "-p", "split", "2", "-p", "smoke", "True",
                  "-p", "run_dir", str(tmp_path / "run"), "-y", small)             # the gpu recipe with no weights: refused at once
    (err,) = error_outputs(tmp_path / "nowts.ipynb")
    assert r.returncode != 0 and err["ename"] == "ConfigError" and "model.pretrained is not set" in err["evalue"], err
    assert not (tmp_path / "run").exists()
    r = papermill(tmp_path / "leaf.ipynb", "-p", "dataset", str(root), "-p", "split", "2", "-p", "smoke", "True",
                  "-p", "run_dir", str(tmp_path / "run"), "-p", "pretrained", "scratch", "-y", small)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "random weights (model.pretrained: scratch)" in (tmp_path / "run/train.log").read_text()
    cfg = (tmp_path / "run/config.yaml").read_text()
    assert "dataset: folder" in cfg and "num_classes: 2" in cfg and "preset: custom" in cfg
    evals = [json.loads(l) for l in (tmp_path / "run/eval.jsonl").read_text().splitlines() if l.strip()]
    assert evals and all(len(e["iou"]) == 2 for e in evals)
    assert (tmp_path / "splits/2/labeled.txt").read_text().split() and "last mIoU" in outputs_text(tmp_path / "leaf.ipynb")

def test_readme_papermill_output_folders_exist():
    # papermill does not create the output notebook's folder: the commands of the README and of the documentation
    # pages (docs/) must work in a fresh clone
    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    outs = re.findall(r"(?:^|&& )(?:\.venv/bin/)?papermill (?:--[\w-]+ )*nbs/(?:train|explore_entropy)\.ipynb (\S+)", text, re.M)
    assert len(outs) >= 3, outs
    for o in outs: assert (ROOT / o).parent.is_dir(), f"README's papermill command writing {o} needs {Path(o).parent}/ in the checkout"

def test_readme_custom_dataset_command_with_the_cpu_recipe(tmp_path):
    # the README's two commands for one's own data, on a tiny folder dataset (smoke length): split lists and the run
    # folder land beside the dataset, not in the checkout; the run evaluates (val: auto) and logs the monitoring keys
    from u2pl.datasets import make_tiny_folder
    readme = (ROOT / "README.md").read_text()
    gen = re.search(r"^u2pl-splits generate custom --root /path/to/mydata (.*?)\s+#", readme, re.M)
    pm = re.search(r"^papermill --log-output nbs/train\.ipynb runs/mydata\.ipynb (.*-p recipe cpu)$", readme, re.M)
    assert gen and pm, "the README's custom-dataset commands changed"
    root = tmp_path / "mydata"
    make_tiny_folder(root, n=16, n_labeled=12, size=(40, 48))
    with open(root / "dataset.yaml", "a") as f: f.write("val: auto\n")
    split = gen[1].split()[-1]
    r = subprocess.run([sys.executable, "-c", "import sys; from u2pl.cli import main; sys.exit(main(sys.argv[1:]))", "generate", "custom",
                        "--root", str(root), *gen[1].replace("100", "4").split()], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and (root / "splits/4/labeled.txt").is_file(), r.stderr[-2000:]
    args = pm[1].replace("/path/to/mydata", str(root)).replace(f"-p split {split}", "-p split 4").split()
    r = papermill(tmp_path / "mydata.ipynb", *args, "-p", "smoke", "True", "-y",
                  "overrides: {data.batch_size: 2, data.batch_size_unlabeled: 2, contrastive.queue_capacity: 64, contrastive.queue_capacity_bg: 64}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = root / "runs/4/u2pl"
    cfg = (run / "config.yaml").read_text()
    assert "recipe: cpu" in cfg and "backbone: resnet18" in cfg and "crop_size: 33" in cfg
    evals = [json.loads(l) for l in (run / "eval.jsonl").read_text().splitlines() if l.strip()]
    assert evals and len(evals[-1]["iou"]) == 2
    rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    semi = [x for x in rows if "loss_u" in x]
    assert semi and all(k in semi[-1] for k in ("unsup_used_frac", "ts_agree", "pl_hist_tv", "pl_hist")), semi[-1]
    log = (run / "train.log").read_text()
    assert "recipe cpu" in log and f"split lists {(root / 'splits/4').resolve()}: labeled.txt " in log
    assert not list((ROOT / "data/splits").glob("tinyleaf*")) and not (ROOT / "runs" / "mydata").exists()

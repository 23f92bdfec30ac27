"""The `u2pl-splits` command line: generate (VOC families, Cityscapes, custom, synthetic), describe, validate against
files on disk, and the importer's handling of malformed reference-format lists."""
import json
import pytest
from u2pl.datasets import folder_pool, make_tiny_cityscapes, make_tiny_folder
from u2pl.cli import main
from u2pl.splits import read_list, write_list, import_splits, sha256_file


def test_generate_voc_families(tmp_path, capsys):
    aug = [f"2008_{i:06d}" for i in range(320)]; fine = aug[::4]            # 80 fine ids among 320
    write_list(tmp_path / "aug.txt", aug); write_list(tmp_path / "fine.txt", fine); write_list(tmp_path / "val.txt", ["2009_000001"])
    for fam in ("classic", "blended", "uniform"):
        out = tmp_path / fam
        rc = main(["generate", "voc", "--train-aug", str(tmp_path / "aug.txt"), "--fine", str(tmp_path / "fine.txt"), "--family", fam,
                   "--sizes", "1/16", "1/8", "1/4", "1/2", "--val", str(tmp_path / "val.txt"), "--out", str(out)])
        assert rc == 0
        m = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/manifest.json")}
        if fam == "classic": assert sorted(m, key=int) == ["5", "10", "20", "40"] and all(v["fine_fraction"] == 1.0 for v in m.values())
        if fam == "blended": assert m["20"]["fine_fraction"] == 1.0 and m["160"]["fine_labeled"] == 80
        if fam == "uniform": assert m["160"]["fine_fraction"] < 0.5
        assert all(v["lists"]["labeled"]["sha256"] == sha256_file(out / k / "labeled.txt") for k, v in m.items())
    assert "fine_fraction" in capsys.readouterr().out


def test_generate_cityscapes_custom_and_validate(tmp_path, capsys):
    lines = make_tiny_cityscapes(tmp_path / "city", n=9)
    write_list(tmp_path / "train.txt", lines[:-1])
    assert main(["generate", "cityscapes", "--train", str(tmp_path / "train.txt"), "--sizes", "2", "4", "--out", str(tmp_path / "cs")]) == 0
    assert main(["validate", str(tmp_path / "cs"), "--data-root", str(tmp_path / "city"), "--dataset", "cityscapes"]) == 0
    (tmp_path / "city" / lines[0]).unlink()
    rc = main(["validate", str(tmp_path / "cs"), "--data-root", str(tmp_path / "city"), "--dataset", "cityscapes"])
    err = capsys.readouterr().err
    assert rc == 2 and "missing on disk" in err and lines[0] in err
    write_list(tmp_path / "pool.txt", [f"img{i}" for i in range(10)])
    assert main(["generate", "custom", "--pool", str(tmp_path / "pool.txt"), "--sizes", "0.3", "--out", str(tmp_path / "cu")]) == 0
    assert len(read_list(tmp_path / "cu/3/labeled.txt")) == 3 and len(read_list(tmp_path / "cu/3/unlabeled.txt")) == 7


def test_import_malformed(tmp_path):
    src = tmp_path / "ref"; (src / "4").mkdir(parents=True)
    (src / "4/labeled.txt").write_text("a\nb\nc\nd")                       # no trailing newline: fine
    (src / "4/unlabeled.txt").write_bytes(b"e\r\nf\r\n")                   # CRLF: normalised
    sp = import_splits(src, tmp_path / "out")
    assert sp["4"].unlabeled == ["e", "f"] and (tmp_path / "out/4/unlabeled.txt").read_bytes() == b"e\nf\n"
    (src / "4/unlabeled.txt").write_text("e\nf\ne\n")
    with pytest.raises(ValueError, match=r"unlabeled\.txt:3: duplicate entry 'e'"): import_splits(src, tmp_path / "out2")
    (src / "4/unlabeled.txt").write_text("e\nb\n")
    with pytest.raises(ValueError, match="labeled and unlabeled overlap: b"): import_splits(src, tmp_path / "out3")


def test_generate_custom_from_folder(tmp_path):
    ids = make_tiny_folder(tmp_path / "leaf", n=8, n_labeled=5)
    assert main(["generate", "custom", "--root", str(tmp_path / "leaf"), "--sizes", "2", "--out", str(tmp_path / "sp")]) == 0
    lab, unl = read_list(tmp_path / "sp/2/labeled.txt"), read_list(tmp_path / "sp/2/unlabeled.txt")
    assert set(lab) <= set(ids[:5]) and sorted(lab + unl) == sorted(ids)

def test_custom_splits_default_beside_the_dataset(tmp_path, capsys):
    # without --out the splits go to <dataset root>/splits/ (not into the workbench checkout), and the command says where;
    # `val: auto` holds out a seeded tenth of the labelled images, never in a split's labelled or unlabelled list
    ids = make_tiny_folder(tmp_path / "leaf", n=30, n_labeled=20)
    with open(tmp_path / "leaf/dataset.yaml", "a") as f: f.write("val: auto\n")
    assert main(["generate", "custom", "--root", str(tmp_path / "leaf"), "--sizes", "4"]) == 0
    assert f"wrote 1 split(s) to {(tmp_path / 'leaf/splits').resolve()}" in capsys.readouterr().out
    val, lab, unl = (read_list(tmp_path / f"leaf/splits/{f}") for f in ("val.txt", "4/labeled.txt", "4/unlabeled.txt"))
    assert len(val) == 2 and set(val) <= set(ids[:20]) and not set(val) & set(lab + unl) and len(lab) == 4
    assert sorted(val + lab + unl) == sorted(ids)
    assert "family" not in (tmp_path / "leaf/splits/4/manifest.json").read_text()
    assert folder_pool(tmp_path / "leaf")["val"] == val                     # the same hold-out every time

"""The split importer on the official U2PL lists (read from ../shared/reference-splits, never copied into the
project): counts and set relations of the public split files (data/splits/)."""
import json
from pathlib import Path
import pytest
from u2pl.splits import import_splits, load_split

REF = Path(__file__).resolve().parents[2] / "shared" / "reference-splits"
pytestmark = pytest.mark.skipif(not REF.is_dir(), reason=f"official split lists not available at {REF} (../shared absent)")

VOC = {"92": 10490, "183": 10399, "366": 10216, "732": 9850, "1464": 9118, "662": 9920, "1323": 9259, "2646": 7936, "5291": 5291}
CITY = {"186": 2789, "372": 2603, "744": 2231, "1488": 1487}

def test_import_pascal(tmp_path):
    sp = import_splits(REF / "pascal", tmp_path / "pascal")
    assert {k: len(s.unlabeled) for k, s in sp.items()} == VOC
    for k, s in sp.items():
        assert len(s.labeled) == int(k) and not set(s.labeled) & set(s.unlabeled)
        assert len(set(s.labeled) | set(s.unlabeled)) == 10582
        assert len(s.val) == 1449 and not set(s.val) & (set(s.labeled) | set(s.unlabeled))
    fine = set(sp["1464"].labeled)
    for k in ("92", "183", "366", "732", "662", "1323"): assert set(sp[k].labeled) <= fine, k
    for k in ("2646", "5291"): assert fine <= set(sp[k].labeled), k
    assert set(sp["662"].labeled) <= set(sp["1323"].labeled) <= set(sp["2646"].labeled)
    assert len(set(sp["2646"].labeled) - set(sp["5291"].labeled)) == 668
    assert len(set(sp["92"].labeled) - set(sp["183"].labeled)) == 83
    assert sp["1464"].labeled[:2] == ["2007_000032", "2007_000039"]
    back = load_split(tmp_path / "pascal", "662")                      # written in the project format, with a manifest
    assert back.labeled == sp["662"].labeled
    man = json.loads((tmp_path / "pascal" / "662" / "manifest.json").read_text())
    assert "imported from" in json.dumps(man) and "sha256" in json.dumps(man)

def test_import_cityscapes(tmp_path):
    sp = import_splits(REF / "cityscapes", tmp_path / "cityscapes")
    assert {k: len(s.unlabeled) for k, s in sp.items()} == CITY
    for k, s in sp.items():
        assert len(s.labeled) == int(k) and len(set(s.labeled) | set(s.unlabeled)) == 2975 and len(s.val) == 500
    assert sp["744"].labeled[0] == "leftImg8bit/train/ulm/ulm_000079_000019_leftImg8bit.png"

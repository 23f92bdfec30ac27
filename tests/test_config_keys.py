"""No accepted-but-ignored option: every leaf key of the run config is read by the package outside the config module
(attribute access `.key` or the key as a string), or is listed here with where it takes effect. A key added to a
dataclass and wired to nothing fails this test; so does one whose last reader was removed."""
import dataclasses, re
from pathlib import Path
from u2pl import config as C

ROOT = Path(__file__).resolve().parents[1]
# keys that take effect inside u2pl.config itself (the trainer calls the functions named)
IN_CONFIG = {"train.lr_scaling": "effective_lr", "train.ref_global_batch": "effective_lr"}

def leaves(cls, prefix=""):
    for f in dataclasses.fields(cls):
        t = C._hints(cls)[f.name]
        if dataclasses.is_dataclass(t): yield from leaves(t, prefix + f.name + ".")
        else: yield prefix + f.name, f.name

def test_every_config_key_is_read_somewhere():
    src = "\n".join(p.read_text() for p in (ROOT / "u2pl").glob("*.py") if p.name not in ("config.py", "_modidx.py"))
    cfg_src = (ROOT / "u2pl/config.py").read_text()
    unread = [k for k, name in leaves(C.Config)
              if not re.search(rf"\.{name}\b|[\"']{name}[\"']", src) and k not in IN_CONFIG]
    assert not unread, f"config keys that nothing reads: {unread}"
    for k, where in IN_CONFIG.items():
        assert re.search(rf"\.{k.split('.')[-1]}\b|[\"']{k.split('.')[-1]}[\"']", cfg_src), (k, where)

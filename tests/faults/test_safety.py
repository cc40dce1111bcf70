"""Nothing gets in: no code from model files, no unverified downloads, no network, no SQL built
from strings; and nothing is damaged: photo folders untouched but for sidecars asked for, an
existing sidecar's other fields kept, the library private to its user."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import pickle
import socket
import stat
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import pytest_socket
import torch

from photosense.errors import ModelError
from photosense.library import library as library_module
from photosense.models import hub
from photosense.models.local import read_checkpoint
from tests.conftest import save_photo
from tests.faults.child import fake_models
from tests.faults.harness import open_library, tree_snapshot
from tests.faults.test_bad_input import attempt
from tests.hub_cache import lay_out_hub_file, register_tiny_pretrained

PACKAGE = Path(__file__).resolve().parents[2] / "photosense"


@pytest.fixture(autouse=True)
def fake_models_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "load_encoder", fake_models)


# -- model files never run code ---------------------------------------------------------------


class OpensAFile:
    """Unpickling this calls ``open(path, "w")``: a file appears if the pickle is run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


class RunsAShell:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch '{self.path}'",))


def hostile_checkpoints(tmp: Path, marker: Path) -> dict[str, Path]:
    weights = {"visual.proj": torch.zeros(2, 2)}
    files = {}
    for name, payload in (("opens-a-file", OpensAFile), ("runs-a-shell", RunsAShell)):
        zipped = tmp / f"{name}.pt"
        torch.save({"state_dict": weights, "extra": payload(marker)}, zipped)
        raw = tmp / f"{name}.pkl"
        raw.write_bytes(pickle.dumps({"state_dict": weights, "extra": payload(marker)}, 2))
        disguised = tmp / f"{name}.safetensors"
        disguised.write_bytes(raw.read_bytes())
        files.update({f"{name} (torch zip)": zipped, f"{name} (raw)": raw})
        files[f"{name} (named .safetensors)"] = disguised
    return files


def test_a_pickle_that_runs_code_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tally: Counter[str]
) -> None:
    marker = tmp_path / "pwned"
    for label, path in hostile_checkpoints(tmp_path, marker).items():
        with pytest.raises(ModelError, match="refused|not a checkpoint") as refused:
            read_checkpoint(path)
        assert not marker.exists(), label
        code, _, err = attempt(capsys, "models", "import", path, "--arch", "photosense-tiny")
        assert code == 1 and err.startswith("photosense: "), (label, err)
        assert not marker.exists(), label
        assert "pickle" in str(refused.value) or "not a checkpoint" in str(refused.value)
        tally["hostile model files refused"] += 1
    assert not (Path(os.environ["PHOTOSENSE_HOME"]) / "models").exists()  # nothing kept


SAFE_LOADERS = "torch.load(..., weights_only=True), safetensors, np.load(allow_pickle=False)"


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(call: ast.Call) -> str:
    return ast.unparse(call.func)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def sources() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def test_only_safe_loaders_read_model_and_data_files() -> None:
    """Every torch.load passes weights_only=True; nothing unpickles, evals or execs."""
    unsafe = []
    loads = 0
    for path, tree in sources():
        for call in _calls(tree):
            name = _name(call)
            where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno} {name}"
            if name.endswith("torch.load"):
                loads += 1
                flag = _keyword(call, "weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    unsafe.append(where)
            if name in {"pickle.load", "pickle.loads", "pickle.Unpickler", "marshal.loads"}:
                unsafe.append(where)
            if name in {"eval", "exec", "yaml.load", "joblib.load", "dill.load", "shelve.open"}:
                unsafe.append(where)
            if name.endswith(("np.load", "numpy.load")):
                flag = _keyword(call, "allow_pickle")
                if flag is not None and not (isinstance(flag, ast.Constant) and not flag.value):
                    unsafe.append(where)
    assert unsafe == [], f"only {SAFE_LOADERS}: {unsafe}"
    assert loads >= 2  # the starter's weights and imported checkpoints are read this way


# -- downloads are verified --------------------------------------------------------------------


def fake_hub_download(cache: Path, content: bytes, claimed: bytes) -> Any:
    """hf_hub_download as it lays out the cache: a blob named by the hub's hash, linked from
    the snapshot; ``claimed`` is the content whose hash the hub announced."""

    def download(repo: str, filename: str, **_: Any) -> str:
        folder = cache / f"models--{repo.replace('/', '--')}"
        blob = folder / "blobs" / hashlib.sha256(claimed).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        link = lay_out_hub_file(cache, repo, filename, b"")
        link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
        return str(link)

    return download


@pytest.mark.slow
@pytest.mark.usefixtures("empty_hub")
def test_a_download_is_verified_against_its_hash(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    import huggingface_hub

    register_tiny_pretrained(monkeypatch)
    from photosense.models.openclip import TINY_ARCH

    weights = b"the real weights" * 1000
    monkeypatch.setattr(
        huggingface_hub, "hf_hub_download", fake_hub_download(empty_hub, weights, weights)
    )
    path = hub.download(TINY_ARCH, "testtag")
    assert path.read_bytes() == weights

    for file in empty_hub.rglob("*"):
        if file.is_file() or file.is_symlink():
            file.unlink()
    tampered = b"the real weights" * 999 + b"plus something!!"  # same size, other bytes
    monkeypatch.setattr(
        huggingface_hub, "hf_hub_download", fake_hub_download(empty_hub, tampered, weights)
    )
    with pytest.raises(ModelError, match="damaged: its content does not match"):
        hub.download(TINY_ARCH, "testtag")
    tally["tampered downloads refused"] += 1
    assert [p.name for p in empty_hub.rglob("*") if p.is_file()] == ["main"]  # blob gone
    assert hub.cached_weights(hub.hub_source(TINY_ARCH, "testtag")) is None


def test_git_stored_files_are_verified_too(tmp_path: Path) -> None:
    content = b'{"model_type": "bert"}'
    git_sha1 = hashlib.sha1(b"blob %d\x00" % len(content) + content).hexdigest()
    good = tmp_path / git_sha1
    good.write_bytes(content)
    hub.verify_download(good)
    bad = tmp_path / ("0" * 40)
    bad.write_bytes(content)
    with pytest.raises(ModelError):
        hub.verify_download(bad)
    assert not bad.exists()


# -- no network --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_network_is_off_during_tests() -> None:
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with pytest.raises(pytest_socket.SocketBlockedError):
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    left, right = socket.socketpair()  # AF_UNIX stays usable (event loops, Qt)
    left.close()
    right.close()


@pytest.mark.enable_socket
def test_a_test_can_opt_in_to_the_network() -> None:
    """With the mark, an internet socket opens and carries data (over the loopback only:
    nothing leaves the machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"


def test_the_command_line_runs_with_the_network_off(
    tmp_path: Path, photo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "library"
    for argv in (
        ("index", photo_dir),
        ("search", "red"),
        ("tag",),
        ("models", "list"),
        ("status",),
    ):
        code, _, err = attempt(capsys, "--library", library, *argv)
        assert code == 0, (argv, err)


# -- SQL is never built from strings -----------------------------------------------------------

SQL_CALLS = ("text", "execute", "exec_driver_sql", "executemany", "executescript")


def _built_from_strings(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    return isinstance(node, ast.Call) and _name(node).endswith(".format")


def test_no_sql_is_built_by_string_formatting() -> None:
    formatted = []
    checked = 0
    for path, tree in sources():
        for call in _calls(tree):
            if _name(call).split(".")[-1] not in SQL_CALLS or not call.args:
                continue
            checked += 1
            if _built_from_strings(call.args[0]):
                formatted.append(f"{path.relative_to(PACKAGE.parent)}:{call.lineno}")
    assert formatted == []
    assert checked > 20


# -- photo folders are never written -----------------------------------------------------------


def test_photo_folders_are_never_written_but_for_sidecars_on_request(
    tmp_path: Path, photo_dir: Path, capsys: pytest.CaptureFixture[str], tally: Counter[str]
) -> None:
    library = tmp_path / "library"
    captions = tmp_path / "captions.csv"
    captions.write_text(f"path,caption\n{photo_dir / 'red.jpg'},a red square\n")
    red, blue = photo_dir / "red.jpg", photo_dir / "trips" / "blue.jpg"
    (photo_dir / "green.jpg.txt").write_text("a caption some other program wrote")
    before = tree_snapshot(photo_dir)
    commands = [
        ("index", photo_dir),
        ("index",),
        ("search", "red"),
        ("similar", red),
        ("status",),
        ("tag",),
        ("tag", "--retag"),
        ("tags", "list"),
        ("tags", "add", "crimson", "--prompt", "a red thing"),
        ("tags", "accept", red, "crimson"),
        ("tags", "reject", blue, "crimson"),
        ("tags", "rename", "crimson", "scarlet"),
        ("tags", "show", red),
        ("albums", "create", "reds"),
        ("albums", "add", "reds", red),
        ("albums", "show", "reds"),
        ("captions", "set", blue, "a blue square"),
        ("captions", "import", captions),
        ("captions", "read"),
        ("captions", "list"),
        ("models", "list"),
    ]
    for argv in commands:
        code, _, err = attempt(capsys, "--library", library, *argv)
        assert code == 0, (argv, err)
    tally["commands run over a photo folder without writing to it"] += len(commands)
    assert tree_snapshot(photo_dir) == before

    # Asked for, sidecars appear next to the photos; nothing else changes.
    for argv in (("tags", "export-xmp"), ("captions", "set", red, "a red square", "--sidecar")):
        code, _, err = attempt(capsys, "--library", library, *argv)
        assert code == 0, (argv, err)
    after = tree_snapshot(photo_dir)
    added = sorted(set(after) - set(before))
    assert added and all(name.endswith(".jpg.xmp") for name in added)
    files = {k: v for k, v in before.items() if stat.S_ISREG(v[0])}
    assert {k: v for k, v in after.items() if k in files} == files
    for name in added:
        assert stat.S_IMODE(os.stat(photo_dir / name).st_mode) == 0o644


SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Some Other Tool 4.2">
  <!-- written by another program; every field here must survive -->
  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
    <rdf:Description rdf:about=""
        xmlns:xmp="http://ns.adobe.com/xap/1.0/"
        xmlns:dc="http://purl.org/dc/elements/1.1/"
        xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
        xmlns:digiKam="http://www.digikam.org/ns/1.0/"
        xmlns:my="http://example.com/my-own-namespace/1.0/"
        xmp:Rating="4" xmp:Label="Red" my:Flag="keep me">
      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:title>
      <dc:creator><rdf:Seq><rdf:li>A. Photographer</rdf:li></rdf:Seq></dc:creator>
      <dc:subject><rdf:Bag><rdf:li>beach</rdf:li><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>
      <lr:hierarchicalSubject>
        <rdf:Bag><rdf:li>Places|Beach</rdf:li></rdf:Bag>
      </lr:hierarchicalSubject>
      <digiKam:TagsList><rdf:Seq><rdf:li>Places/Beach</rdf:li></rdf:Seq></digiKam:TagsList>
      <my:Nested><rdf:Seq><rdf:li>one</rdf:li><rdf:li>two</rdf:li></rdf:Seq></my:Nested>
    </rdf:Description>
  </rdf:RDF>
</x:xmpmeta>
"""


def _facts(element: ET.Element, path: str = "") -> set[tuple[str, str, str]]:
    """Every element as (path, its attributes, its text): what must survive a rewrite."""
    here = f"{path}/{element.tag}"
    attributes = json.dumps(sorted(element.attrib.items()))
    facts = {(here, attributes, (element.text or "").strip())}
    for child in element:
        if isinstance(child.tag, str):
            facts |= _facts(child, here)
    return facts


def test_an_existing_sidecar_keeps_its_other_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tally: Counter[str]
) -> None:
    photos = tmp_path / "photos"
    photo = save_photo(photos / "harbour.jpg", "blue")
    sidecar = photos / "harbour.jpg.xmp"
    sidecar.write_text(SIDECAR, encoding="utf-8")
    sidecar.chmod(0o640)
    photo_bytes = photo.read_bytes()
    library = tmp_path / "library"
    for argv in (
        ("index", photos),
        ("tags", "add", "harbour"),
        ("tags", "accept", photo, "harbour"),
        ("tags", "export-xmp"),
        ("captions", "set", photo, "Boats at first light", "--sidecar"),
    ):
        code, _, err = attempt(capsys, "--library", library, *argv)
        assert code == 0, (argv, err)
    tally["existing sidecars rewritten"] += 2
    written = sidecar.read_text(encoding="utf-8")
    before, after = ET.fromstring(SIDECAR), ET.fromstring(written)
    lost = {
        fact
        for fact in _facts(before)
        if fact not in _facts(after) and not fact[0].endswith("}li")  # list items: below
    }
    assert lost == set()
    assert "every field here must survive" in written  # the comment too
    subjects = [li.text for li in after.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li")]
    for kept in ("beach", "holiday", "Places|Beach", "Places/Beach", "one", "two"):
        assert kept in subjects
    assert "harbour" in subjects and "Harbour at dawn" in subjects
    assert photo.read_bytes() == photo_bytes
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o640  # its permissions kept


# -- the library is private --------------------------------------------------------------------


def test_the_library_is_private_to_its_user(
    tmp_path: Path, photo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "new" / "library"
    assert attempt(capsys, "--library", library, "index", photo_dir)[0] == 0
    assert stat.S_IMODE(library.stat().st_mode) == 0o700
    with open_library(library) as lib:  # open: the write-ahead log files exist now
        lib.search.text("red")
        lib.store.settings.set("probe", 1)
        files = [p for p in library.rglob("*") if p.is_file()]
        assert {p.name for p in files} >= {"library.sqlite3", "library.sqlite3-wal"}
        exposed = {
            str(p.relative_to(library)): oct(stat.S_IMODE(p.stat().st_mode))
            for p in files
            if p.stat().st_mode & 0o077
        }
    assert exposed == {}
    database = library / "library.sqlite3"
    database.chmod(0o644)  # a library made before photosense made it private
    assert attempt(capsys, "--library", library, "status")[0] == 0
    assert stat.S_IMODE(database.stat().st_mode) == 0o600

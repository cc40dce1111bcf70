"""Without the cluster extra (Ray), ``index --cluster`` says how to get it and does nothing."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from photosense.cli.words import describe
from photosense.cluster import _unreachable
from photosense.errors import ClusterError, ClusterFilesError, ClusterModelError
from photosense.library import Library
from photosense.library import library as library_module
from photosense.models.fake import FakeEncoder
from tests.cli_run import run


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import ray`` fail, as where the extra is not installed."""
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)


@pytest.mark.usefixtures("no_ray")
def test_index_on_a_cluster_without_ray_says_how_to_get_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    photo_dir: Path,
) -> None:
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())
    code, out, err = run(
        capsys, "--library", tmp_path / "lib", "index", photo_dir, "--cluster", "local"
    )

    assert code != 0
    assert "pip install 'photosense[cluster]'" in err
    assert "ray[data]==" in err
    assert out == ""
    with Library.open(tmp_path / "lib") as library:
        assert library.folders.list() == []  # said before any work


def test_cluster_errors_say_what_to_do_and_that_the_work_is_kept() -> None:
    words = describe
    refused = words(ClusterError("10.0.0.5:6379", "timed out", connecting=True))
    assert "could not connect to the cluster at 10.0.0.5:6379: timed out" in refused
    assert "ray status" in refused
    unseen = words(ClusterFilesError("auto", "/photos/a.jpg"))
    assert "/photos/a.jpg" in unseen and "same path on every node" in unseen
    assert "run the same command again" in unseen
    model = words(ClusterModelError("auto", "local/mine", "not on this node"))
    assert "local/mine" in model and "only on this machine" in model
    died = words(ClusterError("auto", "the node died"))
    assert "the node died" in died and "What was indexed is kept" in died


@pytest.mark.enable_socket
def test_an_address_where_nothing_answers_is_found_out_at_once() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _unreachable(f"127.0.0.1:{port}") is None
        assert _unreachable(f"ray://127.0.0.1:{port}") is None
    refused = _unreachable(f"127.0.0.1:{port}")  # closed now
    assert refused is not None and f"nothing answers at 127.0.0.1:{port}" in refused
    assert _unreachable("auto") is None  # Ray finds out about these itself, at once

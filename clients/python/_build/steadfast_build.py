"""A PEP 517 build backend of the standard library only, for this pure-Python
package: the wheel is the files of src/steadfast plus the dist-info that
PEP 427 asks for (METADATA from pyproject.toml's [project], WHEEL, RECORD).
Timestamps are fixed, so the same tree gives the same wheel."""

from __future__ import annotations

import base64
import hashlib
import io
import pathlib
import tarfile
import tomllib
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _project() -> dict[str, str]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def _package_files() -> list[pathlib.Path]:
    src = ROOT / "src"
    return sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _metadata() -> bytes:
    p = _project()
    return (f"Metadata-Version: 2.1\nName: {p['name']}\nVersion: {p['version']}\n"
            f"Summary: {p['description']}\nRequires-Python: {p['requires-python']}\n").encode()


def _dist_info() -> str:
    p = _project()
    return f"{p['name']}-{p['version']}.dist-info"


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: object = None) -> str:
    target = pathlib.Path(metadata_directory) / _dist_info()
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_bytes(_metadata())
    return target.name


def build_wheel(wheel_directory: str, config_settings: object = None, metadata_directory: object = None) -> str:
    p = _project()
    name = f"{p['name']}-{p['version']}-py3-none-any.whl"
    dist = _dist_info()
    records: list[str] = []
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / name, "w", zipfile.ZIP_DEFLATED) as wheel:
        def add(arcname: str, data: bytes) -> None:
            wheel.writestr(zipfile.ZipInfo(arcname, _EPOCH), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{arcname},sha256={digest},{len(data)}")

        for path in _package_files():
            add(path.relative_to(ROOT / "src").as_posix(), path.read_bytes())
        add(f"{dist}/METADATA", _metadata())
        add(f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: steadfast_build\nRoot-Is-Purelib: true\n"
                             b"Tag: py3-none-any\n")
        records.append(f"{dist}/RECORD,,")
        wheel.writestr(zipfile.ZipInfo(f"{dist}/RECORD", _EPOCH), "\n".join(records) + "\n")
    return name


def build_sdist(sdist_directory: str, config_settings: object = None) -> str:
    p = _project()
    base = f"{p['name']}-{p['version']}"
    name = f"{base}.tar.gz"
    files = [ROOT / "pyproject.toml", *sorted((ROOT / "_build").glob("*.py")), *_package_files()]
    with tarfile.open(pathlib.Path(sdist_directory) / name, "w:gz") as sdist:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{base}/{path.relative_to(ROOT).as_posix()}")
            info.size = len(data)
            info.mode = 0o644
            sdist.addfile(info, io.BytesIO(data))
        pkg_info = tarfile.TarInfo(f"{base}/PKG-INFO")
        meta = _metadata()
        pkg_info.size = len(meta)
        sdist.addfile(pkg_info, io.BytesIO(meta))
    return name

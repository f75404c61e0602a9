"""Files are written atomically (temp file + rename) so an interrupted run never leaves half a file behind."""
from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import re
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from planner.core.errors import DataError, InputError, PlannerError, SetupError


def resource_root() -> Path:
    """Where the files the package reads at run time live (data/, profiles/reference/h100/, benchmarks/results/): the
    source tree in a checkout or an editable install, else `<prefix>/share/llm-planner`, where `pip install .` puts them
    (pyproject's data-files) — so an installed llm-planner run from any folder finds its catalogs."""
    tree = Path(__file__).resolve().parents[2]
    if (tree / "data" / "instances.csv").is_file():
        return tree
    return Path(sys.prefix) / "share" / "llm-planner"


def read_text(path: str | Path, what: str, hint: str = "pass an existing file", *, missing: type[PlannerError] = InputError) -> str:
    """The one way a user's file is read as text: UTF-8, or one `DataError` naming the file and the first bad byte's
    position (a Latin-1 export, a binary file given by mistake); a missing file, a folder or a looping link is one
    `missing` error (an InputError for a path given as an option, a DataError for a file a plan refers to)."""
    try:
        path = existing_file(path, what, hint)
    except InputError as exc:
        if missing is InputError:
            raise
        raise missing(str(exc)) from None
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # a UTF-8 byte-order mark (Excel exports) is not content
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{what}: {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}) — "
                        "re-save it as UTF-8 or pass the right file") from None


def parse_json(text: str, where: str) -> Any:
    """json.loads with every failure as one `DataError`: bad syntax (with the line), or nesting too deep to be data."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise DataError(f"{where}: JSON nested too deeply to be a profile or a prompt — the file is damaged") from None


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write to a temp file beside `path`, fsync, rename: a reader sees the old file or the new one, never half.

    Filesystem failures (read-only folder, a file where a folder should be, a directory as the target, a full disk)
    become one `SetupError`/`InputError` naming the path and the fix; the previous file stays intact.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a directory — give a file name, e.g. {path / ('out' + (path.suffix or '.json'))}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(f"{path.parent}: cannot create the folder ({exc.strerror}) — choose a writable location") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise SetupError(f"{path.parent}: cannot write here ({exc.strerror}) — choose a writable location") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the permissions open() would
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        full = " — the disk is full: free space or write elsewhere" if exc.errno == errno.ENOSPC else " — check the path and its permissions"
        raise SetupError(f"{path}: could not be written ({exc.strerror}){full}; any earlier version of it is untouched") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_csv(path: str | Path, rows: list[dict], columns: list[str]) -> Path:
    """Rows (dicts) as a CSV with exactly `columns`, in order, "\n" line ends — how the data/ scripts write catalogs."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def slug(text: str) -> str:
    """A file-name-safe stem: runs of anything but letters, digits, '.', '_' and '-' become one '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)


MAX_PART_CHARS = 64  # a 300-character model name must not make a file name over the filesystem's 255 bytes


def _short(part: str) -> str:
    """A slug of at most MAX_PART_CHARS characters; a longer one keeps its start and gains a hash of the whole, so two
    long names that share a start still get two names."""
    text = slug(part)
    if len(text) <= MAX_PART_CHARS:
        return text
    return f"{text[:MAX_PART_CHARS - 9]}-{hashlib.sha256(part.encode()).hexdigest()[:8]}"


def dated_name(*parts: str, when: datetime, suffix: str = ".json") -> str:
    """`part1__part2__20261126T170102123456Z-p4242.json`: microseconds and the process id keep two runs started in the
    same second from writing the same file."""
    return "__".join([*(_short(p) for p in parts), f"{when:%Y%m%dT%H%M%S%fZ}-p{os.getpid()}"]) + suffix


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):  # a symlink loop: not the same as anything readable
        return False


def refuse_clobbering(out: str | Path, inputs: dict[str, str | Path | None], option: str) -> Path:
    """An output path that is (or resolves to, through links or `..`) one of this command's inputs is refused before
    anything is written: `plan --profile p.json --html p.json` would replace the measurement with a report."""
    out = Path(out)
    for name, path in inputs.items():
        if path is not None and _same_file(out, Path(path)):
            raise InputError(f"{option}: {out} is this command's input ({name}) — writing there would destroy it; choose another file name")
    return out


def new_output(out: str | Path, option: str) -> Path:
    """A measurement is never silently overwritten: an existing file at `--out` is refused before minutes of work."""
    out = Path(out)
    if out.is_dir():
        raise InputError(f"{option}: {out} is a directory — give a file name, e.g. {out / 'profile.json'}")
    if out.exists() or out.is_symlink():
        raise InputError(f"{option}: {out} already exists — choose a new file name or move the old one away (measurements are never overwritten)")
    return out


def existing_file(path: str | Path, what: str, hint: str) -> Path:
    """`path` as a Path when it is a readable file; else one line saying what it is instead (missing, a folder)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what}: {path} is a directory, not a file — {hint}")
    if not path.is_file():
        try:
            path.stat()
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError(f"{what}: {path} is a symbolic link that loops back on itself — point it at a real file") from None
            if path.is_symlink():
                raise InputError(f"{what}: {path} is a symbolic link to a missing file ({os.readlink(path)}) — {hint}") from None
        raise InputError(f"{what}: file not found: {path} — {hint}")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what}: {path} is not readable (permission denied) — check its permissions")
    return path

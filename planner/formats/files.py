"""Files are written atomically (temp file + rename) so an interrupted run never leaves half a file behind."""
from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from planner.core.errors import InputError, SetupError


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


def dated_name(*parts: str, when: datetime, suffix: str = ".json") -> str:
    """`part1__part2__20261126T170102123456Z-p4242.json`: microseconds and the process id keep two runs started in the
    same second from writing the same file."""
    return "__".join([*(slug(p) for p in parts), f"{when:%Y%m%dT%H%M%S%fZ}-p{os.getpid()}"]) + suffix


def existing_file(path: str | Path, what: str, hint: str) -> Path:
    """`path` as a Path when it is a readable file; else one line saying what it is instead (missing, a folder)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what}: {path} is a directory, not a file — {hint}")
    if not path.is_file():
        raise InputError(f"{what}: file not found: {path} — {hint}")
    return path

"""llama.cpp's own programs (llama-server, llama-bench, llama-batched-bench), built once from the llama.cpp source the
installed llama-cpp-python vendors (its PyPI sdist), so they run the same kernels as the Python engine. Cached by
version under `tools_dir()` (not the per-session model cache); built without AMX, like the Makefile's llama-cpp-python build (these VMs
advertise AMX but fault on it)."""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from planner.core.errors import SetupError
from planner.measure.gguf.cache import tools_dir

AMX_OFF = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"


def llama_cpp_python_version() -> str:
    """The installed llama-cpp-python, read from its metadata (importing it would load llama.cpp)."""
    return importlib.metadata.version("llama_cpp_python")


def _last_line(proc: subprocess.CompletedProcess, default: str = "no output") -> str:
    """The line of a failed tool's output that says why (its last one on stderr, else on stdout)."""
    lines = (proc.stderr or "").strip().splitlines() or (proc.stdout or "").strip().splitlines()
    return lines[-1] if lines else default


def llama_cpp_source(version: str | None = None) -> Path:
    """The vendored llama.cpp of the llama-cpp-python sdist (models/ and docs/ left out), unpacked once."""
    version = version or llama_cpp_python_version()
    root = tools_dir() / f"llama.cpp-{version}"
    if (root / "CMakeLists.txt").is_file():
        return root
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                              f"llama-cpp-python=={version}", "-d", tmp], capture_output=True, text=True)
        if got.returncode != 0:
            raise SetupError(f"could not download the llama-cpp-python {version} sdist to build llama.cpp's tools: "
                             f"{_last_line(got)}")
        sdist = next(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        with tarfile.open(sdist) as tar:
            def wanted(name: str) -> bool:
                inner = name.split("/vendor/llama.cpp/", 1)
                return len(inner) == 2 and not inner[1].startswith(("models/", "docs/"))
            tar.extractall(tmp, members=[m for m in tar.getmembers() if wanted(m.name)], filter="data")
        src = next(Path(tmp).glob("llama_cpp_python-*/vendor/llama.cpp"))
        shutil.rmtree(root, ignore_errors=True)
        shutil.move(str(src), root)
    return root


def llama_cpp_tool(name: str, *, progress: bool = True) -> Path:
    """Path of a llama.cpp program (`llama-server`, `llama-bench`, `llama-batched-bench`), building it on first use
    (llama-server: about 3½ minutes on 2 cores)."""
    root = llama_cpp_source()
    build = root / "build"
    binary = build / "bin" / name
    if binary.is_file():
        return binary
    flags = os.environ.get("LLAMA_CPP_CFLAGS", AMX_OFF)
    if progress:
        print(f"building {name} from llama.cpp {llama_cpp_python_version()} (once; cached in {root}) …", file=sys.stderr, flush=True)
    configure = subprocess.run(["cmake", "-S", str(root), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_OPENSSL=OFF",
                                "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON",
                                "-DBUILD_SHARED_LIBS=ON", f"-DCMAKE_C_FLAGS={flags}", f"-DCMAKE_CXX_FLAGS={flags}"],
                               capture_output=True, text=True)
    if configure.returncode != 0:
        raise SetupError(f"cmake could not configure llama.cpp (is cmake installed?): {_last_line(configure)}")
    built = subprocess.run(["cmake", "--build", str(build), "-j", str(os.cpu_count() or 2), "--target", name],
                           capture_output=True, text=True)
    if built.returncode != 0 or not binary.is_file():
        raise SetupError(f"building {name} failed: {_last_line(built)}")
    return binary

"""Integration tests run real parts: the llama.cpp engine, servers on loopback, Chromium. All are marked `slow`."""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)

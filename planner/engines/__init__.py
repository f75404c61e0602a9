"""Inference engines. Each adapter keeps its engine's low-level API in one module."""

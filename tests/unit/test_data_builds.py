"""Data the project derives from committed source extracts is reproducible from them, byte for byte, and says where
every row comes from. (The planner reads the results; the scripts under scripts/ build them.)"""
from __future__ import annotations

import subprocess
import sys

import pandas as pd

from tests.conftest import REPO


def test_the_gpu_serving_corpus_rebuilds_from_its_extracts_and_labels_every_row():
    done = subprocess.run([sys.executable, "scripts/extract_gpu_serving_corpus.py", "--check"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    corpus = pd.read_csv(REPO / "benchmarks/data/gpu_serving_corpus.csv")
    assert len(corpus) >= 300 and corpus["id"].is_unique
    assert corpus[["source", "source_licence", "engine", "date"]].notna().all().all()
    assert set(corpus["engine"]) <= {"vLLM", "SGLang", "TensorRT-LLM", "other"}  # never an unlabelled engine
    assert corpus["accelerator"].nunique() >= 4 and corpus["card"].nunique() >= 5
    has_speed = corpus[["output_tok_s_per_gpu", "output_tok_s_total", "total_tok_s_per_gpu"]].notna().any(axis=1)
    assert has_speed.all()

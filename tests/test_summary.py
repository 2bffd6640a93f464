"""Model summary: the table's rows, shapes, counts, totals and memory; the model left as it was."""

import re

import numpy as np
import pytest

import pydtrain as pdt
from pydtrain import _random, diagnostics, nn


def test_summary_table(capsys):
    pdt.seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm(128), nn.ReLU(),
                          nn.Sequential(nn.Dropout(rate=0.2), nn.Linear(128, 10, dtype=np.float32)))
    state, rng = model.state_dict(), _random.get_state()
    text = model.summary((64,))
    assert capsys.readouterr().out.strip() == text.strip()
    rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]
    body = [r for r in rows if len(r) == 3][1:]
    assert body == [["0 (Linear)", "(None, 128)", f"{64 * 128 + 128:,}"], ["1 (BatchNorm)", "(None, 128)", "256"],
                    ["2 (ReLU)", "(None, 128)", "0"], ["3.0 (Dropout)", "(None, 128)", "0"],
                    ["3.1 (Linear)", "(None, 10)", f"{128 * 10 + 10:,}"]]
    total = 64 * 128 + 128 + 256 + 1290
    assert f"Total params: {total:,} ({total * 4 / 1024:.1f} KiB, float32)" in text
    assert "Non-trainable (buffers): 256 (1.0 KiB)" in text
    assert f"Activations per example: {4 * 128 + 10:,}" in text
    assert model.training and _random.get_state() == rng
    assert all(np.array_equal(a, b) for a, b in zip(state.values(), model.state_dict().values()))
    assert pdt.summary is diagnostics.summary


def test_summary_of_images_and_other_models():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3, dtype=np.float64))
    text = diagnostics.summary(model, (1, 8, 8), print_fn=lambda s: None)
    assert "0 (Flatten)" in text and "(None, 64)" in text and "float64" in text
    text = diagnostics.summary(nn.Linear(4, 2), (4,), print_fn=lambda s: None)
    assert "Linear (Linear)" in text and "(None, 2)" in text


def test_summary_errors():
    with pytest.raises(TypeError, match="^summary: model must be"):
        diagnostics.summary("model", (3,))
    with pytest.raises(ValueError, match="^summary: input_shape must be one example's shape"):
        diagnostics.summary(nn.Linear(4, 2), (0,))
    with pytest.raises(TypeError, match="^summary: input_shape must be a tuple"):
        diagnostics.summary(nn.Linear(4, 2), 4)

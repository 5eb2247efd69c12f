"""Signatures and response features refuse results above their documented size before any
work, naming the estimate and the option that raises the limit."""

from __future__ import annotations

import time

import numpy as np
import pytest

from symresp import response_feature, signature
from symresp.cli import main
from symresp.errors import ArgumentError

pytestmark = pytest.mark.usefixtures("warm_signature")


def test_huge_signature_level_is_refused_up_front():
    X = np.zeros((2, 6, 10))
    t0 = time.perf_counter()
    with pytest.raises(ArgumentError, match=r"signature \(level 30 of 6 channel.*max_values="):
        signature(X, 30)
    assert time.perf_counter() - t0 < 1.0
    # the limit is an option: a small request that fits passes
    assert signature(X, 2, max_values=100).shape == (2, 42)
    with pytest.raises(ArgumentError, match="max_values="):
        signature(X, 2, max_values=10)


def test_huge_response_feature_is_refused_up_front():
    t = np.linspace(0.0, 1.0, 11)
    u = np.zeros((3, 11))
    with pytest.raises(ArgumentError, match=r"response_feature.*max_features="):
        response_feature(u, t, level=12, degree=4)
    R = response_feature(u, t, level=2, degree=1, max_features=10**4)
    assert R.features.shape == (R.n_features,)


def test_cli_features_grid_limit(capsys):
    rc = main(
        [
            "features",
            "--input",
            "sin(t)",
            "--T",
            "1",
            "--dt",
            "1e-12",
            "--level",
            "2",
            "--degree",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "grid points" in err and "Traceback" not in err

"""Log-signatures (symresp.features.logsignatures): Lyndon words, Witt's count, the tensor logarithm and
the Lyndon-basis coordinates.

Oracles: brute-force Lyndon words; the Baker–Campbell–Hausdorff formula for a path of
two segments (log(e^a e^b) up to level 3, written with explicit outer products);
exp ∘ log = identity on signatures; iisignature (an independent C++ implementation) in
both bases.  Coordinates here are O(1) and computed in a few dozen float operations
each, so 1e-12 absolute is a rounding-level tolerance; a wrong sign, bracket or factor
errs by O(0.01) or more.  symresp takes series (n_cases, n_channels, n_timepoints); the
points below are (…, length, d) as iisignature takes them, so every symresp call transposes
with ``series()``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from symresp.features.logsignatures import (
    logsig_dim,
    logsignature,
    lyndon_brackets,
    lyndon_words,
    tensor_exp,
    tensor_log,
)
from symresp.features.signatures import signature, word_index

pytestmark = pytest.mark.usefixtures("warm_signature")


def series(points):
    """iisignature's points (…, length, d) → symresp's series (…, n_channels, n_timepoints)."""
    return np.swapaxes(np.asarray(points), -1, -2)


def _is_lyndon(w):
    return all(w < w[i:] + w[:i] for i in range(1, len(w)))


@pytest.mark.parametrize("d,level", [(1, 4), (2, 6), (3, 4), (5, 3)])
def test_lyndon_words_and_witt_count(d, level):
    brute = [
        w
        for n in range(1, level + 1)
        for w in itertools.product(range(d), repeat=n)
        if _is_lyndon(w)
    ]
    assert lyndon_words(d, level) == brute  # by length, lexicographic: product's order
    assert logsig_dim(d, level) == len(brute)
    assert lyndon_brackets(2, 3) == ["1", "2", "[1,2]", "[1,[1,2]]", "[[1,2],2]"]


def _bracket(x, y):
    return np.outer(x, y).reshape(-1) - np.outer(y, x).reshape(-1)


def test_two_segments_follow_baker_campbell_hausdorff():
    # log(e^a e^b) = a + b + ½[a,b] + (1/12)([a,[a,b]] + [b,[b,a]]) + O(level 4)
    a, b = np.array([0.7, -0.3, 0.2]), np.array([-0.4, 0.5, 0.9])
    path = np.array([np.zeros(3), a, a + b])
    log = logsignature(series(path), 3, basis="expanded")
    ab = _bracket(a, b)
    want = np.concatenate([a + b, 0.5 * ab, (_bracket(a, ab) + _bracket(b, _bracket(b, a))) / 12.0])
    np.testing.assert_allclose(log, want, rtol=0, atol=1e-14)
    # Lyndon coordinates: level 2 is ½(a_i b_j − a_j b_i) on [i,j], i < j
    lyn = logsignature(series(path), 2)
    for (i, j), c in zip([(0, 1), (0, 2), (1, 2)], lyn[3:]):
        assert c == pytest.approx(0.5 * (a[i] * b[j] - a[j] * b[i]), abs=1e-15)


def test_straight_line_and_exp_log_round_trip():
    rng = np.random.default_rng(1)
    line = np.outer(np.linspace(0, 1, 7), [0.3, -1.2])
    lyn = logsignature(series(line), 4)
    np.testing.assert_allclose(lyn[:2], [0.3, -1.2], atol=1e-15)
    np.testing.assert_allclose(lyn[2:], 0.0, atol=1e-14)
    paths = rng.normal(scale=0.4, size=(5, 9, 3)).cumsum(axis=1)
    S = signature(series(paths), 4)
    np.testing.assert_allclose(tensor_exp(tensor_log(S, 3, 4), 3, 4), S, rtol=0, atol=1e-12)
    # the expanded log is a Lie element: its symmetric part vanishes, e.g. level 2 is
    # antisymmetric
    log = logsignature(series(paths), 2, basis="expanded")
    for i, j in itertools.product(range(3), repeat=2):
        np.testing.assert_allclose(
            log[:, word_index((i, j), 3)], -log[:, word_index((j, i), 3)], atol=1e-14
        )


@pytest.mark.parametrize("d,level", [(2, 5), (3, 4), (4, 3)])
def test_matches_iisignature(d, level):
    iisignature = pytest.importorskip("iisignature")
    paths = np.random.default_rng(d * 10 + level).normal(scale=0.5, size=(3, 8, d)).cumsum(1)
    s = iisignature.prepare(d, level)
    sx = iisignature.prepare(d, level, "x")
    assert list(iisignature.basis(s)) == lyndon_brackets(d, level)
    np.testing.assert_allclose(
        logsignature(series(paths), level), iisignature.logsig(paths, s), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        logsignature(series(paths), level, basis="expanded"),
        iisignature.logsig(paths, sx, "x"),
        rtol=0,
        atol=1e-12,
    )
    assert logsignature(series(paths[0]), level).shape == (logsig_dim(d, level),)


def test_bad_arguments():
    with pytest.raises(ValueError, match="basis: expected 'lyndon' or 'expanded'"):
        logsignature(np.zeros((3, 2)), 2, basis="hall")
    with pytest.raises((ValueError, TypeError), match="level"):
        logsignature(np.zeros((3, 2)), 0)

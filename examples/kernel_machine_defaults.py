#!/usr/bin/env python
"""Cross-validate the whole CV estimator inside a training split: how its defaults are chosen.

For each setting (keyword arguments of :class:`symresp.ResponseFeatureClassifierCV`, or with
``--regression`` of :class:`symresp.ResponseFeatureRegressorCV`), a (stratified) 5-fold split
of the *training* split, repeated with fold seeds 0 and 1 (10 folds), fits the CV estimator on
four folds and scores it on the fifth; the mean accuracy (RMSE) and its standard error over
the 10 folds are printed.  The test split is never loaded.  Series are
z-scored per channel with training statistics, as in ``kernel_machine_results.py``.

Usage::

    python examples/kernel_machine_defaults.py ACSF1 '{"default": {}, "no pooling": {"poolings": [null]}}'
    python examples/kernel_machine_defaults.py Covid3Month --regression

Lists in the JSON become tuples (``[null]`` is ``(None,)``).  Needs aeon, as the results script.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pathlib
import time

import numpy as np

from symresp import ResponseFeatureClassifierCV, ResponseFeatureRegressorCV

_results = pathlib.Path(__file__).with_name("kernel_machine_results.py")
_spec = importlib.util.spec_from_file_location("kernel_machine_results", _results)
results = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(results)


def _tuples(value):
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _subset(X, idx):
    return [X[i] for i in idx] if isinstance(X, list) else X[idx]


def cross_validate(name: str, settings: dict, task: str = "classification") -> dict:
    """{label: (mean accuracy or RMSE, standard error, seconds)} over the 10 training-split
    folds."""
    Xtr, ytr, _, _ = results.load(name, task)
    est_class = (
        ResponseFeatureClassifierCV if task == "classification" else ResponseFeatureRegressorCV
    )
    out = {}
    for label, kw in settings.items():
        kw = {k: _tuples(v) for k, v in kw.items()}
        scores = []
        t0 = time.perf_counter()
        for seed in (0, 1):
            for fit, held in results.folds(task, seed).split(np.zeros(len(ytr)), ytr):
                est = est_class(**kw).fit(_subset(Xtr, fit), ytr[fit])
                pred = est.predict(_subset(Xtr, held))
                scores.append(results.score(task, ytr[held], pred))
        se = np.std(scores) / np.sqrt(len(scores))
        out[label] = (float(np.mean(scores)), float(se), time.perf_counter() - t0)
        print(f"{name} {label}: {out[label][0]:.3f} ± {se:.3f} ({out[label][2]:.0f} s)", flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="an aeon classification set, e.g. GunPoint")
    parser.add_argument(
        "--regression", action="store_true", help="a regression set (e.g. Covid3Month): RMSE"
    )
    parser.add_argument(
        "settings",
        nargs="?",
        default='{"default": {}}',
        help="JSON object: label -> keyword arguments of ResponseFeatureClassifierCV",
    )
    args = parser.parse_intermixed_args(argv)
    try:
        settings = json.loads(args.settings)
    except json.JSONDecodeError as exc:
        parser.error(f"settings: expected a JSON object, got {args.settings!r} ({exc})")
    if not isinstance(settings, dict) or not all(isinstance(v, dict) for v in settings.values()):
        parser.error("settings: expected a JSON object of objects, e.g. '{\"default\": {}}'")
    cross_validate(args.dataset, settings, "regression" if args.regression else "classification")


if __name__ == "__main__":
    main()

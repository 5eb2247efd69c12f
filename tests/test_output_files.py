"""Output files are written atomically, never through a planted link, with clear errors.

The exported module used to be written through fixed temporary names (``<name>.py.tmp``);
a symbolic link planted there redirected the write to any file the user can write.  Every
output now goes through a fresh ``mkstemp`` name in the target's directory and one rename.
"""

from __future__ import annotations

import os

import pytest

from symresp import load_spec
from symresp.cli import main
from symresp.errors import OutputError, SymrespError
from symresp.files import output_path, write_atomic
from symresp.report.export import export_module


def test_write_replaces_atomically_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "out.tex"
    write_atomic(target, "first")
    write_atomic(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tex"]


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.tex"
    link.symlink_to(victim)
    write_atomic(link, "new")
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "new"


@pytest.mark.parametrize("case", ["directory", "missing directory", "unwritable directory"])
def test_unusable_targets_get_clear_errors(tmp_path, monkeypatch, case):
    if case == "directory":
        target, match = tmp_path, "is a directory"
    elif case == "missing directory":
        target, match = tmp_path / "nope" / "x.tex", "does not exist"
    else:
        # as root every directory is writable, so the permission answer is simulated
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, m: False if str(p) == str(tmp_path) else real(p, m)
        )
        target, match = tmp_path / "x.tex", "not writable"
    with pytest.raises(OutputError, match=match):
        write_atomic(target, "x", what="--latex")
    assert issubclass(OutputError, SymrespError) and issubclass(OutputError, OSError)
    with pytest.raises(OutputError, match="--latex"):
        output_path(target, "--latex")


def test_export_ignores_links_planted_at_the_old_fixed_temporary_names(tmp_path):
    net = load_spec("derivations/linear_2d_quadratic.toml")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "mod"
    out.mkdir()
    name = "lin_kernels"
    for planted in (f"{name}.py.tmp", f".{name}_observables.tmp.npz"):
        (out / planted).symlink_to(victim)
    path = export_module(net, 1, 2, out, name=name)
    assert victim.read_text() == "precious"
    assert path.read_text().startswith('"""') or "def " in path.read_text()


def test_cli_codegen_onto_a_file_exits_2(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    rc = main(
        [
            "codegen",
            "derivations/linear_2d_quadratic.toml",
            "--order",
            "1",
            "--taylor",
            "2",
            "-o",
            str(f),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "not a directory" in err and "Traceback" not in err


def test_latex_and_pdf_go_through_the_atomic_writer(tmp_path):
    from symresp import derive
    from symresp.report.latex import write_latex

    der = derive(load_spec("derivations/linear_2d_quadratic.toml"), 1, 2)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "new" / "doc.tex"  # a missing directory is created, as mkdir -p
    target.parent.mkdir()
    target.symlink_to(victim)
    write_latex(der, target)
    assert victim.read_text() == "precious" and "\\documentclass" in target.read_text()
    with pytest.raises(OutputError, match="is a directory"):
        write_latex(der, tmp_path)
    assert write_latex(der, tmp_path / "a" / "b" / "doc.tex").exists()

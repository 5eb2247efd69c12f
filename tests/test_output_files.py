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
    with pytest.raises(OutputError, match="already exists"):
        write_latex(der, target)  # a link at the target is something the user has
    assert victim.read_text() == "precious" and target.is_symlink()
    write_latex(der, target, overwrite=True)
    assert victim.read_text() == "precious" and "\\documentclass" in target.read_text()
    with pytest.raises(OutputError, match="is a directory"):
        write_latex(der, tmp_path)
    assert write_latex(der, tmp_path / "a" / "b" / "doc.tex").exists()


def test_an_existing_file_is_kept_unless_overwrite_is_asked_for(tmp_path):
    """Without ``overwrite`` nothing a user already has is replaced: a file or a link at the
    target is refused with the fix in the message, its content stays, no temporary is left."""
    target = tmp_path / "out.tex"
    target.write_text("precious")
    with pytest.raises(OutputError, match=r"already exists; to replace it pass overwrite=True"):
        write_atomic(target, "new", overwrite=False)
    assert target.read_text() == "precious"
    link = tmp_path / "link.tex"
    link.symlink_to(tmp_path / "dangling")
    with pytest.raises(OutputError, match="already exists"):
        output_path(link, "--latex", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.tex", "out.tex"]
    write_atomic(target, "new", overwrite=True)
    assert target.read_text() == "new"
    assert write_atomic(tmp_path / "fresh.tex", "x", overwrite=False).read_text() == "x"


def test_a_file_created_while_writing_is_not_replaced(tmp_path, monkeypatch):
    """The check before writing can be overtaken: another process creates the target while
    the content is being written.  The final step links the new file in only if the name is
    still free, so the other file survives and the write is reported, not silently lost."""
    target = tmp_path / "out.tex"
    real_fsync = os.fsync

    def racing_fsync(fd):
        target.write_text("theirs")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", racing_fsync)
    with pytest.raises(OutputError, match="already exists"):
        write_atomic(target, "ours", overwrite=False)
    assert target.read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tex"]


def test_export_refuses_an_existing_module_before_any_work(tmp_path, monkeypatch, capsys):
    import symresp.report.export as export

    net = load_spec("derivations/linear_2d_quadratic.toml")
    first = export_module(net, 1, 2, tmp_path, name="lin_kernels")
    before = first.read_text()

    def no_work(*a, **k):
        raise AssertionError("the kernels were built although the target is refused")

    with monkeypatch.context() as m:
        m.setattr(export, "_export", no_work)
        with pytest.raises(OutputError, match="already exists"):
            export_module(net, 1, 2, tmp_path, name="lin_kernels")
    assert first.read_text() == before
    assert export_module(net, 1, 2, tmp_path, name="lin_kernels", overwrite=True) == first
    argv = ["codegen", "derivations/linear_2d_quadratic.toml", "--order", "1", "--taylor", "2"]
    argv += ["-o", str(tmp_path), "--name", "lin_kernels"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and "Traceback" not in err
    assert main(argv + ["--overwrite"]) == 0


def test_cli_check_refuses_an_existing_plot_before_the_run(tmp_path, monkeypatch, capsys):
    import symresp.cli as cli

    plot = tmp_path / "check.png"
    plot.write_bytes(b"precious")
    monkeypatch.setattr(cli, "_check_with", lambda *a: pytest.fail("the check ran"))
    argv = ["check", "derivations/linear_2d_quadratic.toml", "--input", "sin(t)", "--eps"]
    argv += ["0.2", "--T", "0.2", "--order", "1", "--plot", str(plot)]
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err and plot.read_bytes() == b"precious"


def test_cli_derive_refuses_an_existing_latex_target_before_deriving(tmp_path, monkeypatch, capsys):
    import symresp.cli as cli

    tex = tmp_path / "doc.tex"
    argv = ["derive", "derivations/linear_2d_quadratic.toml", "--order", "1", "--taylor", "2"]
    argv += ["--latex", str(tex)]
    assert main(argv) == 0 and tex.exists()
    first = tex.read_text()
    with monkeypatch.context() as m:
        m.setattr(cli, "derive", lambda *a, **k: pytest.fail("derived before refusing"))
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and tex.read_text() == first
    (tmp_path / "doc-supplement.tex").write_text("stale")  # a supplement of that name counts
    tex.unlink()
    assert main(argv) == 2 and "doc-supplement.tex" in capsys.readouterr().err
    assert main(argv + ["--overwrite"]) == 0 and tex.read_text() == first

"""Writing output files: atomically, never through a planted link, with clear errors.

Every file symresp writes for a user (LaTeX documents, plots, exported modules and their
tables) goes through :func:`write_atomic`: the content is written to a fresh file in the
target's directory (``tempfile.mkstemp``: an unpredictable name opened with ``O_EXCL``, so a
symbolic link planted under any name is never followed) and then renamed onto the target
with ``os.replace``, which replaces a link or an older file as a whole.  Readers see the old
complete file or the new complete file, never a part.  An existing file is replaced only when
the caller says ``overwrite=True``; otherwise the new file is linked into place with
``os.link``, which fails if any entry of that name appeared meanwhile, so nothing a user
already has is lost.  A directory, a device or any other non-regular target is refused, as is
a target whose directory does not exist or cannot be written.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path

import numpy as np

from symresp.errors import ArgumentError, OutputError

__all__ = ["write_atomic", "output_path", "npz_bytes", "figure_bytes"]


def output_path(
    path, what: str = "output", *, make_parents: bool = False, overwrite: bool = True
) -> Path:
    """``path`` as a Path after the checks :func:`write_atomic` makes, raising
    :class:`~symresp.errors.OutputError` (naming ``what``) before any work is done;
    ``make_parents`` creates a missing directory first; without ``overwrite`` an existing
    file (or link) at ``path`` is refused."""
    p = Path(path).expanduser()
    if make_parents and not p.parent.exists():
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{what}: cannot create the directory {str(p.parent)!r} ({exc.strerror})."
            ) from None
    if p.name in ("", ".", ".."):
        raise OutputError(f"{what}: {str(path)!r} is not a file name.")
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{what}: cannot use {str(p)!r} ({exc.strerror}).") from None
    if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise OutputError(f"{what}: {str(p)!r} is {kind}; give a file name.")
    if st is not None and not overwrite:
        raise OutputError(_exists_message(what, p))
    parent = p.parent
    if not parent.is_dir():
        raise OutputError(f"{what}: the directory {str(parent)!r} does not exist; create it first.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{what}: the directory {str(parent)!r} is not writable.")
    return p


def write_atomic(
    path,
    data,
    *,
    what: str = "output",
    make_parents: bool = False,
    private: bool = False,
    overwrite: bool = True,
) -> Path:
    """Write ``data`` (``str`` as UTF-8, or ``bytes``) to ``path`` atomically; returns the path.
    ``make_parents`` creates a missing directory (as ``mkdir -p``) first; ``private`` keeps
    the file readable by its owner only (mode 0600), as the code cache wants; with
    ``overwrite=False`` an existing file is refused (also one created while writing)."""
    p = output_path(path, what, make_parents=make_parents, overwrite=overwrite)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{what}: cannot write in {str(p.parent)!r} ({exc.strerror}).") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        if not private:  # mkstemp makes 0600; outputs get the usual mode
            os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, p)
        else:
            _link_new(tmp, p, what)
    except OutputError:
        _unlink(tmp)
        raise
    except OSError as exc:
        _unlink(tmp)
        raise OutputError(f"{what}: writing {str(p)!r} failed ({exc.strerror}).") from None
    except BaseException:
        _unlink(tmp)
        raise
    return p


def _exists_message(what: str, p: Path) -> str:
    return (
        f"{what}: {str(p)!r} already exists; to replace it pass overwrite=True "
        "(on the command line: --overwrite), or choose another name."
    )


def _link_new(tmp, p: Path, what: str) -> None:
    """Put ``tmp`` at ``p`` only if nothing is there: ``os.link`` refuses an existing name
    atomically (where the file system has no hard links, check and rename instead)."""
    try:
        os.link(tmp, p)
    except FileExistsError:
        raise OutputError(_exists_message(what, p)) from None
    except OSError:
        if os.path.lexists(p):
            raise OutputError(_exists_message(what, p)) from None
        os.replace(tmp, p)
        return
    _unlink(tmp)


def npz_bytes(**arrays) -> bytes:
    """The bytes of an ``.npz`` archive of ``arrays`` (no pickles), for :func:`write_atomic`."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def figure_bytes(fig, path, *, dpi: int = 120) -> bytes:
    """The bytes of a matplotlib figure in the format named by ``path``'s suffix (PNG without
    one), for :func:`write_atomic`: savefig on the path itself would write in place."""
    buf = io.BytesIO()
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    try:
        fig.savefig(buf, dpi=dpi, format=fmt)
    except ValueError as exc:  # an unknown format
        raise ArgumentError(f"plot: {exc}") from None
    return buf.getvalue()


def _umask() -> int:
    """The process umask, read without changing it (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _unlink(tmp) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass

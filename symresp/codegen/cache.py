"""The on-disk cache of generated modules: keys, atomic writes, authenticated imports.

A module is stored under a name derived from a hash of the request (expressions,
arguments, options, the symresp and numba versions) and imported under a fixed module
name, so numba's ``cache=True`` finds its machine code again in a later process.

Nothing is imported that this user's symresp did not write for this request:

* the cache directory (and numba's ``__pycache__`` inside it, where numba keeps the
  machine code and its pickled index) is created with mode 0700 and, before every use,
  must be a real directory (not a symlink) owned by the current user and writable by
  nobody else;
* every module carries ``HMAC-SHA256(secret, request key ‖ module text)``; the 32-byte
  secret lives in the directory (mode 0600) and is read by no one else, so a planted or
  edited file — even one with a matching plain hash — fails the check and is rebuilt,
  never run;
* when the directory is unusable there is no fallback to a shared temporary folder: the
  module is compiled in memory (numba's on-disk cache off) after one warning;
* numba's cache files of a module are checked before its import; a corrupt one (which
  would make numba fail on every later run) is removed once and rewritten by numba.

Cache location: the ``cache_dir`` argument if given (used as is), else
``$SYMRESP_CACHE_DIR/codegen``, else ``$XDG_CACHE_HOME/symresp/codegen``, else
``~/.cache/symresp/codegen``.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import os
import pickle
import secrets
import stat
import sys
import threading
import types
import warnings
from pathlib import Path

import sympy as sp

from symresp.codegen.lowering import CHUNK, MAX_DEPTH, _cse_mode, _deep_recursion
from symresp.codegen.writer import _END_LINE, FORMAT_VERSION, _body, _numba_version, _version
from symresp.errors import CodegenError, OutputError
from symresp.files import write_atomic

__all__ = ["default_cache_dir", "cache_stats", "clear_memo"]

_KEY_PREFIX = "# symresp-codegen-key: "
_MAC_PREFIX = "# symresp-codegen-mac: "
_SECRET_NAME = ".symresp-codegen-secret"
_NUMBA_DIR = "__pycache__"


def _request_key(exprs, args, name, parallel, use_cse) -> str:
    with _deep_recursion():
        options = (bool(parallel), _cse_mode(use_cse), CHUNK, MAX_DEPTH)
        parts = [
            FORMAT_VERSION,
            "points",
            name,
            repr(options),
            sp.srepr(list(args), order="none"),
            sp.srepr(list(exprs), order="none"),
            _version(),
            _numba_version(),
        ]
    return hashlib.sha256("\n\x00".join(parts).encode("utf-8")).hexdigest()


def _mac(secret: bytes, key: str, body: str) -> str:
    return hmac.new(secret, (key + "\n" + body).encode("utf-8"), hashlib.sha256).hexdigest()


def _assemble(key: str, body: str, secret: bytes) -> str:
    """The cache file: the request key, the MAC tying this body to it, the body."""
    return f"{_KEY_PREFIX}{key}\n{_MAC_PREFIX}{_mac(secret, key, body)}\n{body}"


def _check_text(text: str, key: str, secret: bytes) -> bool:
    """True when ``text`` is a complete module written by this user's symresp for ``key``."""
    first, _, rest = text.partition("\n")
    second, _, body = rest.partition("\n")
    if first != _KEY_PREFIX + key or not second.startswith(_MAC_PREFIX):
        return False
    if not body.endswith(_END_LINE):
        return False
    return hmac.compare_digest(_mac(secret, key, body), second[len(_MAC_PREFIX) :])


# --------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    """``$SYMRESP_CACHE_DIR/codegen``, else ``$XDG_CACHE_HOME/symresp/codegen``, else
    ``~/.cache/symresp/codegen`` (created with mode 0700 on first use)."""
    root = os.environ.get("SYMRESP_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "codegen"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "symresp" / "codegen"


_LOCK = threading.RLock()
_MEMO: dict = {}
_STATS = {"generated": 0, "loaded": 0, "rebuilt": 0, "memo_hits": 0, "in_memory": 0}
_WARNED: set = set()


def cache_stats() -> dict:
    """Counters of this process: modules ``generated`` (CSE + printing ran), ``loaded``
    from an existing cache file, ``rebuilt`` (a stale, corrupt or unauthenticated file was
    replaced), in-process ``memo_hits``, and modules compiled ``in_memory`` because the
    cache directory was unusable."""
    return dict(_STATS)


def clear_memo() -> None:
    """Forget the compiled functions of this process (the next request reads the cache
    directory again).  Mainly for tests and after deleting a cache directory."""
    with _LOCK:
        _MEMO.clear()


def _uid():
    return os.getuid() if hasattr(os, "getuid") else None


def _check_private_dir(d: Path) -> None:
    """Raise OSError unless ``d`` is a real directory owned by this user that nobody else
    can write (group/other write bits clear)."""
    st = os.lstat(d)
    if stat.S_ISLNK(st.st_mode):
        raise PermissionError(f"{d} is a symbolic link")
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{d} is not a directory")
    uid = _uid()
    if uid is not None and st.st_uid != uid:
        raise PermissionError(f"{d} is owned by uid {st.st_uid}, not by this user ({uid})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(f"{d} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})")
    if not os.access(d, os.W_OK | os.X_OK):
        raise PermissionError(f"{d} is not writable")


def _private_dir(d: Path) -> Path:
    """Create ``d`` (mode 0700; parents with the default mode) if missing, then check it."""
    if not os.path.lexists(d):
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:  # another process was first; checked below like any other
            pass
    _check_private_dir(d)
    return d


def _secret(d: Path) -> bytes:
    """The directory's MAC secret, created on first use (mode 0600, never through a link)."""
    path = d / _SECRET_NAME
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        value = secrets.token_bytes(32)
        try:
            # a private temporary file linked in under the name: the 32 bytes appear at
            # once, so a process reading concurrently never sees a partly written secret
            write_atomic(path, value, what="cache secret", private=True, overwrite=False)
            return value
        except OutputError:  # created concurrently (or unwritable: the open below says)
            fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        uid = _uid()
        if (
            not stat.S_ISREG(st.st_mode)
            or (uid is not None and st.st_uid != uid)
            or st.st_mode & 0o077
        ):
            raise PermissionError(f"{path} is not a private file of this user")
        value = fh.read()
    if len(value) != 32:
        raise PermissionError(f"{path} is not a symresp cache secret")
    return value


def _resolve_dir(cache_dir):
    """(directory, secret) of a usable cache, or (None, None): compile in memory."""
    d = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    try:
        _private_dir(d)
        _private_dir(d / _NUMBA_DIR)
        return d, _secret(d)
    except OSError as exc:
        if cache_dir is not None:
            raise CodegenError(
                f"cache directory {d} is not usable: {exc}; pass a directory "
                "of your own (it is created with mode 0700)"
            ) from None
        if str(d) not in _WARNED:
            _WARNED.add(str(d))
            warnings.warn(
                f"symresp.codegen: cache directory {d} is not usable ({exc}); "
                "compiling in memory (nothing is cached on disk). Set "
                "SYMRESP_CACHE_DIR to a directory of your own to cache.",
                RuntimeWarning,
                stacklevel=4,
            )
        return None, None


def _read_private(path: Path) -> str | None:
    """The text of a regular file of the cache (None when missing, "" when unreadable or not
    a regular file of this user), never following a symbolic link."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        uid = _uid()
        if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
            return ""
        try:
            return fh.read().decode("utf-8")
        except UnicodeDecodeError:
            return ""


def _numba_files(path: Path) -> list[Path]:
    """numba's cache files (index ``.nbi`` and data ``.nbc``) of the module at ``path``."""
    d = path.parent / _NUMBA_DIR
    try:
        names = os.listdir(d)
    except OSError:
        return []
    prefix = path.stem + "."
    return [d / n for n in names if n.startswith(prefix) and n.endswith((".nbi", ".nbc"))]


def _numba_cache_is_sound(files: list[Path]) -> bool:
    """True when every numba cache file unpickles as numba will read it.  numba reads them
    with pickle and a corrupt index makes every later call fail, so they are read here
    first (they live in the private directory, so this trusts nothing numba would not)."""
    for f in files:
        try:
            with open(f, "rb") as fh:
                if f.suffix == ".nbi":
                    pickle.load(fh)
                    pickle.loads(fh.read())
                else:
                    pickle.loads(fh.read())
        except FileNotFoundError:
            continue
        except Exception:
            return False
    return True


def _remove(files: list[Path]) -> None:
    for f in files:
        try:
            os.unlink(f)
        except OSError:
            pass


def _modname(path_or_key) -> str:
    stem = path_or_key.stem if isinstance(path_or_key, Path) else path_or_key
    return f"_symresp_codegen_{stem}"


def _import(text: str, modname: str, path: Path | None) -> types.ModuleType:
    """Execute the authenticated ``text`` as a module; with a ``path`` its ``__file__`` is
    that file, so numba's ``cache=True`` finds the source and stores machine code beside it."""
    # One fixed name per cache entry, registered in sys.modules: numba's cache stores the
    # module name of each function and imports it again when a later process loads the
    # machine code, so the name must not depend on the process.
    if path is not None:
        spec = importlib.util.spec_from_file_location(modname, path)
        module = importlib.util.module_from_spec(spec)
        filename = str(path)
    else:
        module = types.ModuleType(modname)
        filename = f"<symresp generated {modname}>"
    # compile the text already checked, not the file again: no race with a writer, no
    # stale .pyc (CPython's pyc check has one-second resolution)
    code = compile(text, filename, "exec", dont_inherit=True)
    sys.modules[modname] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module


def _get_module(exprs, args, name, parallel, use_cse, cache_dir):
    """(module, path or None) for the request, from the cache when an authenticated entry
    exists, else generated (and written when the cache is usable)."""
    key = _request_key(exprs, args, name, parallel, use_cse)
    d, secret = _resolve_dir(cache_dir)
    if d is None:
        body = _body(exprs, args, name, parallel, use_cse, cache=False)
        _STATS["generated"] += 1
        _STATS["in_memory"] += 1
        return _import(body, _modname(f"{name}_{key[:24]}"), None), None
    path = d / f"{name}_{key[:24]}.py"
    text = _read_private(path)
    if text is not None and _check_text(text, key, secret):
        try:
            module = _import(text, _modname(path), path)
        except Exception as exc:  # authenticated but not importable: rebuild below
            warnings.warn(
                f"symresp.codegen: rebuilding unusable cache entry {path} "
                f"({type(exc).__name__}: {exc})",
                RuntimeWarning,
                stacklevel=3,
            )
        else:
            # numba reads its files at the first call, after this import: check them now
            # (the data files refer to the module, so they unpickle only once it exists)
            numba_files = _numba_files(path)
            if not _numba_cache_is_sound(numba_files):
                _remove(numba_files)
                warnings.warn(
                    f"symresp.codegen: removed corrupt numba cache files of "
                    f"{path.name} (numba compiles and rewrites them once)",
                    RuntimeWarning,
                    stacklevel=3,
                )
            _STATS["loaded"] += 1
            return module, path
    if text is not None:
        _STATS["rebuilt"] += 1
    body = _body(exprs, args, name, parallel, use_cse)
    _STATS["generated"] += 1
    text = _assemble(key, body, secret)
    write_atomic(path, text, what="code cache entry", private=True)
    _remove(_numba_files(path))  # machine code of a replaced file is stale
    return _import(text, _modname(path), path), path

"""Claims on the runs of a batch folder, so that batches sharing one ``--out`` split the work.

Before a run is simulated, or its folder written or replaced, the task holding
it takes the run's *claim*: an exclusive advisory lock (``flock``) on
``DIR/.locks/runs/<run_id>``. A run whose claim is held elsewhere is left to
its holder; the batch comes back to it later and takes whatever the holder
published. The operating system drops a lock when its process ends, however
it ends (``kill -9``, a lost machine on NFS once its lease expires), so a
claim is never stale and never needs cleaning up. The lock files themselves
stay (removing one while another process waits on it would let two hold it).

The manifest and ``results/`` are written under one more lock,
``DIR/.locks/outputs``, so that two batches finishing together cannot leave an
older view in place of a newer one. And each running batch holds
``DIR/.locks/batches/<batch_id>``, so that a task can tell whether the batch
that wrote a run is still running (its runs are then taken as they are).
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCKS_DIR = ".locks"
_RUN_LOCKS = "runs"
_BATCH_LOCKS = "batches"
_OUTPUTS_LOCK = "outputs"

# flock locks belong to an open file, but on network filesystems they become POSIX
# locks, which belong to the process; threads of one worker process taking the same
# run's claim must still exclude each other, so claims held here are also listed.
_HELD: set[str] = set()
_HELD_LOCK = threading.Lock()

#: errno values of a filesystem that cannot lock files (e.g. Lustre without ``-o flock``).
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


class Claim:
    """A held claim on one run; :meth:`release` (or leaving the ``with``) lets it go."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd

    def release(self) -> None:
        """Let the claim go (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with _HELD_LOCK:
            _HELD.discard(str(self.path))

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_text(batch_id: str) -> str:
    """Who holds a claim, as written into its lock file: batch, host and process."""
    return f"batch {batch_id} on {socket.gethostname()}, process {os.getpid()}"


def try_claim(out: str | os.PathLike[str], run_id: str, holder: str) -> Claim | str:
    """Claim ``run_id`` of the batch folder ``out``: a :class:`Claim`, or who holds it now.

    Never waits. On a filesystem without file locks every claim succeeds (the
    driver has warned that batches must then take turns on the folder).
    """
    path = Path(out) / LOCKS_DIR / _RUN_LOCKS / run_id
    with _HELD_LOCK:
        if str(path) in _HELD:
            return _read_holder(path)
        _HELD.add(str(path))
    try:
        fd = _lock(path, wait=False)
    except BaseException:
        with _HELD_LOCK:
            _HELD.discard(str(path))
        raise
    if fd is None:
        with _HELD_LOCK:
            _HELD.discard(str(path))
        return _read_holder(path)
    if fd >= 0:
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
    return Claim(path, fd if fd >= 0 else None)


@contextmanager
def outputs_lock(out: str | os.PathLike[str], wait: bool = True) -> Iterator[bool]:
    """Hold the lock on the manifest and ``results/`` of ``out``; yield whether it is held.

    With ``wait`` (the default) it waits for another batch to finish writing
    them, and is always held; without, it yields False at once if it is busy.
    """
    fd = _lock(Path(out) / LOCKS_DIR / _OUTPUTS_LOCK, wait=wait)
    try:
        yield fd is not None
    finally:
        if fd is not None and fd >= 0:
            os.close(fd)


@contextmanager
def batch_running_here(out: str | os.PathLike[str], batch_id: str) -> Iterator[None]:
    """Mark the batch ``batch_id`` as running on ``out`` for the duration of the ``with``."""
    path = Path(out) / LOCKS_DIR / _BATCH_LOCKS / batch_id
    fd = _lock(path, wait=True)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # before unlocking: nobody sees a free lock of a live batch
        if fd is not None and fd >= 0:
            os.close(fd)


def batch_running(out: str | os.PathLike[str], batch_id: object) -> bool:
    """Whether the batch ``batch_id`` is running on ``out`` now (False where locks do not work)."""
    if not isinstance(batch_id, str) or not batch_id or "/" in batch_id:
        return False
    try:
        fd = os.open(Path(out) / LOCKS_DIR / _BATCH_LOCKS / batch_id, os.O_RDWR)
    except OSError:
        return False  # finished (its lock file is removed) or never ran here
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def locks_work(out: str | os.PathLike[str]) -> bool:
    """Whether the filesystem of ``out`` supports the file locks claims are made of."""
    path = Path(out) / LOCKS_DIR / "probe"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in _NO_LOCKS:
            return False
        raise
    finally:
        os.close(fd)
    return True


def _lock(path: Path, wait: bool) -> int | None:
    """An open descriptor of ``path`` locked exclusively; None if held elsewhere.

    -1 stands for "no locks on this filesystem": the caller proceeds unlocked.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as err:
        os.close(fd)
        if err.errno in _NO_LOCKS:
            return -1
        raise
    return fd


def _read_holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "another batch"
    except OSError:
        return "another batch"

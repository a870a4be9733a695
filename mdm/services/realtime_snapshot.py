"""The real-time index kept on disk, so that a restart does not build it anew.

Building the index standardises every active record (13 minutes at a
million records, during which gunicorn's master serves nothing); reading it
back from a file takes seconds. With REALTIME_INDEX_SNAPSHOT set to a path,
each build writes the index there with its history watermark, and the next
build in any process on the machine reads it instead, when it was made for
the same match model and the same matching code, and then catches up with
the changes since its watermark as the index always does
(`realtime_matching._catch_up`); a start-up that caught up with many
changes writes it anew (`realtime_matching.realtime_index_warm`).

The file is a pickle: only a file this app wrote may be read, so it lives
where the app alone can write (created 0600, replaced atomically). A file
that cannot be read, or was made for another model or code, is ignored and
replaced by the next build.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from functools import cache
from pathlib import Path

from django.conf import settings

import matching
import mdm.matching_adapter

logger = logging.getLogger(__name__)

# Bumped when what the file holds changes shape.
_FORMAT = 1


def snapshot_read(
    config: matching.MatchConfig,
) -> tuple[matching.RecordIndex, int] | None:
    """(index, watermark) from the snapshot file, or None if there is none
    usable for `config` and this code."""
    path = _path()
    if path is None or not path.exists():
        return None
    try:
        with path.open("rb") as f:
            stamp = pickle.load(f)
            if stamp != _stamp(config):
                logger.info(
                    "real-time index snapshot %s is for another model or code", path
                )
                return None
            index, watermark = pickle.load(f)
    except Exception:  # a torn, old or foreign file: build anew
        logger.warning(
            "real-time index snapshot %s unreadable; building", path, exc_info=True
        )
        return None
    index.config = config
    return index, watermark


def snapshot_write(
    index: matching.RecordIndex, watermark: int, config: matching.MatchConfig
) -> None:
    """Keep `index`, complete up to history id `watermark`, for `config`."""
    path = _path()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp: mode 0600
                pickle.dump(_stamp(config), f, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump((index, watermark), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:  # a full or read-only disk costs the next start a build
        logger.warning("real-time index snapshot %s not written", path, exc_info=True)


def _path() -> Path | None:
    value = settings.REALTIME_INDEX_SNAPSHOT
    return Path(value) if value else None


def _stamp(config: matching.MatchConfig) -> tuple:
    return (_FORMAT, config.fingerprint(), _code_version())


@cache
def _code_version() -> str:
    """A hash of the code that turns records into index entries: the
    matching engine and the adapter from ID cards to its fields."""
    digest = hashlib.sha256()
    roots = [Path(matching.__file__).parent, Path(mdm.matching_adapter.__file__)]
    for root in roots:
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for file in files:
            digest.update(str(file.relative_to(root.parent)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()

"""botocore's service models, kept parsed: most of the time a client takes to build.

botocore reads each service's model (gzipped JSON, up to megabytes: s3's endpoints, iam's and
lambda's service-2) every time a process builds its first client of that service; parsing is
two thirds of building a client, about 0.2 s for the clients `status` or `up` build. Here the
parsed data is kept as marshal files (3-4 times faster to load than the JSON) in awslab's cache
directory, one per botocore file, named by the file's path, size and mtime and by the Python
version (marshal's format may change between versions): a botocore upgrade or a changed file is
read afresh. A cache that cannot be read or written is skipped: the JSON is read as before.

Only data is loaded: marshal builds dicts, lists and strings here, and nothing of a loaded file is
ever called. The directory is the user's own (mode 0700)."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import threading
from pathlib import Path
from typing import Any

_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}-{marshal.version}"


def install(session: Any, directory: Path | None = None) -> None:
    """Make `session` (a botocore session) load its model files through the cache."""
    from awslab import paths

    loader = session.get_component("data_loader")
    loader.file_loader = _file_loader_class()(directory or paths.cache_dir() / "botocore-models")


def _file_loader_class() -> type:
    from botocore.loaders import _JSON_OPEN_METHODS, JSONFileLoader

    class CachedFileLoader(JSONFileLoader):  # type: ignore[misc]
        def __init__(self, directory: Path) -> None:
            self.directory = directory

        def load_file(self, file_path: str) -> Any:
            # as JSONFileLoader: the first of file.json, file.json.gz that exists
            for ext, open_method in _JSON_OPEN_METHODS.items():
                full = file_path + ext
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                key = hashlib.sha256(
                    f"{_VERSION}\0{full}\0{st.st_size}\0{st.st_mtime_ns}".encode()
                ).hexdigest()
                cached = self.directory / f"{key[:32]}.marshal"
                with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
                    return marshal.loads(cached.read_bytes())
                data = self._load_file(full, open_method)
                if data is not None:
                    _write(cached, data)
                return data
            return None

    return CachedFileLoader


def _plain(value: Any) -> Any:
    """botocore's OrderedDicts as dicts (which keep their order): marshal takes only built-ins."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _write(path: Path, data: Any) -> None:
    """Atomically (a reader never sees half a file); any failure leaves no cache, nothing else."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        blob = marshal.dumps(_plain(data))
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging.write_bytes(blob)
        os.replace(staging, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            staging.unlink()

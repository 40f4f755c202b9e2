"""Where awslab keeps its files: state, the local cloud's pid/log, caches."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def state_dir() -> Path:
    """The user's awslab state directory (AWSLAB_STATE_DIR overrides; tests use it)."""
    override = os.environ.get("AWSLAB_STATE_DIR")
    return Path(override) if override else Path(platformdirs.user_state_dir("awslab"))


def cache_dir() -> Path:
    """Caches that may be deleted at any time (requirement installs, built bundles)."""
    override = os.environ.get("AWSLAB_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("awslab"))


def local_cloud_dir(port: int) -> Path:
    """pid file, log, snapshot (its resources, kept across restarts) and scratch space of the local
    cloud listening on `port`."""
    return state_dir() / "local" / str(port)


def state_file(state_key: str) -> Path:
    return state_dir() / "state" / f"{state_key}.json"

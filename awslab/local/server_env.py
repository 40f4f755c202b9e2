"""The environment the local cloud's server runs with: what a Python process and pip need, the
local cloud's dummy credentials, and nothing else of the user's.

The server runs the user's Lambda handlers, and a handler can read its parent's environment
(/proc/<ppid>/environ on Linux), so the server must not hold the user's real AWS credentials,
profile, session tokens or config file paths, nor anything else it does not need. An allow-list,
not a deny-list: a secret under a name nobody thought of stays out too. Lambda workers get even
less (awslab/local/execution_env.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from awslab.target import DEFAULT_REGION, LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY

# Running Python (on POSIX and Windows) and finding awslab's own files.
_PROCESS = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
            "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "USERPROFILE", "APPDATA",
            "LOCALAPPDATA", "PROGRAMDATA", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "PYTHONPATH",
            "PYTHONHOME", "PYTHONUTF8", "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV",
            "AWSLAB_STATE_DIR", "AWSLAB_CACHE_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
            "XDG_STATE_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_DIRS",
            # where Pythons for the declared Lambda runtimes live (awslab.local.runtimes)
            "PYENV_ROOT", "UV_PYTHON_INSTALL_DIR", "ASDF_DATA_DIR", "MISE_DATA_DIR")  # fmt: skip
# pip, which installs handlers' requirements.txt: its settings, the proxy and the CA bundle.
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_NETWORK = (*_PROXIES, "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE")  # fmt: skip
_PREFIXES = ("LC_", "PIP_", "COV_CORE_", "COVERAGE_")  # locale, pip's settings, coverage of tests
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def server_environment(source: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed part of `source`, with the local cloud's own AWS settings."""
    env = {k: v for k, v in source.items() if k in _PROCESS or k in _NETWORK or k.startswith(_PREFIXES)}
    if any(name in env for name in _PROXIES):
        # moto's Step Functions call Lambda at localhost:PORT with boto3, which honours proxies.
        for name in ("NO_PROXY", "no_proxy"):
            kept = [h.strip() for h in env.get(name, "").split(",") if h.strip()]
            env[name] = ",".join([*kept, *(h for h in _LOOPBACK if h not in kept)])
    env.update(
        AWS_ACCESS_KEY_ID=LOCAL_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=LOCAL_SECRET_KEY,
        AWS_DEFAULT_REGION=DEFAULT_REGION,
        # boto3 in the server must not read the user's ~/.aws, nor ask an instance metadata service.
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        PYTHONUNBUFFERED="1",
    )
    return env

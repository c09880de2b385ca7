"""The real components a test needs (Debian packages, a download): missing, a test fails under CI,
which installs them (.ci/run), and skips on a laptop that lacks them."""

import os
import shutil
from typing import NoReturn

import pytest


def unavailable(message: str, **skip_options) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message, **skip_options)


def require_tools(*names: str, installed_by: str) -> None:
    """Each of `names` on PATH, or unavailable; `installed_by` says what .ci/run installs for them."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        unavailable(f"{', '.join(missing)} missing: .ci/run installs {installed_by}")

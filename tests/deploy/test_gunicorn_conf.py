"""deploy/gunicorn.conf.py as gunicorn reads it, and a real gunicorn started with it."""

import os
import runpy
import stat

import pytest
from gunicorn.config import Config

from tests import live

CONF = live.ROOT / "deploy" / "gunicorn.conf.py"


def _config(monkeypatch, **env) -> Config:
    """The settings gunicorn derives from the file (as `gunicorn -c` does: every public name is a setting)."""
    for name in ("GUNICORN_CONTROL_SOCKET",):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name in cfg.settings:
            cfg.set(name, value)
    return cfg


def test_no_control_socket_unless_configured(monkeypatch):
    assert _config(monkeypatch).control_socket_disable is True


def test_a_configured_control_socket_is_the_instance_own_path(monkeypatch, tmp_path):
    cfg = _config(monkeypatch, GUNICORN_CONTROL_SOCKET=str(tmp_path / "web-a.ctl"))
    assert cfg.control_socket_disable is False
    assert cfg.control_socket == str(tmp_path / "web-a.ctl")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_servers_leave_the_shared_default_path_alone(tmp_path):
    """gunicorn's default control socket is one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn): two
    servers of one user would fight over it. Started with the deploy config, neither creates it, and
    one configured with its own path gets a socket there and nowhere else."""
    home = tmp_path / "home"
    home.mkdir()
    env = {name: value for name, value in live.production_env(tmp_path, WEB_CONCURRENCY="1", HOME=str(home)).items()
           if name not in ("XDG_RUNTIME_DIR", "GUNICORN_CONTROL_SOCKET")}
    own = tmp_path / "own.ctl"
    with live.serve(env, tmp_path), live.serve({**env, "GUNICORN_CONTROL_SOCKET": str(own)}, tmp_path):
        assert not (home / ".gunicorn").exists()
        assert stat.S_ISSOCK(os.stat(own).st_mode)

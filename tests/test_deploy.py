"""deploy/: the nginx configuration for app processes on other machines, and bad values.

tests/ui/test_nginx.py runs the configuration with two app processes and two
browsers; here only nginx's own check (``nginx -t``) and the script's refusals.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("serve_class", ROOT / "deploy" / "serve_class.py")
serve_class = sys.modules.setdefault("serve_class", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(serve_class)

HOSTS = ["10.0.0.11:5006", "10.0.0.11:5007", "10.0.0.12:5006"]


@pytest.fixture
def nginx():
    if not serve_class.NGINX.exists():
        reason = f"needs nginx at {serve_class.NGINX}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI must run it")
        pytest.skip(reason)
    return serve_class.NGINX


def test_the_config_for_other_machines_passes_nginxs_check(nginx, tmp_path):
    main = serve_class.prepare(tmp_path, HOSTS, "80", "class.example.org")
    checked = subprocess.run(
        [str(nginx), "-t", "-p", str(tmp_path), "-c", str(main),
         "-e", str(tmp_path / "error.log")], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    site = (tmp_path / "polyfit-explorer.conf").read_text()
    upstream = site[site.index("upstream polyfit_explorer {"):site.index("server {")]
    assert [line.strip() for line in upstream.splitlines() if line.startswith("    server ")] \
        == [f"server {host};" for host in HOSTS]
    assert "server_name class.example.org;" in site
    # The proxy adds none of the app's security headers: only the cookie (HSTS commented).
    added = [line.split()[1] for line in site.splitlines()
             if line.strip().startswith("add_header")]
    assert added == ["Set-Cookie"]


@pytest.mark.parametrize(("upstreams", "message"), [
    ([], "--upstream: at least one HOST:PORT"),
    (["10.0.0.11"], "--upstream: not HOST:PORT: '10.0.0.11'"),
    (["10.0.0.11:http"], "--upstream: not HOST:PORT: '10.0.0.11:http'"),
])
def test_a_bad_upstream_is_refused_by_name(upstreams, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        serve_class.site_config(upstreams)


def test_a_value_that_would_end_a_directive_is_refused():
    with pytest.raises(ValueError, match=r"^SERVER_NAME: not one nginx value: 'a; b'$"):
        serve_class.site_config(HOSTS, server_name="a; b")


def test_the_command_line_names_the_bad_value(capsys):
    with pytest.raises(SystemExit) as ended:
        serve_class.main(["config", "--upstream", "nowhere"])
    assert ended.value.code == 1
    assert capsys.readouterr().err == (
        "serve_class.py config: --upstream: not HOST:PORT: 'nowhere'\n")

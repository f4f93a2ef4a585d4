"""The deployment files of deploy/: the environment file's settings, the systemd units checked by
``systemd-analyze``, and the nginx site run for real, over HTTPS, in front of a running app.

Only tmp is written: the units are verified from a copy (their program path pointed at this
checkout's Python), nginx runs with its prefix, pid, logs and temporary folders in tmp.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from tests.conftest import ROOT, free_port
from tests.e2e.conftest import USERS, RunningApp, start_app
from tests.fakes import HashEmbedder, ScriptedBackend
from web.middleware import SESSION_COOKIE
from web.ui import TITLE

DEPLOY = ROOT / "deploy"
ENV_FILE = DEPLOY / "assistant.env"
APP_UNIT = DEPLOY / "systemd" / "coop-assistant@.service"
SYNC_UNIT = DEPLOY / "systemd" / "coop-assistant-sync.service"
SYNC_TIMER = DEPLOY / "systemd" / "coop-assistant-sync.timer"
UNITS = (APP_UNIT, SYNC_UNIT, SYNC_TIMER)
NGINX_SITE = DEPLOY / "nginx" / "coop-assistant.conf"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"

CHECKOUT = "/opt/coop-assistant"  # where the units expect the checkout
ENV_PATH = "/etc/coop-assistant/assistant.env"  # where they read the settings
COPIES = (7861, 7862)  # the instances docs/deployment.md enables, the servers of nginx's upstream

SETTING_NAMES = {f"ASSISTANT_{name.upper()}" for name in Settings.model_fields}
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


# -- reading the files -----------------------------------------------------------------------------


def env_lines(path: Path) -> dict[str, str]:
    """The NAME=value lines of a systemd environment file (comments and blank lines aside)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of each setting of a unit file, in order (keys may repeat)."""
    entries, section = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_values(path: Path, key: str) -> list[str]:
    return [value for _, k, value in unit_entries(path) if k == key]


def unit_environment(path: Path) -> dict[str, str]:
    """What the unit's Environment= lines set (space-separated NAME=value pairs, no quotes in ours)."""
    pairs = [pair for line in unit_values(path, "Environment") for pair in line.split()]
    return dict(pair.split("=", 1) for pair in pairs)


def nginx_bytes(size: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    match = re.fullmatch(r"(\d+)([kmg]?)", size.lower())
    assert match, size
    return int(match[1]) * units[match[2]]


# -- the environment file and the settings -----------------------------------------------------------


def test_every_assistant_name_in_the_deploy_files_is_a_real_setting() -> None:
    for path in (ENV_FILE, *UNITS, NGINX_SITE):
        names = set(re.findall(r"\bASSISTANT_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
        assert names <= SETTING_NAMES, f"{path.name}: not settings: {sorted(names - SETTING_NAMES)}"


def test_the_env_file_sets_a_team_deployment() -> None:
    lines = env_lines(ENV_FILE)
    for name, value in lines.items():
        # systemd's syntax: no "export", no space, no comment after a value (it would be part of it)
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), name
        assert value and not re.search(r"\s", value), f"{name}={value}"
    for name in (
        "ASSISTANT_DOCS_DIR", "ASSISTANT_DATA_DIR", "ASSISTANT_DATABASE_URL", "ASSISTANT_CHROMA_URL",
        "ASSISTANT_OPENAI_BASE_URL", "ASSISTANT_OPENAI_MODEL", "ASSISTANT_OPENAI_API_KEY",
        "ASSISTANT_HOST", "ASSISTANT_TRUSTED_PROXIES", "ASSISTANT_LOG_FORMAT",
    ):  # fmt: skip
        assert name in lines, f"{name} missing from {ENV_FILE.name}"
    # each copy's port is its unit instance: the file's would override Environment=ASSISTANT_PORT=%i
    assert "ASSISTANT_PORT" not in lines
    assert lines["ASSISTANT_HOST"] == "127.0.0.1" and lines["ASSISTANT_TRUSTED_PROXIES"] == "127.0.0.1"
    assert "CHANGE-ME" in lines["ASSISTANT_DATABASE_URL"] and "CHANGE-ME" in lines["ASSISTANT_OPENAI_API_KEY"]
    assert "/home/" not in ENV_FILE.read_text(encoding="utf-8")  # the service's home is not under /home (ProtectHome=yes)

    settings = Settings(_env_file=ENV_FILE)  # type: ignore[call-arg]  # the app reads the file as the units give it
    assert settings.host == "127.0.0.1" and settings.log_format == "json"
    assert settings.database_url is not None and settings.database_url.get_secret_value().startswith("postgresql://")
    assert settings.chroma_url and settings.openai_base_url and settings.openai_model
    assert settings.docs_dir.is_absolute() and settings.data_dir.is_absolute()


# -- the systemd units -------------------------------------------------------------------------------


def test_the_units_run_the_checkout_as_their_own_user_with_the_env_file() -> None:
    settings = env_lines(ENV_FILE)
    for unit in (APP_UNIT, SYNC_UNIT):
        assert not any(line.rstrip().endswith("\\") for line in unit.read_text(encoding="utf-8").splitlines())
        assert unit_values(unit, "EnvironmentFile") == [ENV_PATH]
        assert unit_values(unit, "User") == ["coop-assistant"]
        assert unit_values(unit, "WorkingDirectory") == [CHECKOUT]
        assert unit_values(unit, "ExecStart")[0].startswith(f"{CHECKOUT}/.venv/bin/python ")
        for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes"}.items():
            assert unit_values(unit, key) == [value], key
        assert unit_values(unit, "RestrictAddressFamilies") == ["AF_UNIX AF_INET AF_INET6"]
        assert unit_values(unit, "MemoryDenyWriteExecute") == []  # the embedding engines' JIT needs it off
        writable = unit_values(unit, "ReadWritePaths")[0].split()
        assert settings["ASSISTANT_DATA_DIR"] in writable, f"{unit.name}: the data folder is not writable"
    assert unit_values(APP_UNIT, "ExecStart") == [f"{CHECKOUT}/.venv/bin/python app.py"]
    assert unit_environment(APP_UNIT)["ASSISTANT_PORT"] == "%i"
    assert unit_values(APP_UNIT, "Restart") == ["on-failure"]
    # admins' uploads are written into the documents folder
    assert settings["ASSISTANT_DOCS_DIR"] in unit_values(APP_UNIT, "ReadWritePaths")[0].split()
    assert " -m index sync" in unit_values(SYNC_UNIT, "ExecStart")[0]
    assert unit_values(SYNC_UNIT, "Type") == ["oneshot"]
    assert "1" in unit_values(SYNC_UNIT, "SuccessExitStatus")[0].split()  # some files failed, the rest is indexed
    assert unit_values(SYNC_TIMER, "Persistent") == ["true"] and unit_values(SYNC_TIMER, "OnCalendar")


@pytest.mark.parametrize("unit", [APP_UNIT, SYNC_UNIT], ids=lambda u: u.name)
def test_the_units_commands_are_the_projects(unit: Path) -> None:
    """Each ExecStart, run from the checkout with --help: the program, its command and options exist."""
    program, *args = unit_values(unit, "ExecStart")[0].split()
    assert program == f"{CHECKOUT}/.venv/bin/python"
    python = ROOT / ".venv" / "bin" / "python"
    run = subprocess.run(
        [str(python if python.exists() else sys.executable), *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Usage" in run.stdout


@pytest.fixture(scope="module")
def unit_copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The units with their program and folder pointed at this checkout, for systemd-analyze to check."""
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze missing (Debian package systemd): the unit files cannot be verified here")
    folder = tmp_path_factory.mktemp("units")
    python = ROOT / ".venv" / "bin" / "python"
    python = python if python.exists() else Path(sys.executable)
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        text = text.replace(f"{CHECKOUT}/.venv/bin/python", str(python))
        text = text.replace(f"WorkingDirectory={CHECKOUT}", f"WorkingDirectory={ROOT}")
        (folder / unit.name).write_text(text, encoding="utf-8")
    return folder


def test_systemd_analyze_verifies_the_units(unit_copies: Path) -> None:
    # the template's instance as `systemctl enable coop-assistant@7861` makes it, the sync and its timer
    names = [f"coop-assistant@{COPIES[0]}.service", SYNC_UNIT.name, SYNC_TIMER.name]
    run = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", "--man=no", "--generators=no", *(str(unit_copies / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_LOG_LEVEL": "info", "LANG": "C.UTF-8"},
    )
    output = run.stdout + run.stderr
    # an unknown or misspelled directive, a bad value, a path that is not absolute: one line naming our file
    ours = [line for line in output.splitlines() if str(unit_copies) in line or "coop-assistant" in line]
    assert run.returncode == 0 and not ours, output


def test_systemd_analyze_rates_the_services_well_hardened(unit_copies: Path) -> None:
    for name in (f"coop-assistant@{COPIES[0]}.service", SYNC_UNIT.name):
        run = subprocess.run(
            # --threshold in tenths: fails above an exposure of 2.0 ("OK" is below 4.0)
            [str(SYSTEMD_ANALYZE), "security", "--offline=true", "--threshold=20", "--no-pager", str(unit_copies / name)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "--offline" in run.stderr and "unrecognized" in run.stderr:
            pytest.skip("systemd-analyze older than 250: no offline security review")
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr


# -- nginx, configuration ---------------------------------------------------------------------------


def test_the_nginx_site_matches_the_app() -> None:
    site = NGINX_SITE.read_text(encoding="utf-8")
    # sticky by the app's own session cookie; its servers are the copies the docs enable
    assert re.search(rf"hash\s+\$cookie_{SESSION_COOKIE}\s+consistent;", site)
    ports = {int(p) for p in re.findall(r"^\s*server\s+127\.0\.0\.1:(\d+)", site, re.M)}
    assert ports == set(COPIES)
    enable = "systemctl enable --now " + " ".join(f"coop-assistant@{p}" for p in COPIES)
    assert enable in DEPLOYMENT_DOC.read_text(encoding="utf-8")
    # the app's upload limit with its defaults, as its middleware computes it: nginx must let it through
    fields = Settings.model_fields
    upload = int(fields["max_upload_mb"].default * 1_000_000 * fields["max_upload_files"].default) + 64 * 1024
    size = re.search(r"client_max_body_size\s+(\w+);", site)
    assert size and upload <= nginx_bytes(size[1]) <= upload * 1.1, (size, upload)
    for directive in (
        "proxy_buffering off;",
        "proxy_http_version 1.1;",
        "proxy_read_timeout 600s;",
        "X-Forwarded-Proto $scheme;",
    ):
        assert directive in site, directive


# -- nginx, for real, in front of a running app ------------------------------------------------------

NGINX_MAIN = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  include {tmp}/coop-assistant.conf;
}}
"""


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@dataclass
class Proxied:
    https: str  # https://127.0.0.1:PORT/
    http: str  # the port-80 listener's
    app: RunningApp
    tmp: Path  # nginx's prefix: its error.log
    stopped_port: int  # the upstream's second copy, not running


def site_for_test(tmp: Path, https_port: int, http_port: int, app_port: int, stopped_port: int) -> str:
    """deploy/nginx/coop-assistant.conf with only its ports, certificate paths and upstream servers changed."""
    site = NGINX_SITE.read_text(encoding="utf-8")
    v6 = ipv6_loopback()

    def listen(match: re.Match[str]) -> str:
        address, port, rest = match[1], int(match[2]), match[3]
        new_port = {443: https_port, 80: http_port}[port]
        if address == "[::]:":
            return f"listen [::1]:{new_port}{rest};" if v6 else "# (no IPv6 loopback here)"
        return f"listen 127.0.0.1:{new_port}{rest};"

    site, listens = re.subn(r"listen\s+(\[::\]:)?(\d+)([^;]*);", listen, site)
    assert listens == 4, "the site's listen directives changed: update this test"
    site, certs = re.subn(
        r"ssl_certificate(_key)?\s+[^;]+;", lambda m: f"ssl_certificate{m[1] or ''} {tmp}/{'key' if m[1] else 'cert'}.pem;", site
    )
    assert certs == 2
    # copy 1 is the running app; copy 2 is stopped: nginx passes its share of the sessions to copy 1
    site = site.replace(f"server 127.0.0.1:{COPIES[0]};", f"server 127.0.0.1:{app_port};")
    site = site.replace(f"server 127.0.0.1:{COPIES[1]};", f"server 127.0.0.1:{stopped_port};")
    assert f":{app_port};" in site and f":{stopped_port};" in site, "the site's upstream changed: update this test"
    return site


@pytest.fixture(scope="module")
def nginx_conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, dict[str, int]]]:
    if not Path(NGINX).exists() or not shutil.which("openssl"):
        pytest.skip("nginx or openssl missing: run `make setup-test`")
    tmp = tmp_path_factory.mktemp("nginx")
    keys = ["-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", *keys],
        check=True,
        capture_output=True,
    )
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_MAIN.format(tmp=tmp), encoding="utf-8")
    ports = {"https": free_port(), "http": free_port(), "app": free_port(), "stopped": free_port()}
    yield tmp, conf, ports


def write_site(tmp: Path, ports: dict[str, int]) -> None:
    site = site_for_test(tmp, ports["https"], ports["http"], ports["app"], ports["stopped"])
    (tmp / "coop-assistant.conf").write_text(site, encoding="utf-8")


def test_nginx_accepts_the_site(nginx_conf: tuple[Path, Path, dict[str, int]]) -> None:
    tmp, conf, ports = nginx_conf
    write_site(tmp, ports)
    run = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0 and "test is successful" in run.stderr, run.stderr
    assert "[warn]" not in run.stderr and "[emerg]" not in run.stderr, run.stderr


@pytest.fixture(scope="module")
def proxied(nginx_conf: tuple[Path, Path, dict[str, int]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    tmp, conf, ports = nginx_conf
    app_iter = start_app(
        tmp_path_factory.mktemp("deploy-app"), HashEmbedder(), ScriptedBackend(fn=lambda m: "Réponse scriptée."), users=True
    )
    running = next(app_iter)
    ports["app"] = int(running.url.rstrip("/").rsplit(":", 1)[1])
    write_site(tmp, ports)
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    https = f"https://127.0.0.1:{ports['https']}/"
    try:
        deadline = time.time() + 20
        while True:
            try:
                if httpx.get(https + "healthz", verify=False, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                errors = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                pytest.fail(f"nginx did not serve the app: {errors}")
            time.sleep(0.2)
        yield Proxied(https, f"http://127.0.0.1:{ports['http']}/", running, tmp, ports["stopped"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for _ in app_iter:
            pass


def test_the_app_answers_through_nginx_over_https(proxied: Proxied) -> None:
    with httpx.Client(base_url=proxied.https, verify=False, timeout=30) as client:
        health = client.get("healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"] == "max-age=31536000"
        assert client.get("login").status_code == 200
        page = client.get("", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login"
        name, (password, _) = "bob", USERS["bob"]
        response = client.post("login", data={"username": name, "password": password}, headers={"accept": "text/html"})
        assert response.status_code == 303 and response.headers["location"] == "/", response.text
        # the app saw HTTPS (X-Forwarded-Proto from a trusted proxy): its session cookie is Secure
        cookie = response.headers["set-cookie"].lower()
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "secure" in cookie, cookie
        chat = client.get("", headers={"accept": "text/html"})
        assert chat.status_code == 200 and TITLE in chat.text
        assert chat.headers["strict-transport-security"] == "max-age=31536000"


def test_a_stopped_copy_costs_no_request(proxied: Proxied) -> None:
    # 20 sessions: the hash sends about half of them to the stopped copy (a miss has odds of 1 in 2**20);
    # nginx passes each on to the running one, whose answer (to the login page: no such session) they get
    for i in range(20):
        cookies = {SESSION_COOKIE: f"session-{i}"}
        response = httpx.get(proxied.https, cookies=cookies, headers={"accept": "text/html"}, verify=False, timeout=10)
        assert response.status_code == 303 and response.headers["location"] == "/login", response.text
    errors = (proxied.tmp / "error.log").read_text(encoding="utf-8")
    assert f'upstream: "http://127.0.0.1:{proxied.stopped_port}/' in errors, errors


def test_plain_http_is_redirected_to_https(proxied: Proxied) -> None:
    response = httpx.get(proxied.http + "login?x=1", timeout=10)
    assert response.status_code == 301 and response.headers["location"] == "https://127.0.0.1/login?x=1"


def test_an_answer_streams_through_nginx(proxied: Proxied) -> None:
    from gradio_client import Client

    client = Client(proxied.https, auth=("bob", USERS["bob"][0]), verbose=False, ssl_verify=False)
    job = client.submit("Accord intergouvernemental Vietnam France 1993", [], api_name="/ask")
    out = job.result(timeout=60)
    assert out["passages"] and out["answer"], out

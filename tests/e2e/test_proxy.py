"""Behind a real nginx that terminates HTTPS and serves the app under /assistant/ (as the README's set-up)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.conftest import free_port
from tests.e2e.conftest import CHROMIUM, FLAGS, USERS, RunningApp, start_app

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists() or not shutil.which("openssl"), reason="nginx or openssl missing: run `make setup-test`"
)
PREFIX = "/assistant"
QUESTION = "Combien de médecins et personnels de santé vietnamiens ont été formés au CHU de Clermont-Ferrand depuis 1991 ?"

NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  client_max_body_size 25m;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    location {prefix}/ {{
      proxy_pass http://127.0.0.1:{app_port}/;
      proxy_http_version 1.1;
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffering off;
      proxy_read_timeout 600s;
    }}
  }}
}}
"""


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory, real_embedder, small_llm) -> Iterator[tuple[str, RunningApp]]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("proxy")
    app_iter = start_app(tmp / "app", real_embedder, small_llm, users=True, root_path=PREFIX)
    running = next(app_iter)
    conf_dir = tmp / "nginx"
    conf_dir.mkdir()
    keys = ["-keyout", str(conf_dir / "key.pem"), "-out", str(conf_dir / "cert.pem")]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", *keys],
        check=True,
        capture_output=True,
    )
    port = free_port()
    app_port = int(running.url.rstrip("/").rsplit(":", 1)[1])
    conf = conf_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=conf_dir, port=port, app_port=app_port, prefix=PREFIX))
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(conf_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"https://127.0.0.1:{port}{PREFIX}/"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            httpx.get(url + "login", verify=False, timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield url, running
    proc.terminate()
    proc.wait(timeout=10)
    for _ in app_iter:
        pass


def test_login_sets_a_secure_cookie_for_the_prefix(behind_proxy: tuple[str, RunningApp]) -> None:
    url, _ = behind_proxy
    with httpx.Client(base_url=url, verify=False, timeout=30) as client:
        page = client.get("", headers={"accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == f"{PREFIX}/login"
        response = client.post("login", data={"username": "bob", "password": USERS["bob"][0]}, headers={"accept": "text/html"})
        assert response.status_code == 303 and response.headers["location"] == f"{PREFIX}/"
        cookie = response.headers["set-cookie"].lower()
        for attribute in ("secure", "httponly", "samesite=strict", f"path={PREFIX}/"):
            assert attribute in cookie, cookie
        config = client.get("config").json()
        assert config["root"].startswith("https://127.0.0.1:") and config["root"].endswith(PREFIX)


def test_the_api_works_through_the_proxy(behind_proxy: tuple[str, RunningApp]) -> None:
    url, _ = behind_proxy
    client = Client(url, auth=("bob", USERS["bob"][0]), verbose=False, ssl_verify=False)
    out = client.predict(QUESTION, [], api_name="/ask")
    assert "72" in out["answer"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium missing: run `make setup-test`")
def test_the_page_works_behind_the_prefix(behind_proxy: tuple[str, RunningApp], artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, _ = behind_proxy
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        context = browser.new_context(ignore_https_errors=True, accept_downloads=True, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(url)
        page.locator("#username").fill("bob")
        page.locator("#password").fill(USERS["bob"][0])
        page.locator("#login-form button").click()
        page.locator("#chat-input textarea").fill(QUESTION)
        page.locator("#chat-input textarea").press("Enter")
        page.locator(".thought-group", has_text="Sources").wait_for(timeout=240_000)
        page.wait_for_function("() => !document.querySelector('#chat-input textarea').disabled", timeout=240_000)
        page.locator("#source-pick label").first.click()
        link = page.locator("#viewer a.download")
        link.wait_for(timeout=30_000)
        assert link.get_attribute("href").startswith(f"{PREFIX}/document/")
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename.endswith(".txt")
        page.screenshot(path=str(artifacts / "behind-https-proxy.png"), full_page=True, animations="disabled")
        page.locator("#logout-link").click()
        page.locator("#login-form").wait_for(timeout=30_000)
        context.close()
        browser.close()

"""The Python shell download stage (etl.yaml's `extract`): it fetches a zip
over HTTPS from a local server with a self-signed certificate, keeps the
members that match `members` (*.csv) and writes them, byte for byte, into the
table's location. Plain http:// is refused."""

import http.server
import io
import ssl
import subprocess
import threading
import zipfile

import pytest
from conftest import FLIGHTS_DATA, PENGUINS_DATA, run_job, script

MEMBERS = {
    "data/airlines.csv": (FLIGHTS_DATA / "airlines.csv").read_bytes(),
    "penguins.csv": (PENGUINS_DATA / "penguins.csv").read_bytes(),
    "README.txt": b"not a csv\n",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("https")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in MEMBERS.items():
            z.writestr(name, data)
    body = archive.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            if self.path != "/exports/online_retail.zip":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", cert
    httpd.shutdown()


def env_with(cert):
    import os

    env = dict(os.environ)
    env["SSL_CERT_FILE"] = str(cert)
    return env


@pytest.mark.parametrize("equals", [False, True], ids=["--k v", "--k=v"])
def test_download_unzips_matching_members(server, tmp_path, equals):
    base, cert = server
    out = tmp_path / "orders_raw"
    run_job(
        script("etl", "extract"),
        {
            "JOB_NAME": "extract",
            "pipec_output_orders_raw": out,
            "pipec_download_url": f"{base}/exports/online_retail.zip",
        },
        env=env_with(cert),
        equals=equals,
    )
    assert sorted(p.name for p in out.iterdir()) == ["airlines.csv", "penguins.csv"]
    assert (out / "airlines.csv").read_bytes() == MEMBERS["data/airlines.csv"]
    assert (out / "penguins.csv").read_bytes() == MEMBERS["penguins.csv"]


def test_download_refuses_plain_http(server, tmp_path):
    base, cert = server
    proc = run_job(
        script("etl", "extract"),
        {
            "JOB_NAME": "extract",
            "pipec_output_orders_raw": tmp_path / "out",
            "pipec_download_url": base.replace("https://", "http://") + "/x.zip",
        },
        env=env_with(cert),
        ok=False,
    )
    assert "downloads use https:// URLs" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_download_checks_the_certificate(server, tmp_path):
    base, _ = server
    proc = run_job(
        script("etl", "extract"),
        {
            "JOB_NAME": "extract",
            "pipec_output_orders_raw": tmp_path / "out",
            "pipec_download_url": f"{base}/exports/online_retail.zip",
        },
        ok=False,
    )
    assert "CERTIFICATE_VERIFY_FAILED" in proc.stderr

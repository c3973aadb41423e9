"""The Vosk model fetcher, against an HTTP server on 127.0.0.1 serving zips built here.

No test contacts any address but the loopback one.
"""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from voicecoach import models
from voicecoach.models import ModelError, fetch, models_main

TREE = {
    "am/final.mdl": "acoustic model",
    "conf/mfcc.conf": "--use-energy=false",
    "conf/model.conf": "--min-active=200",
    "graph/HCLr.fst": "graph",
    "graph/phones/word_boundary.int": "1 nonword",
    "ivector/final.ie": "ivector",
    "README": "fake small model for tests",
}


def make_zip(tree: dict[str, str], top: str | None = "vosk-model-small-en-us-0.15") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        if top:
            zf.writestr(f"{top}/", "")
        for name, text in tree.items():
            zf.writestr(f"{top}/{name}" if top else name, text)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """Serves `files` (path -> bytes) on 127.0.0.1; `during` runs in the middle of a body."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.during = None
        self.truncate = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                half = len(body) // 2
                self.wfile.write(body[:half])
                self.wfile.flush()
                if server.during:
                    server.during()
                if not server.truncate:
                    self.wfile.write(body[half:])

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "models" / "vosk"


def leftovers(dest: Path) -> list[str]:
    """Anything in dest's parent besides dest itself (temporary folders, partial downloads)."""
    return sorted(p.name for p in dest.parent.iterdir() if p != dest) if dest.parent.exists() else []


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_success_unpacks_the_model_files_directly_into_dest(server, dest, capsys):
    data = make_zip(TREE)
    server.files["/model.zip"] = data
    assert fetch("vosk-en", dest, url=server.url("/model.zip"), sha256=sha(data)) == dest.absolute()
    for name, text in TREE.items():
        assert (dest / name).read_text() == text
    assert not (dest / "vosk-model-small-en-us-0.15").exists(), "the zip's top folder is stripped"
    assert leftovers(dest) == []
    assert "100%" in capsys.readouterr().err, "a progress bar on stderr"


def test_a_zip_without_a_top_folder_is_unpacked_as_is(server, dest):
    data = make_zip(TREE, top=None)
    server.files["/flat.zip"] = data
    fetch("vosk-en", dest, url=server.url("/flat.zip"), sha256=sha(data), progress=False)
    assert (dest / "am" / "final.mdl").read_text() == "acoustic model"


def test_wrong_sha_installs_nothing(server, dest):
    data = make_zip(TREE)
    server.files["/model.zip"] = data
    with pytest.raises(ModelError) as err:
        fetch("vosk-en", dest, url=server.url("/model.zip"), sha256="0" * 64, progress=False)
    assert sha(data) in str(err.value) and "nothing was installed" in str(err.value)
    assert not dest.exists()
    assert leftovers(dest) == []


def test_the_pinned_sha_is_checked_when_none_is_given(server, dest):
    server.files["/model.zip"] = make_zip(TREE)
    with pytest.raises(ModelError, match=models.VOSK_EN_SHA256):
        fetch("vosk-en", dest, url=server.url("/model.zip"), progress=False)
    assert not dest.exists() and leftovers(dest) == []


def test_unreachable_server_is_one_clear_sentence(dest):
    url = f"http://127.0.0.1:{closed_port()}/model.zip"
    with pytest.raises(ModelError) as err:
        fetch("vosk-en", dest, url=url, progress=False)
    message = str(err.value)
    assert message.startswith(f"Cannot download {url}: no network connection")
    assert "Download it on another machine and unpack it into" in message
    assert "VOICECOACH_VOSK_MODEL" in message and "\n" not in message
    assert not dest.exists() and leftovers(dest) == []


def test_http_error_and_truncated_download(server, dest):
    with pytest.raises(ModelError, match="the server answered 404"):
        fetch("vosk-en", dest, url=server.url("/missing.zip"), progress=False)
    data = make_zip(TREE)
    server.files["/model.zip"] = data
    server.truncate = True
    with pytest.raises(ModelError, match="stopped after"):
        fetch("vosk-en", dest, url=server.url("/model.zip"), sha256=sha(data), progress=False)
    assert not dest.exists() and leftovers(dest) == []


@pytest.mark.parametrize("bad", ["not a zip", "not a model", "unsafe path"])
def test_bad_archives_install_nothing(server, dest, bad):
    if bad == "not a zip":
        data = b"<html>a captive portal page</html>"
    elif bad == "not a model":
        data = make_zip({"README": "hello", "other/file": "x"})
    else:
        data = make_zip({"../../escape": "x", **TREE}, top=None)
    server.files["/bad.zip"] = data
    with pytest.raises(ModelError):
        fetch("vosk-en", dest, url=server.url("/bad.zip"), sha256=sha(data), progress=False)
    assert not dest.exists() and leftovers(dest) == []
    assert not (dest.parent.parent / "escape").exists()


def test_an_existing_model_is_replaced_only_when_the_new_one_is_complete(server, dest):
    dest.mkdir(parents=True)
    (dest / "am").mkdir()
    (dest / "OLD").write_text("the model that works today")

    # a failed update leaves the old model as it was
    data = make_zip(TREE)
    server.files["/model.zip"] = data
    with pytest.raises(ModelError):
        fetch("vosk-en", dest, url=server.url("/model.zip"), sha256="f" * 64, progress=False)
    assert (dest / "OLD").read_text() == "the model that works today"
    assert leftovers(dest) == []

    # while the new one is downloading, the old one is still complete in place
    seen = []
    server.during = lambda: seen.append((dest / "OLD").exists() and not (dest / "README").exists())
    fetch("vosk-en", dest, url=server.url("/model.zip"), sha256=sha(data), progress=False)
    assert seen == [True]
    assert not (dest / "OLD").exists()
    assert (dest / "graph" / "HCLr.fst").read_text() == "graph"
    assert leftovers(dest) == []


def test_cli_fetch_and_list(server, dest, tmp_path, monkeypatch, capsys):
    data = make_zip(TREE)
    server.files["/model.zip"] = data
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(dest))
    assert models_main(["list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("vosk-en"))
    assert "missing" in line and "voicecoach models fetch vosk-en" in line

    assert models_main(["fetch", "vosk-en", "--url", server.url("/model.zip"), "--sha256", sha(data).upper(),
                        "--quiet"]) == 0
    out = capsys.readouterr()
    assert "installed" in out.out and out.err == ""
    assert (dest / "am" / "final.mdl").exists()

    assert models_main(["list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("vosk-en"))
    assert "found" in line and str(dest) in line

    url = f"http://127.0.0.1:{closed_port()}/x.zip"
    assert models_main(["fetch", "vosk-en", "--url", url, "--dest", str(tmp_path / "other"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicecoach: Cannot download") and err.count("\n") == 1
    assert (dest / "am" / "final.mdl").exists()


def test_unknown_model_name(dest):
    with pytest.raises(ModelError, match="Unknown model 'vosk-xx'"):
        fetch("vosk-xx", dest, url="http://127.0.0.1:1/none.zip")


def test_default_location_is_the_user_data_dir_not_the_package(server, tmp_path, monkeypatch, capsys):
    """Without --dest or VOICECOACH_VOSK_MODEL, fetch unpacks into <user data dir>/models/vosk, where
    the recognizer looks (an installed package has no checkout to write into)."""
    from voicecoach.speech.asr_vosk import find_vosk_model

    monkeypatch.delenv("VOICECOACH_VOSK_MODEL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = tmp_path / "data" / "voicecoach" / "models" / "vosk"
    assert models.default_vosk_dir() == models.vosk_en_dir() == expected
    assert find_vosk_model() is None
    data = make_zip(TREE)
    server.files["/model.zip"] = data
    assert models_main(["fetch", "vosk-en", "--url", server.url("/model.zip"), "--sha256", sha(data), "--quiet"]) == 0
    assert (expected / "graph" / "HCLr.fst").read_text() == "graph"
    assert find_vosk_model() == expected
    capsys.readouterr()
    assert models_main(["list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("vosk-en"))
    assert "found" in line and str(expected) in line
    assert Path(models.__file__).parent not in expected.parents

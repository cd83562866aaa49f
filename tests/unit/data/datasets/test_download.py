"""Download code against a small HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from discoverly.data.datasets import Download, download_file, fetch, file_checksum, load_dataset
from discoverly.errors import ConfigError, DataError, DatasetNotFoundError

U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n"
U_ITEM = ("10|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
          "20|Heat (1995)|15-Dec-1995||http://y|0|1|0|0|0|0|1|0|0|0|0|0|0|0|0|0|1|0|0\n")


def _archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ml-100k/u.data", U_DATA)
        z.writestr("ml-100k/u.item", U_ITEM.encode("latin-1"))
        z.writestr("ml-100k/README", "test archive")
    return buf.getvalue()


ARCHIVE = _archive()
FILES = {"/ml-100k.zip": ARCHIVE, "/evil.zip": b"", "/notzip.zip": b"this is not a zip file"}


def _evil() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ml-100k/../../escape.txt", "x")
    return buf.getvalue()


FILES["/evil.zip"] = _evil()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = FILES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def test_good_checksum_writes_the_file(server: str, tmp_path: Path) -> None:
    target = download_file(f"{server}/ml-100k.zip", tmp_path / "a.zip", checksum=_md5(ARCHIVE))
    assert target.read_bytes() == ARCHIVE
    assert file_checksum(target, "md5") == _md5(ARCHIVE)
    assert list(tmp_path.iterdir()) == [target]


def test_bad_checksum_raises_and_leaves_no_file(server: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"expected 0000.*discarded"):
        download_file(f"{server}/ml-100k.zip", tmp_path / "a.zip", checksum="sha256:" + "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_address_is_a_not_found_error(server: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"cannot download .*404"):
        download_file(f"{server}/missing.zip", tmp_path / "a.zip", checksum=_md5(b""))
    assert list(tmp_path.iterdir()) == []


def test_bad_checksum_spec_and_scheme(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sha256:<hex>"):
        download_file("http://127.0.0.1:1/x", tmp_path / "a", checksum="abc")
    with pytest.raises(ConfigError, match="only http"):
        download_file("file:///etc/passwd", tmp_path / "a", checksum=_md5(b""))


def test_fetch_extracts_atomically_into_the_cache(server: str, tmp_path: Path) -> None:
    spec = Download(url=f"{server}/ml-100k.zip", checksum=_md5(ARCHIVE), target="movielens/ml-100k",
                    member_root="ml-100k")
    folder = fetch(spec, tmp_path)
    assert folder == tmp_path / "movielens" / "ml-100k"
    assert (folder / "u.data").read_text() == U_DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["movielens"]  # no temp files left
    assert fetch(spec, tmp_path) == folder  # already there: no second download


def test_fetch_with_bad_checksum_leaves_nothing(server: str, tmp_path: Path) -> None:
    spec = Download(url=f"{server}/ml-100k.zip", checksum=_md5(b"other"), target="movielens/ml-100k",
                    member_root="ml-100k")
    with pytest.raises(DataError):
        fetch(spec, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path,match", [("/notzip.zip", "not a valid zip"), ("/evil.zip", "unsafe path")])
def test_fetch_rejects_broken_or_unsafe_archives(server: str, tmp_path: Path, path: str, match: str) -> None:
    spec = Download(url=f"{server}{path}", checksum=_md5(FILES[path]), target="x", member_root="ml-100k")
    with pytest.raises(DataError, match=match):
        fetch(spec, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_load_dataset_downloads_only_when_allowed(server: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from discoverly.data.datasets import registry

    spec = registry.DATASETS["movielens-100k"]
    local = Download(url=f"{server}/ml-100k.zip", checksum=_md5(ARCHIVE), target="movielens/ml-100k",
                     member_root="ml-100k")
    monkeypatch.setitem(registry.DATASETS, "movielens-100k", type(spec)(**{**spec.__dict__, "download": local}))
    monkeypatch.delenv("DISCOVERLY_DATA_DIR", raising=False)
    cache = tmp_path / "cache"
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        load_dataset("movielens-100k", cache_dir=cache)
    assert not cache.exists()
    ds = load_dataset("movielens-100k", cache_dir=cache, download=True)
    assert len(ds.interactions) == 3 and ds.interactions.quantity.tolist() == [5, 3, 4]
    assert ds.titles([10, 20]) == ["Toy Story (1995)", "Heat (1995)"]
    # the second load finds the cached copy without the server
    monkeypatch.setitem(registry.DATASETS, "movielens-100k",
                        type(spec)(**{**spec.__dict__, "download": Download("http://127.0.0.1:1/x", _md5(b""), "y")}))
    assert len(load_dataset("movielens-100k", cache_dir=cache, download=True).interactions) == 3


@pytest.mark.parametrize("checksum", ["abc", "sha256", "crc32:abcd", "md5:", ":abcd", "SHA-256:" + "0" * 64])
def test_a_checksum_must_name_a_known_algorithm_and_a_digest(tmp_path: Path, checksum: str) -> None:
    with pytest.raises(ConfigError) as err:
        download_file("http://127.0.0.1:1/x", tmp_path / "a", checksum=checksum)
    assert str(err.value) == f"a checksum must look like 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}"
    assert list(tmp_path.iterdir()) == []


def test_checksums_in_upper_case_hex_and_of_every_algorithm_match(server: str, tmp_path: Path) -> None:
    for algo in ("md5", "sha1", "sha256"):
        digest = hashlib.new(algo, ARCHIVE).hexdigest()
        assert file_checksum(_write(tmp_path / f"{algo}.bin", ARCHIVE), algo) == f"{algo}:{digest}"
        target = download_file(f"{server}/ml-100k.zip", tmp_path / f"{algo}.zip", checksum=f"{algo}:{digest.upper()}")
        assert target.read_bytes() == ARCHIVE
        shouted = download_file(f"{server}/ml-100k.zip", tmp_path / f"{algo}-upper.zip",
                                checksum=f"{algo.upper()}:{digest}")  # the algorithm in capitals too
        assert shouted.read_bytes() == ARCHIVE
    assert file_checksum(tmp_path / "md5.bin") == "sha256:" + hashlib.sha256(ARCHIVE).hexdigest()  # the default
    big = bytes(range(256)) * 1000  # several read chunks
    assert file_checksum(_write(tmp_path / "big.bin", big), "md5") == _md5(big)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_the_download_errors_in_full(server: str, tmp_path: Path) -> None:
    url = f"{server}/ml-100k.zip"
    actual = hashlib.sha256(ARCHIVE).hexdigest()
    with pytest.raises(DataError) as err:
        download_file(url, tmp_path / "a.zip", checksum="sha256:" + "ab" * 32)
    assert str(err.value) == (f"the download of {url} has sha256 {actual}, expected {'ab' * 32}: the file is corrupt "
                              "or changed upstream, so it was discarded. Retry; if it persists, download it by hand "
                              "and check it")
    with pytest.raises(DatasetNotFoundError) as missing:
        download_file(f"{server}/missing.zip", tmp_path / "a.zip", checksum=_md5(b""))
    assert str(missing.value).startswith(f"cannot download {server}/missing.zip: HTTP Error 404")
    assert str(missing.value).endswith(". Check the network connection, or download the file by hand and point "
                                       "DISCOVERLY_DATA_DIR at its folder")
    with pytest.raises(ConfigError) as scheme:
        download_file("ftp://example.org/x.zip", tmp_path / "a.zip", checksum=_md5(b""))
    assert str(scheme.value) == "only http(s) addresses can be downloaded, got 'ftp://example.org/x.zip'"


def test_fetch_without_a_member_root_takes_the_whole_archive(server: str, tmp_path: Path) -> None:
    spec = Download(url=f"{server}/ml-100k.zip", checksum=_md5(ARCHIVE), target="ml/all")
    folder = fetch(spec, tmp_path)
    assert folder == tmp_path / "ml" / "all" and (folder / "ml-100k" / "u.data").read_text() == U_DATA
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml"]


def test_fetch_of_an_archive_without_the_member_root_says_so(server: str, tmp_path: Path) -> None:
    url = f"{server}/ml-100k.zip"
    spec = Download(url=url, checksum=_md5(ARCHIVE), target="movielens/ml-1m", member_root="ml-1m")
    with pytest.raises(DataError) as err:
        fetch(spec, tmp_path)
    assert str(err.value) == f"the archive from {url} has no folder 'ml-1m'"
    assert list(tmp_path.iterdir()) == []
    broken = Download(url=f"{server}/notzip.zip", checksum=_md5(FILES["/notzip.zip"]), target="x")
    with pytest.raises(DataError) as bad:
        fetch(broken, tmp_path)
    assert str(bad.value).startswith(f"the download of {server}/notzip.zip is not a valid zip archive: ")


def test_an_unsafe_archive_names_the_path(server: str, tmp_path: Path) -> None:
    spec = Download(url=f"{server}/evil.zip", checksum=_md5(FILES["/evil.zip"]), target="x")
    with pytest.raises(DataError) as err:
        fetch(spec, tmp_path)
    assert str(err.value) == "the archive holds an unsafe path 'ml-100k/../../escape.txt'; refusing to extract it"
    assert not (tmp_path.parent / "escape.txt").exists()


def test_an_http_error_closes_its_connection(server: str, tmp_path: Path) -> None:
    # a 404 response came back inside the error with its socket open: a ResourceWarning whenever it was collected
    import urllib.error

    with pytest.raises(DatasetNotFoundError) as err:
        download_file(f"{server}/missing.zip", tmp_path / "a.zip", checksum=_md5(b""))
    cause = err.value.__cause__
    assert isinstance(cause, urllib.error.HTTPError) and cause.code == 404
    assert cause.fp is None or cause.fp.closed

"""Datasets: the bundled digits split, and the readers on small files in the released formats."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest
import torch

import zoo
from zoo import data as zd
from zoo.builtin import datasets as bd


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- digits --------------------------------------------------------------------------------------


def test_digits_splits_are_fixed_disjoint_and_complete():
    sizes = {s: len(zd.load_dataset("digits", s)) for s in zd.SPLITS}
    assert sizes == {"train": 1257, "val": 180, "test": 360}
    _, _, parts = bd._digits_arrays()
    union = np.concatenate([parts[s] for s in zd.SPLITS])
    assert sorted(union.tolist()) == list(range(1797))


def test_digits_contract_and_determinism():
    a = zd.load_dataset("digits", "train")
    b = zd.load_dataset("digits", "train")
    assert a.images.dtype == torch.uint8 and a.shape == (1, 8, 8) and a.levels == 17
    assert a.labels.dtype == torch.int64 and a.labels.shape == (1257,)
    assert int(a.images.max()) == 16 and int(a.images.min()) == 0
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    # the test split is the first 360 of the documented RandomState(0) permutation
    from sklearn.datasets import load_digits

    bunch = load_digits()
    raw = bunch.images.astype(np.uint8)
    assert torch.equal(
        zd.load_dataset("digits", "test").labels,
        torch.from_numpy(bunch.target[np.sort(np.random.RandomState(0).permutation(1797)[:360])]),
    )
    test_idx = np.sort(np.random.RandomState(0).permutation(1797)[:360])
    assert torch.equal(zd.load_dataset("digits", "test").images[:, 0], torch.from_numpy(raw[test_idx]))


def test_digits_binarized_threshold():
    grey = zd.load_dataset("digits", "val")
    binary = zd.load_dataset("digits-binarized", "val")
    assert binary.levels == 2 and binary.images.dtype == torch.uint8
    assert torch.equal(binary.images, (grey.images >= 8).to(torch.uint8))
    assert torch.equal(binary.labels, grey.labels)


def test_load_dataset_errors_and_limit():
    with pytest.raises(zoo.UnknownNameError, match="did you mean 'digits'"):
        zd.load_dataset("digit")
    with pytest.raises(zoo.DatasetError, match="unknown split 'valid'"):
        zd.load_dataset("digits", "valid")
    with pytest.raises(zoo.DatasetError, match="no option 'dynamic'"):
        zd.load_dataset("digits", dynamic=True)
    small = zd.load_dataset("digits", "train", limit=10)
    assert len(small) == 10 and small.labels.shape == (10,)


def test_imageset_rejects_bad_tensors():
    with pytest.raises(zoo.DatasetError, match="uint8"):
        zd.ImageSet(torch.zeros(2, 1, 4, 4), None, 2, "x", "train")
    with pytest.raises(zoo.DatasetError, match="out of range for levels=2"):
        zd.ImageSet(torch.full((2, 1, 4, 4), 2, dtype=torch.uint8), None, 2, "x", "train")


def test_data_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    assert zd.data_dir() == tmp_path


def test_download_unknown_name_is_clear():
    with pytest.raises(zoo.DatasetError, match="ships with scikit-learn"):
        zd.download("digits")


# -- MNIST IDX ------------------------------------------------------------------------------------


def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_mnist(root, n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    folder = root / "mnist"
    folder.mkdir(parents=True)
    arrays = {
        "train-images": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels": rng.integers(0, 10, n_train),
        "test-images": rng.integers(0, 256, (n_test, 28, 28)),
        "test-labels": rng.integers(0, 10, n_test),
    }
    for key, arr in arrays.items():
        (folder / bd.MNIST_FILES[key]).write_bytes(gzip.compress(idx_bytes(arr)))
    return arrays


def test_mnist_reads_released_idx_format(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "MNIST_VAL", 4)
    arrays = write_mnist(tmp_path)
    train = zd.load_dataset("mnist", "train", root=tmp_path)
    val = zd.load_dataset("mnist", "val", root=tmp_path)
    test = zd.load_dataset("mnist", "test", root=tmp_path)
    assert (len(train), len(val), len(test)) == (8, 4, 5)
    assert train.shape == (1, 28, 28) and train.levels == 256 and train.images.dtype == torch.uint8
    assert np.array_equal(train.images[:, 0].numpy(), arrays["train-images"][:8])
    assert np.array_equal(val.images[:, 0].numpy(), arrays["train-images"][8:])
    assert np.array_equal(test.labels.numpy(), arrays["test-labels"])


def test_mnist_missing_file_says_where_and_how(tmp_path):
    with pytest.raises(zoo.DatasetError) as err:
        zd.load_dataset("mnist", "test", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz") in msg
    assert "`zoo download mnist`" in msg and "zoo.data.download('mnist')" in msg and "http" in msg


def test_idx_truncated_payload_and_gzip(tmp_path):
    whole = idx_bytes(np.zeros((3, 28, 28)))
    short = tmp_path / "short-idx3-ubyte.gz"
    short.write_bytes(gzip.compress(whole[:-10]))
    with pytest.raises(zoo.DatasetError, match="truncated: 2342 data bytes"):
        bd.read_idx(short)
    cut = tmp_path / "cut-idx3-ubyte.gz"
    cut.write_bytes(gzip.compress(whole)[:30])
    with pytest.raises(zoo.DatasetError, match="truncated or corrupt gzip"):
        bd.read_idx(cut)
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 8)
    with pytest.raises(zoo.DatasetError, match="not unsigned byte"):
        bd.read_idx(bad)


def test_idx_truncated_in_loader_names_file(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "MNIST_VAL", 4)
    write_mnist(tmp_path)
    path = tmp_path / "mnist" / bd.MNIST_FILES["test-labels"]
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(5))[:-2]))
    with pytest.raises(zoo.DatasetError, match="t10k-labels-idx1-ubyte.gz: truncated"):
        zd.load_dataset("mnist", "test", root=tmp_path)


# -- binarized MNIST ------------------------------------------------------------------------------


def amat_text(rows: np.ndarray) -> str:
    return "".join(" ".join(str(v) for v in row) + "\n" for row in rows)


def test_binarized_mnist_static_reads_amat(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "AMAT_ROWS", {"train": 3, "val": 2, "test": 2})
    rng = np.random.default_rng(1)
    folder = tmp_path / "binarized-mnist"
    folder.mkdir()
    rows = {}
    for split, filename in bd.AMAT_FILES.items():
        rows[split] = rng.integers(0, 2, (bd.AMAT_ROWS[split], 784))
        (folder / filename).write_text(amat_text(rows[split]))
    for split in zd.SPLITS:
        d = zd.load_dataset("binarized-mnist", split, root=tmp_path)
        assert d.levels == 2 and d.shape == (1, 28, 28) and d.labels is None
        assert np.array_equal(d.images.reshape(len(d), 784).numpy(), rows[split])


def test_amat_truncated_and_malformed(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "AMAT_ROWS", {"train": 3, "val": 2, "test": 2})
    folder = tmp_path / "binarized-mnist"
    folder.mkdir()
    text = amat_text(np.ones((2, 784), dtype=int))
    path = folder / bd.AMAT_FILES["test"]
    path.write_text(text[:-100])  # cut inside the last line
    with pytest.raises(zoo.DatasetError, match="every line must have 784 values"):
        zd.load_dataset("binarized-mnist", "test", root=tmp_path)
    path.write_text(text.split("\n")[0] + "\n")  # cut at a line boundary: one row of two
    with pytest.raises(zoo.DatasetError, match="1 images, expected 2"):
        zd.load_dataset("binarized-mnist", "test", root=tmp_path)
    path.write_text(text.replace("1", "2", 1))
    with pytest.raises(zoo.DatasetError, match="unexpected character '2'"):
        zd.load_dataset("binarized-mnist", "test", root=tmp_path)
    with pytest.raises(zoo.DatasetError, match=r"binarized_mnist_valid.amat not found.*download\('binarized-mnist'\)"):
        zd.load_dataset("binarized-mnist", "val", root=tmp_path)


def test_binarized_mnist_dynamic_resamples_each_epoch(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "MNIST_VAL", 4)
    arrays = write_mnist(tmp_path, n_train=40)
    train = zd.load_dataset("binarized-mnist", "train", root=tmp_path, dynamic=True, seed=3)
    again = zd.load_dataset("binarized-mnist", "train", root=tmp_path, dynamic=True, seed=3)
    e0, e1 = train.epoch_images(0), train.epoch_images(1)
    assert train.levels == 2 and e0.dtype == torch.uint8 and e0.shape == (36, 1, 28, 28)
    assert torch.equal(e0, train.images) and not torch.equal(e0, e1)
    assert torch.equal(e1, again.epoch_images(1))  # seeded: the same draw in another process/run
    grey = torch.from_numpy(arrays["train-images"][:36]).float() / 255
    assert (
        abs(float(torch.stack([train.epoch_images(e)[:, 0].float() for e in range(6)]).mean()) - float(grey.mean()))
        < 0.02
    )
    assert (e0[:, 0][grey == 0] == 0).all() and (e0[:, 0][grey == 1] == 1).all()
    val = zd.load_dataset("binarized-mnist", "val", root=tmp_path, dynamic=True, seed=3)
    assert val.resample is None and len(val) == 4
    limited = zd.load_dataset("binarized-mnist", "train", root=tmp_path, dynamic=True, seed=3, limit=5)
    assert torch.equal(limited.epoch_images(1), e1[:5])


# -- CIFAR-10 binary --------------------------------------------------------------------------------


def write_cifar(root, records=3):
    rng = np.random.default_rng(2)
    folder = root / "cifar10"
    folder.mkdir(parents=True)
    out = {}
    for filename in bd.CIFAR_FILES:
        labels = rng.integers(0, 10, records).astype(np.uint8)
        pixels = rng.integers(0, 256, (records, 3072)).astype(np.uint8)
        (folder / filename).write_bytes(np.concatenate([labels[:, None], pixels], 1).tobytes())
        out[filename] = (labels, pixels)
    return out


def test_cifar10_reads_binary_version(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "CIFAR_RECORDS", 3)
    monkeypatch.setattr(bd, "CIFAR_VAL", 2)
    written = write_cifar(tmp_path)
    train = zd.load_dataset("cifar10", "train", root=tmp_path)
    val = zd.load_dataset("cifar10", "val", root=tmp_path)
    test = zd.load_dataset("cifar10", "test", root=tmp_path)
    assert (len(train), len(val), len(test)) == (13, 2, 3)
    assert train.shape == (3, 32, 32) and train.levels == 256
    labels, pixels = written["data_batch_1.bin"]
    # record layout: label byte, then the red, green and blue 32x32 planes, row-major
    assert np.array_equal(train.images[0, 0].numpy(), pixels[0, :1024].reshape(32, 32))
    assert np.array_equal(train.images[0, 2].numpy(), pixels[0, 2048:].reshape(32, 32))
    assert train.labels[:3].tolist() == labels.tolist()
    assert np.array_equal(val.images.reshape(2, -1).numpy(), written["data_batch_5.bin"][1][1:])


def test_cifar10_truncated_and_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "CIFAR_RECORDS", 3)
    write_cifar(tmp_path)
    path = tmp_path / "cifar10" / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(zoo.DatasetError, match="not a whole number of 3073-byte records"):
        zd.load_dataset("cifar10", "test", root=tmp_path)
    path.write_bytes(path.read_bytes()[: 2 * 3073])
    with pytest.raises(zoo.DatasetError, match="2 records, expected 3"):
        zd.load_dataset("cifar10", "test", root=tmp_path)
    (tmp_path / "cifar10" / "data_batch_3.bin").unlink()
    with pytest.raises(zoo.DatasetError, match=r"data_batch_3.bin not found, expected at .*cifar-10-binary"):
        zd.load_dataset("cifar10", "train", root=tmp_path)


# -- download (from a local HTTP server standing in for the release sites) -------------------------


@pytest.fixture
def local_site(tmp_path):
    import functools
    import http.server
    import threading

    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield site, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_download_fetches_checks_and_extracts(tmp_path, monkeypatch, local_site):
    import io
    import tarfile

    site, url = local_site
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # talk to the local server directly
    monkeypatch.setattr(bd, "MNIST_VAL", 4)
    monkeypatch.setattr(bd, "CIFAR_RECORDS", 3)
    monkeypatch.setattr(bd, "CIFAR_VAL", 2)
    monkeypatch.setattr(bd, "AMAT_ROWS", {"train": 2, "val": 2, "test": 2})
    # MNIST: the first mirror is down, the second serves the files
    arrays = write_mnist(site)
    for filename in bd.MNIST_FILES.values():
        (site / filename).write_bytes((site / "mnist" / filename).read_bytes())
    monkeypatch.setattr(bd, "MNIST_MIRRORS", (url + "missing/", url))
    # binarized MNIST: the three .amat files
    for filename in bd.AMAT_FILES.values():
        (site / filename).write_text(amat_text(np.eye(2, 784, dtype=int)))
    monkeypatch.setattr(bd, "AMAT_URL", url)
    # CIFAR-10: the released archive holds cifar-10-batches-bin/*.bin
    written = write_cifar(site / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for filename in bd.CIFAR_FILES:
            tar.add(site / "src" / "cifar10" / filename, arcname=f"cifar-10-batches-bin/{filename}")
    (site / "cifar-10-binary.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setattr(bd, "CIFAR_URL", url + "cifar-10-binary.tar.gz")
    # the pins of the released files, for these stand-ins (MNIST's are of the decompressed bytes)
    monkeypatch.setattr(
        bd, "MNIST_SHA256", {f: sha256(gzip.decompress((site / f).read_bytes())) for f in bd.MNIST_SHA256}
    )
    monkeypatch.setattr(bd, "AMAT_SHA256", {f: sha256((site / f).read_bytes()) for f in bd.AMAT_SHA256})
    monkeypatch.setattr(bd, "CIFAR_SHA256", sha256((site / "cifar-10-binary.tar.gz").read_bytes()))

    root = tmp_path / "data"
    for name in ("mnist", "binarized-mnist", "cifar10"):
        assert zd.download(name, root=root) == root / name
    assert np.array_equal(zd.load_dataset("mnist", "test", root=root).labels.numpy(), arrays["test-labels"])
    assert len(zd.load_dataset("binarized-mnist", "val", root=root)) == 2
    test = zd.load_dataset("cifar10", "test", root=root)
    assert test.labels.tolist() == written["test_batch.bin"][0].tolist()
    assert not (root / "cifar10" / "cifar-10-binary.tar.gz").exists()

    monkeypatch.setattr(bd, "MNIST_MIRRORS", (url + "missing/",))
    with pytest.raises(zoo.DatasetError, match="could not download train-images-idx3-ubyte.gz: .*404"):
        zd.download("mnist", root=tmp_path / "other")


def test_a_plugin_dataset_brings_its_own_download(tmp_path):
    """``register(..., download=fn)``: ``zoo download NAME`` runs the plugin's function in data_dir()/NAME."""
    calls = []

    def fetch_squares(folder, force):
        calls.append((folder, force))
        (folder / "squares.bin").write_bytes(b"\x00\x01")

    class Squares:
        @zoo.hookimpl
        def zoo_register_datasets(self, register):
            register("squares", lambda split: None, description="two pixels", download=fetch_squares)
            register("squares-bad", lambda split: None, download="https://example.org/squares")

    zoo.register_plugin(Squares(), "squares-plugin")
    try:
        assert zd.download("squares", root=tmp_path, force=True) == tmp_path / "squares"
        assert calls == [(tmp_path / "squares", True)] and (tmp_path / "squares" / "squares.bin").is_file()
        record = next(p for p in zoo.plugins() if p["name"] == "squares-plugin")
        assert any("download must be callable" in e for e in record["errors"])
        with pytest.raises(zoo.DatasetError, match="no download for dataset 'digits'.*downloadable: .*squares"):
            zd.download("digits")
    finally:
        zoo.unregister_plugin("squares-plugin")


# -- bounded bytes: dataset files and downloads ----------------------------------------------------


def test_a_gzip_bomb_costs_what_its_idx_header_promises(tmp_path):
    """10 bytes promised, 64 MB inflated: the read stops one byte past the promise, in one line."""
    import time
    import tracemalloc

    bomb = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bomb.write_bytes(gzip.compress(idx_bytes(np.zeros(10)) + bytes(64 << 20), compresslevel=1))
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(zoo.DatasetError, match=r"holds more than the 18 bytes its format allows"):
        bd.read_idx(bomb)
    seconds, (_, peak) = time.perf_counter() - start, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 << 20 and seconds < 2, (peak, seconds)


@pytest.mark.parametrize(
    "head, message",
    [
        (b"", "bad magic number"),
        (bytes([0, 0, 8]), "bad magic number"),
        (bytes([1, 0, 8, 1]) + struct.pack(">I", 1), "bad magic number"),
        (bytes([0, 0, 0x0D, 1]) + struct.pack(">I", 1), "element type 0x0d is not unsigned byte"),
        (bytes([0, 0, 8, 0]), "declares 0 dimensions"),
        (bytes([0, 0, 8, 3]) + struct.pack(">I", 5), r"truncated IDX header \(3 dimensions declared\)"),
        (bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1), "more than the 1,073,741,824"),
        (bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + b"ab", "truncated: 2 data bytes"),
    ],
)
def test_malformed_idx_headers_are_one_line(tmp_path, head, message):
    for path, data in ((tmp_path / "x-idx1-ubyte", head), (tmp_path / "x-idx1-ubyte.gz", gzip.compress(head))):
        path.write_bytes(data)
        with pytest.raises(zoo.DatasetError, match=message) as info:
            bd.read_idx(path)
        assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_file_that_is_not_gzip_is_one_line(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(zoo.DatasetError, match="truncated or corrupt gzip file"):
        bd.read_idx(path)


def test_mirrors_are_https_and_every_download_is_pinned():
    urls = [*bd.MNIST_MIRRORS, bd.AMAT_URL, bd.CIFAR_URL]
    assert all(u.startswith("https://") for u in urls), urls
    assert set(bd.MNIST_SHA256) == set(bd.MNIST_FILES.values()) and set(bd.AMAT_SHA256) == set(bd.AMAT_FILES.values())
    assert all(len(h) == 64 for h in [*bd.MNIST_SHA256.values(), *bd.AMAT_SHA256.values(), bd.CIFAR_SHA256])


def test_the_mnist_pins_match_real_mnist(monkeypatch):
    """The pinned decompressed sha256s are those of the real MNIST files beside this checkout, if there."""
    from pathlib import Path

    real = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
    real = real if real.is_dir() else Path("/work/shared/data/mnist")
    if not real.is_dir():
        pytest.skip("no real MNIST beside this checkout")
    for filename, expected in bd.MNIST_SHA256.items():
        assert bd._content_sha256(real / filename, "") == expected, filename


@pytest.fixture
def slow_site(monkeypatch):
    """A local server whose paths misbehave: /hang accepts and never answers, /trickle sends a byte a second,
    /big announces and sends 2 MB; anything else is 200 with b"hello"."""
    import socket
    import threading
    import time

    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn):
        with conn:
            conn.settimeout(10)
            request = conn.recv(4096).decode(errors="replace")
            path = request.split(" ")[1] if " " in request else "/"
            try:
                if path == "/hang":
                    stop.wait(10)
                elif path == "/trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                    while not stop.wait(0.2):
                        conn.sendall(b"x")
                elif path == "/big":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 << 20) + bytes(2 << 20))
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            except OSError:
                pass

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    time.sleep(0)


def test_fetch_streams_and_checks_a_sha256(tmp_path, slow_site):
    zd.fetch([slow_site + "/ok"], tmp_path / "a.bin", sha256=sha256(b"hello"))
    assert (tmp_path / "a.bin").read_bytes() == b"hello"
    with pytest.raises(zoo.DatasetError, match=r"b.bin: .*/ok: sha256 [0-9a-f]{64}, expected 0{64}"):
        zd.fetch([slow_site + "/ok"], tmp_path / "b.bin", sha256="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]  # nothing half-written is left


def test_fetch_refuses_plain_http_from_another_machine(tmp_path):
    with pytest.raises(zoo.DatasetError, match=r"http://example.org/x: refused \(only https://"):
        zd.fetch(["http://example.org/x"], tmp_path / "x")


def test_fetch_caps_the_size(tmp_path, slow_site):
    with pytest.raises(zoo.DatasetError, match=r"announces 2,097,152 bytes, more than the 1,000 expected"):
        zd.fetch([slow_site + "/big"], tmp_path / "big", max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path, message", [("/hang", "no data for 0.5 s"), ("/trickle", "below the minimum of 100")])
def test_fetch_ends_on_a_silent_or_trickling_server(tmp_path, slow_site, monkeypatch, path, message):
    import time

    monkeypatch.setenv("ZOO_DOWNLOAD_TIMEOUT", "3")
    monkeypatch.setenv("ZOO_DOWNLOAD_MIN_RATE", "100")
    monkeypatch.setenv("ZOO_DOWNLOAD_RATE_WINDOW", "0.5")
    start = time.monotonic()
    with pytest.raises(zoo.DatasetError, match=message):
        zd.fetch([slow_site + path], tmp_path / "f")
    assert time.monotonic() - start < 3
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_during_a_download_is_reported_as_a_full_disk(tmp_path, slow_site, monkeypatch):
    import errno
    import os

    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(zd.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(zoo.DatasetError, match=r"f.bin: cannot write the download \(No space left on device\)"):
        zd.fetch([slow_site + "/ok", slow_site + "/other"], tmp_path / "f.bin")
    assert list(tmp_path.iterdir()) == []

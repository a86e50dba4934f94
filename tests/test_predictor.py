"""Model adapters: every accepted model form, refusals, shapes, exactness, threads."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from helpers import optional_module

from fastjoin.errors import ConfigError, ModelError, OutputError
from fastjoin.predictor import (
    ContainerModel,
    Predictor,
    XGBoostPredictor,
    available_cores,
    load_model,
)

xgb = optional_module("xgboost")  # None without xgboost: the tests that use it are marked requires_xgboost

N_FEATURES = 4


def _features(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    X[::7, 1] = np.nan  # missing values
    X[::5, 2] = 0.0  # zeros are values, not missing
    return X


def _train(params: dict, y: np.ndarray, X: np.ndarray, rounds: int = 5) -> xgb.Booster:
    return xgb.train(
        {"nthread": 1, "seed": 0, "max_depth": 3, **params}, xgb.DMatrix(X, label=y), num_boost_round=rounds
    )


@pytest.fixture(scope="module")
def models():
    X = _features(80, 0)
    rng = np.random.default_rng(1)
    y_bin = (np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) > 0).astype(np.float32)
    y_cls = rng.integers(0, 3, size=len(X))
    return {
        "X": X,
        "binary": _train({"objective": "binary:logistic"}, y_bin, X),
        "softprob": _train({"objective": "multi:softprob", "num_class": 3}, y_cls, X),
        "softmax": _train({"objective": "multi:softmax", "num_class": 3}, y_cls, X),
        "multitarget": _train({"objective": "reg:squarederror"}, rng.normal(size=(len(X), 2)), X),
    }


@pytest.fixture
def batch() -> np.ndarray:
    return np.ascontiguousarray(_features(33, 2))


def _reference(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    return booster.predict(xgb.DMatrix(X))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


# --- model forms -----------------------------------------------------------------------------


@pytest.mark.requires_xgboost
def test_booster_predictions_equal_dmatrix_predict(models, batch):
    p = load_model(models["binary"])
    assert isinstance(p, XGBoostPredictor) and isinstance(p, Predictor)
    assert p.n_features == N_FEATURES and p.n_outputs == 1
    out = p.predict(batch)
    assert out.dtype == np.float32 and out.shape == (len(batch),)
    assert np.array_equal(out, _reference(models["binary"], batch))


@pytest.mark.requires_xgboost
def test_booster_is_copied_not_mutated(models):
    booster = models["binary"]
    before = json.loads(booster.save_config())["learner"]["generic_param"]["nthread"]
    p = load_model(booster, nthread=2)
    assert p.booster is not booster
    assert json.loads(booster.save_config())["learner"]["generic_param"]["nthread"] == before


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("fmt", ["json", "ubj"])
def test_model_file(models, batch, tmp_path, fmt):
    path = tmp_path / f"model.{fmt}"
    models["binary"].save_model(str(path))
    for model in (path, str(path)):
        p = load_model(model)
        assert np.array_equal(p.predict(batch), _reference(models["binary"], batch))


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "fmt,name", [("ubj", "model.json"), ("json", "model.ubj"), ("json", "model.bin"), ("ubj", "weights")]
)
def test_format_detected_from_bytes_not_extension(models, batch, tmp_path, fmt, name):
    path = _write(tmp_path / name, bytes(models["softprob"].save_raw(fmt)))
    p = load_model(path)
    assert p.n_outputs == 3
    assert np.array_equal(p.predict(batch), _reference(models["softprob"], batch))


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("mode", ["w:gz", "w"])
@pytest.mark.parametrize("member", ["xgboost-model", "./xgboost-model"])
def test_model_tar_gz(models, batch, tmp_path, mode, member):
    raw = bytes(models["binary"].save_raw("ubj"))
    # a decoy model file beside xgboost-model: xgboost-model wins
    path = _tar(tmp_path / "model.tar.gz", {member: raw, "other.json": b"{}"}, mode)
    p = load_model(path)
    assert np.array_equal(p.predict(batch), _reference(models["binary"], batch))


@pytest.mark.requires_xgboost
def test_tar_with_one_model_file(models, batch, tmp_path):
    raw = bytes(models["binary"].save_raw("json"))
    path = _tar(tmp_path / "model.tar.gz", {"README.txt": b"hi", "model.json": raw})
    assert np.array_equal(load_model(path).predict(batch), _reference(models["binary"], batch))


def test_tar_without_model(tmp_path):
    path = _tar(tmp_path / "model.tar.gz", {"README.txt": b"hi"})
    with pytest.raises(ModelError, match="no xgboost-model.*README.txt"):
        load_model(path)


@pytest.mark.requires_xgboost
def test_tar_with_two_model_files(models, tmp_path):
    raw = bytes(models["binary"].save_raw("json"))
    path = _tar(tmp_path / "model.tar.gz", {"a.json": raw, "b.ubj": raw})
    with pytest.raises(ModelError, match=r"2 model files \(a.json, b.ubj\)"):
        load_model(path)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("bad", ["../xgboost-model", "/etc/xgboost-model", "a/../../x.json"])
def test_tar_with_unsafe_member_refused(models, tmp_path, bad):
    raw = bytes(models["binary"].save_raw("json"))
    path = _tar(tmp_path / "model.tar.gz", {"xgboost-model": raw, bad: raw})
    with pytest.raises(ModelError, match="unsafe member"):
        load_model(path)


def test_corrupt_gzip(tmp_path):
    path = _write(tmp_path / "model.tar.gz", b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(ModelError, match="cannot be read"):
        load_model(path)


@pytest.mark.requires_xgboost
def test_directory(models, batch, tmp_path):
    (tmp_path / "xgboost-model").write_bytes(bytes(models["binary"].save_raw("ubj")))
    (tmp_path / "notes.txt").write_text("x")
    assert np.array_equal(load_model(tmp_path).predict(batch), _reference(models["binary"], batch))


@pytest.mark.requires_xgboost
def test_directory_with_one_model_file(models, batch, tmp_path):
    models["softprob"].save_model(str(tmp_path / "clf.ubj"))
    assert load_model(tmp_path).predict(batch).shape == (len(batch), 3)


def test_empty_directory(tmp_path):
    with pytest.raises(ModelError, match="no xgboost-model"):
        load_model(tmp_path)


@pytest.mark.requires_xgboost
def test_sklearn_model_object(batch):
    clf = xgb.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1, random_state=0)
    X = _features(50, 5)
    clf.fit(X, (np.nan_to_num(X[:, 0]) > 0).astype(int))
    p = load_model(clf)
    assert np.array_equal(p.predict(batch), _reference(clf.get_booster(), batch))


# --- container callables ---------------------------------------------------------------------


def test_container_callable():
    calls = []

    def container(body: bytes, content_type: str, accept: str) -> bytes:
        calls.append((body, content_type, accept))
        return b"0.5\n" * body.count(b"\n")

    m = load_model(container)
    assert isinstance(m, ContainerModel) and m.fn is container
    assert m.invoke(b"1,2\n3,4\n", "text/csv", "text/csv") == b"0.5\n0.5\n"
    assert calls == [(b"1,2\n3,4\n", "text/csv", "text/csv")]
    assert load_model(m) is m


def test_container_callable_returning_text_is_an_output_error():
    m = load_model(lambda body, ct, accept: "0.5\n")
    with pytest.raises(OutputError, match=r"returned str, expected bytes.*encode"):
        m.invoke(b"1\n", "text/csv", "text/csv")


def test_container_callable_returning_bytearray():
    m = load_model(lambda body, ct, accept: bytearray(b"1.0\n"))
    assert m.invoke(b"1\n", "text/csv", "text/csv") == b"1.0\n"


def test_unsupported_model_type():
    with pytest.raises(ModelError, match="cannot use a int as a model"):
        load_model(42)


# --- pickles ---------------------------------------------------------------------------------


@pytest.mark.requires_xgboost
def test_pickle_refused_with_explanation(models, tmp_path):
    path = _write(tmp_path / "model.json", pickle.dumps(models["binary"]))
    with pytest.raises(ModelError) as info:
        load_model(path)
    text = str(info.value)
    assert str(path) in text and "arbitrary code" in text
    assert 'save_model("model.json")' in text and "allow_pickle=True" in text


@pytest.mark.requires_xgboost
def test_pickle_refused_inside_tar_and_directory(models, tmp_path):
    raw = pickle.dumps(models["binary"])
    with pytest.raises(ModelError, match="xgboost-model is a Python pickle"):
        load_model(_tar(tmp_path / "model.tar.gz", {"xgboost-model": raw}))
    d = tmp_path / "dir"
    d.mkdir()
    (d / "xgboost-model").write_bytes(raw)
    with pytest.raises(ModelError, match="arbitrary code"):
        load_model(d)


@pytest.mark.requires_xgboost
def test_pickle_allowed(models, batch, tmp_path):
    path = _tar(tmp_path / "model.tar.gz", {"xgboost-model": pickle.dumps(models["binary"])})
    p = load_model(path, allow_pickle=True)
    assert np.array_equal(p.predict(batch), _reference(models["binary"], batch))


@pytest.mark.requires_xgboost
def test_pickled_sklearn_model_allowed(batch, tmp_path):
    clf = xgb.XGBRegressor(n_estimators=3, max_depth=2, n_jobs=1, random_state=0)
    X = _features(50, 6)
    clf.fit(X, np.nan_to_num(X[:, 0]))
    path = _write(tmp_path / "xgboost-model", pickle.dumps(clf))
    p = load_model(path, allow_pickle=True)
    assert np.array_equal(p.predict(batch), _reference(clf.get_booster(), batch))


@pytest.mark.requires_xgboost
def test_pickle_of_something_else(tmp_path):
    path = _write(tmp_path / "m.pkl", pickle.dumps({"not": "a model"}))
    with pytest.raises(ModelError, match="unpickles to a dict"):
        load_model(path, allow_pickle=True)


# --- bad files -------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope" / "model.json"
    with pytest.raises(ModelError, match="model not found") as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert not isinstance(info.value, FileNotFoundError)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("data", [b"this is not a model", b"binf" + b"\x00" * 64, b'{"a": 1}'])
def test_garbage_file(tmp_path, data):
    path = _write(tmp_path / "model.json", data)
    with pytest.raises(ModelError, match="not an XGBoost model") as info:
        load_model(path)
    assert isinstance(info.value.__cause__, ModelError)  # libxgboost's own message
    assert "/workspace/src" not in str(info.value)  # XGBoost's C++ location is stripped


def test_empty_file(tmp_path):
    # XGBoost itself aborts the process on an empty buffer: must be caught before it.
    with pytest.raises(ModelError, match="empty"):
        load_model(_write(tmp_path / "model.json", b""))


@pytest.mark.requires_xgboost
def test_missing_xgboost_is_a_model_error(models, tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    models["binary"].save_model(str(path))
    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes `import xgboost` fail
    monkeypatch.setattr("fastjoin.libxgboost._lib", None)  # and finding libxgboost
    with pytest.raises(ModelError, match=r'pip install "fastjoin\[xgboost\]".*xgboost-cpu'):
        load_model(path)
    assert isinstance(load_model(lambda b, c, a: b), ContainerModel)


def test_import_does_not_import_xgboost():
    code = (
        "import sys, fastjoin.predictor, fastjoin.demo\n"
        "assert 'xgboost' not in sys.modules, 'xgboost imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


# --- features, shapes, threads ---------------------------------------------------------------


@pytest.mark.requires_xgboost
def test_check_features_message(models):
    p = load_model(models["binary"])
    p.check_features(N_FEATURES)
    with pytest.raises(
        ModelError,
        match="the input filter selects 5 features but the model "
        r"expects 4 \(is the first column an id",
    ):
        p.check_features(5)
    with pytest.raises(ModelError, match="selects 1 feature but the model expects 4$"):
        p.check_features(1)


@pytest.mark.requires_xgboost
def test_predict_with_wrong_width(models):
    p = load_model(models["binary"])
    with pytest.raises(ModelError, match="selects 3 features but the model expects 4"):
        p.predict(np.zeros((2, 3), dtype=np.float32))


@pytest.mark.requires_xgboost
def test_multi_softprob(models, batch):
    p = load_model(models["softprob"])
    assert p.n_outputs == 3
    out = p.predict(batch)
    assert out.dtype == np.float32 and out.shape == (len(batch), 3)
    assert np.array_equal(out, _reference(models["softprob"], batch))
    assert p.predict(batch[:1]).shape == (1, 3)  # one row is not squeezed
    assert p.predict(batch[:0]).shape == (0, 3)


@pytest.mark.requires_xgboost
def test_multi_softmax_has_one_output(models, batch):
    p = load_model(models["softmax"])
    assert p.n_outputs == 1
    out = p.predict(batch)
    assert out.shape == (len(batch),)
    assert np.array_equal(out, _reference(models["softmax"], batch))


@pytest.mark.requires_xgboost
def test_multi_target(models, batch):
    p = load_model(models["multitarget"])
    assert p.n_outputs == 2
    assert np.array_equal(p.predict(batch), _reference(models["multitarget"], batch))


@pytest.mark.requires_xgboost
def test_one_row_and_empty_batch(models, batch):
    p = load_model(models["binary"])
    assert p.predict(batch[:1]).shape == (1,)
    empty = p.predict(np.empty((0, N_FEATURES), dtype=np.float32))
    assert empty.shape == (0,) and empty.dtype == np.float32


@pytest.mark.requires_xgboost
def test_nthread(models, tmp_path):
    def threads(p: XGBoostPredictor) -> int:
        return int(json.loads(p.booster.save_config())["learner"]["generic_param"]["nthread"])

    assert threads(load_model(models["binary"], nthread=3)) == 3
    path = tmp_path / "m.json"
    models["binary"].save_model(str(path))
    p = load_model(path)
    assert p.nthread == available_cores() and threads(p) == p.nthread
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="nthread"):
            load_model(models["binary"], nthread=bad)


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "make",
    [
        lambda X: X.astype(np.float64),
        lambda X: np.asfortranarray(X),
        lambda X: X[:, ::-1],
        lambda X: X[:, 0],
        lambda X: X.tolist(),
    ],
)
def test_predict_rejects_unprepared_input(models, batch, make):
    p = load_model(models["binary"])
    with pytest.raises(TypeError, match="C-contiguous float32 2-D"):
        p.predict(make(batch))


# --- demo ------------------------------------------------------------------------------------


@pytest.mark.requires_xgboost
def test_make_seed_files(tmp_path):
    from fastjoin.demo import make_seed_files

    model_path, batch_path = make_seed_files(tmp_path / "seed")
    assert (model_path.name, batch_path.name) == ("model.json", "batch.csv")
    lines = batch_path.read_text().splitlines()
    assert len(lines) == 569
    fields = [line.split(",") for line in lines]
    assert all(len(f) == 31 for f in fields)
    assert [int(f[0]) for f in fields] == list(range(842302, 842302 + 569))
    assert lines[0].startswith("842302,17.99,10.38,122.8,1001.0,")  # pandas keeps 1001.0
    p = load_model(model_path)
    assert p.n_features == 30 and p.n_outputs == 1
    X = np.array([[float(v) for v in f[1:]] for f in fields], dtype=np.float32)
    probs = p.predict(X)
    assert probs[0] > 0.9  # row 842302 is malignant (label 1), as in the notebook

    stamp = model_path.stat().st_mtime_ns, batch_path.stat().st_mtime_ns
    assert make_seed_files(tmp_path / "seed") == (model_path, batch_path)  # reused
    assert (model_path.stat().st_mtime_ns, batch_path.stat().st_mtime_ns) == stamp


# --- size limits and special files -------------------------------------------------------------


def _gzip_tar(path: Path, members: list[tuple[str, int]], tail: dict[str, bytes] | None = None) -> Path:
    """A tar.gz of members made of ``size`` zero bytes, streamed (never held whole), then ``tail``."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, size in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, _Zeros(size))
        for name, data in (tail or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


class _Zeros(io.RawIOBase):
    def __init__(self, size: int):
        self.left = size

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


def _peak_traced(fn) -> tuple[int, Exception]:
    """Run ``fn``, which must raise; return the peak of Python allocations and the error."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - returned to the test to check
        error = exc
    else:
        raise AssertionError("expected an error")
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, error


@pytest.mark.requires_xgboost
def test_model_file_over_the_limit_is_refused_by_its_size(models, tmp_path):
    path = tmp_path / "model.json"
    models["binary"].save_model(str(path))
    size = path.stat().st_size
    with pytest.raises(ModelError) as info:
        load_model(path, max_model_bytes=1000)
    text = str(info.value)
    assert f"model file {path} is {size:,} bytes (" in text
    assert "KiB), over the model size limit of 1,000 bytes: fastjoin stops there" in text
    assert "max_model_bytes=" in text and "--max-model-size 1MiB" in text
    assert load_model(path, max_model_bytes=size).n_features == N_FEATURES  # the limit is inclusive


def test_default_limit_refuses_a_huge_file_without_reading_it(tmp_path):
    path = tmp_path / "model.json"
    with open(path, "wb") as f:  # sparse: no disk used, and never read
        f.truncate((1 << 30) + 1)
    peak, error = _peak_traced(lambda: load_model(path))
    assert isinstance(error, ModelError)
    assert "is 1,073,741,825 bytes (1.00 GiB), over the model size limit of 1 GiB" in str(error)
    assert "--max-model-size 2GiB" in str(error)
    assert peak < 1 << 20


def test_archive_member_over_the_limit_is_refused_from_its_header(tmp_path):
    # a gzip bomb: 64 MiB of zeros as xgboost-model in a ~64 KiB archive
    path = _gzip_tar(tmp_path / "model.tar.gz", [("xgboost-model", 64 << 20)])
    assert path.stat().st_size < 1 << 20
    peak, error = _peak_traced(lambda: load_model(path, max_model_bytes=1 << 20))
    assert isinstance(error, ModelError)
    assert (
        f"member xgboost-model of model archive {path} is 64 MiB (67,108,864 bytes), "
        "over the model size limit of 1 MiB" in str(error)
    )
    assert peak < 8 << 20  # the member was never read


def test_archive_that_expands_past_the_limit_stops_decompressing(tmp_path, monkeypatch):
    # the bomb is a member fastjoin would skip; the running count stops it all the same
    monkeypatch.setattr("fastjoin.model_files.ARCHIVE_SLACK", 64 << 10)
    path = _gzip_tar(tmp_path / "model.tar.gz", [("padding.dat", 32 << 20)], {"xgboost-model": b"{}"})
    read = []
    real_gzip = __import__("gzip").GzipFile

    class Counting(real_gzip):
        def read(self, n=-1):
            data = super().read(n)
            read.append(len(data))
            return data

    monkeypatch.setattr("fastjoin.model_files.gzip.GzipFile", Counting)
    with pytest.raises(ModelError) as info:
        load_model(path, max_model_bytes=1000)
    assert (
        f"model archive {path}, decompressed, is more than 1,000 bytes, over the model size limit "
        "of 1,000 bytes (plus 64 KiB for the archive's headers and other files)" in str(info.value)
    )
    assert sum(read) < 1 << 20  # stopped near 65 KiB, not at 32 MiB


@pytest.mark.requires_xgboost
def test_archive_limit_leaves_room_for_headers_and_small_files(models, batch, tmp_path):
    raw = bytes(models["binary"].save_raw("ubj"))
    path = _tar(tmp_path / "model.tar.gz", {"code/inference.py": b"x" * 5000, "xgboost-model": raw})
    p = load_model(path, max_model_bytes=len(raw))
    assert np.array_equal(p.predict(batch), _reference(models["binary"], batch))


@pytest.mark.parametrize("value", [0, -1, "4GiB", True, 2.5, None])
def test_bad_model_size_is_a_config_error(tmp_path, value):
    with pytest.raises(ConfigError, match=r"max_model_bytes must be a positive number of bytes, not"):
        load_model(tmp_path / "model.json", max_model_bytes=value)


def _special_file(kind: str, tmp_path: Path) -> Path:
    import os
    import socket

    if kind == "fifo":
        os.mkfifo(tmp_path / "xgboost-model")
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(tmp_path / "xgboost-model"))
        sock.close()
    else:  # a link to a device
        os.symlink(kind, tmp_path / "xgboost-model")
    return tmp_path / "xgboost-model"


@pytest.mark.parametrize(
    "kind, shown",
    [
        ("fifo", "named pipe (FIFO)"),
        ("socket", "socket"),
        ("/dev/zero", "character device"),
        ("/dev/null", "character device"),
    ],
)
def test_special_files_are_refused_before_they_are_opened(tmp_path, kind, shown):
    # A FIFO blocks open() until a writer comes and /dev/zero never ends: neither may be opened,
    # so this runs in a subprocess that a hang would fail instead of stalling the suite.
    path = _special_file(kind, tmp_path)
    code = (
        "import sys; from fastjoin.predictor import load_model\n"
        "try: load_model(sys.argv[1])\n"
        "except Exception as e: print(type(e).__name__, e)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.startswith(f"ModelError model {path} is a {shown}, not a regular file"), proc
    # in a model directory, it is listed with the reason it was skipped
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert f"found: xgboost-model (a {shown}, not a regular file)" in proc.stdout, proc


# --- what an archive or directory holds, when it holds no model ----------------------------------


def _tar_with_link(path: Path, kind: bytes, target: str, extra: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("xgboost-model")
        link.type, link.linkname = kind, target
        tar.addfile(link)
    return path


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("kind, word", [(tarfile.SYMTYPE, "symbolic"), (tarfile.LNKTYPE, "hard")])
def test_tar_link_is_named_with_the_reason(models, tmp_path, kind, word):
    raw = bytes(models["binary"].save_raw("json"))
    path = _tar_with_link(tmp_path / "model.tar.gz", kind, "models/real", {"models/real": raw})
    with pytest.raises(ModelError) as info:
        load_model(path)
    text = str(info.value)
    assert "found: nothing" not in text
    assert f"found: xgboost-model (a {word} link to 'models/real': fastjoin reads the archive" in text
    assert "does not follow links; put the model file itself in the archive" in text
    assert "models/real (in a subdirectory: SageMaker's XGBoost container loads only files at the top" in text


@pytest.mark.requires_xgboost
def test_tar_model_in_a_subdirectory_is_named_with_the_reason(models, tmp_path):
    raw = bytes(models["binary"].save_raw("json"))
    path = _tar(tmp_path / "model.tar.gz", {"README.txt": b"hi", "sub/xgboost-model": raw})
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(info.value).endswith(
        "found: sub/xgboost-model (in a subdirectory: SageMaker's XGBoost container loads only "
        "files at the top of /opt/ml/model, where model.tar.gz is unpacked, and so does fastjoin), "
        "README.txt"
    )


@pytest.mark.requires_xgboost
def test_directory_lists_what_it_skipped(models, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "xgboost-model").write_bytes(bytes(models["binary"].save_raw("json")))
    (tmp_path / "code").mkdir()
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelError) as info:
        load_model(tmp_path)
    top_only = (
        "SageMaker's XGBoost container loads only files at the top of /opt/ml/model, where "
        "model.tar.gz is unpacked, and so does fastjoin"
    )
    assert str(info.value).endswith(
        f"found: gone.json (a broken symbolic link), sub/xgboost-model (in a subdirectory: "
        f"{top_only}), code/ (a subdirectory: {top_only}), notes.txt"
    )


# --- protocol 0/1 pickles ------------------------------------------------------------------------


@pytest.mark.requires_xgboost
@pytest.mark.parametrize("protocol", [0, 1])
@pytest.mark.parametrize("wrap", ["booster", "sklearn", "dict"])
def test_old_protocol_pickles_are_pickles_not_legacy_binary(models, batch, tmp_path, protocol, wrap):
    booster = models["binary"]
    if wrap == "sklearn":
        obj = xgb.XGBRegressor(n_estimators=2, max_depth=2, n_jobs=1).fit(batch, batch[:, 0])
        booster = obj.get_booster()
    else:
        obj = booster if wrap == "booster" else {"model": booster}
    path = _write(tmp_path / "xgboost-model", pickle.dumps(obj, protocol=protocol))
    with pytest.raises(ModelError) as info:
        load_model(path)
    text = str(info.value)
    assert f"{path} is a Python pickle" in text and "allow_pickle=True" in text
    assert "legacy binary" not in text
    if wrap == "dict":
        with pytest.raises(ModelError, match="unpickles to a dict"):
            load_model(path, allow_pickle=True)
    else:
        p = load_model(path, allow_pickle=True)
        assert np.array_equal(p.predict(batch), _reference(booster, batch))


@pytest.mark.requires_xgboost
@pytest.mark.parametrize(
    "data",
    [
        b"(" + bytes(range(256)) * 4,  # a MARK byte, then binary: a legacy model's first float could be '('
        b"c" + b"\x00" * 64,
        b"(dp0\n.trailing",  # a pickle that does not end at its STOP
        b"(dp0\n.",  # a dict pickle names no class: not a model pickle
        b"}.",
    ],
)
def test_pickle_detection_has_no_false_positives(tmp_path, data):
    with pytest.raises(ModelError, match="not an XGBoost model") as info:
        load_model(_write(tmp_path / "model.bin", data))
    assert "is a Python pickle" not in str(info.value)

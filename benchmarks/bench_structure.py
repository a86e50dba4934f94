"""Two ways to put N cores (the largest ``--threads`` count, at least 2) to work on the seed
job, file to file on the benchmark file, in group ``structure, N threads``:

- **A, workers** (what fastjoin does): N worker threads each take a whole chunk through
  tokenize → gather → predict (one thread) → format → splice; an ordered writer.
  Timed through ``Transformer.transform``.
- **B, parse then predict**: each chunk is cut into N runs of lines, tokenized and gathered on
  N threads, then predicted in one call on N XGBoost threads, then formatted and spliced on
  N threads, then written. Built here from the same core functions (``fastjoin._impl``) and
  chunking (``framing.read_chunks``, ``DEFAULT_CHUNK_SIZE``).

Both outputs are checked byte for byte. Formerly ``benchmarks/structure.py``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from bench_end_to_end import SEED_JOB

STRUCTURE = "structure"
WIDTH = 31  # id + 30 features
FEATURES = np.arange(1, WIDTH, dtype=np.int64)  # InputFilter $[1:]
SELECT = np.array([0, WIDTH], dtype=np.int64)  # OutputFilter $[0,-1] of the joined record


@pytest.fixture(scope="module")
def cores(settings) -> int:
    if settings.threads < 2:
        pytest.skip("the structures differ only on 2 or more threads (--threads)")
    return settings.threads


def test_structure_workers(run, dataset, cores, expected_bytes, out_dir):
    import fastjoin

    tf = fastjoin.Transformer(str(dataset.model), threads=cores, **SEED_JOB)
    target = out_dir / "structure-a"

    def job():
        tf.transform(str(dataset.csv), str(target)).raise_for_errors()

    job()
    assert (target / (dataset.csv.name + ".out")).read_bytes() == expected_bytes
    run(
        job,
        label="A: workers each parse → predict (1 predict thread) → format (fastjoin)",
        kind="fastjoin",
        rows=dataset.rows,
        nbytes=dataset.bytes,
        threads=cores,
        key="A",
        group=STRUCTURE,
    )


def test_structure_parse_then_predict(run, dataset, cores, expected_bytes, out_dir):
    from fastjoin import _impl
    from fastjoin.framing import read_chunks
    from fastjoin.options import DEFAULT_CHUNK_SIZE
    from fastjoin.predictor import load_model

    model = load_model(str(dataset.model), nthread=cores)
    pool = ThreadPoolExecutor(cores)
    out_path = out_dir / "structure-b.out"

    def parse(buf, a, b):
        fields, rows, _, status, _ = _impl.tokenize(buf, a, b, True)
        assert status == _impl.OK
        n = len(rows) - 1
        X = np.empty((n, len(FEATURES)), dtype=np.float32)
        _impl.gather_float32(buf, fields, rows, 0, n, FEATURES, X)
        return fields, rows, X

    def emit(buf, fields, rows, preds):
        n = len(rows) - 1
        text, spans = _impl.format_floats(preds)
        return _impl.splice(
            buf, fields, rows, text, spans, np.arange(n + 1, dtype=np.int64), 0, n, SELECT, WIDTH, b"\n"
        )

    def job():
        with open(dataset.csv, "rb") as f, open(out_path, "wb") as out:
            for buf, _, end, _ in read_chunks(f, DEFAULT_CHUNK_SIZE):
                cuts = [0]
                for k in range(1, cores):
                    nl = buf.find(b"\n", max(cuts[-1], end * k // cores), end)
                    cuts.append(end if nl < 0 else nl + 1)
                cuts.append(end)
                spans = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
                parts = list(pool.map(lambda ab, buf=buf: parse(buf, *ab), spans))
                preds = model.predict(np.concatenate([X for _, _, X in parts]))
                offs = np.cumsum([0] + [len(X) for _, _, X in parts]).tolist()
                out.writelines(
                    pool.map(
                        lambda i, buf=buf, parts=parts, preds=preds, offs=offs: emit(
                            buf, parts[i][0], parts[i][1], preds[offs[i] : offs[i + 1]]
                        ),
                        range(len(parts)),
                    )
                )

    try:
        job()
        assert out_path.read_bytes() == expected_bytes
        run(
            job,
            label=f"B: parse on {cores} threads, then predict on {cores} threads",
            kind="variant",
            rows=dataset.rows,
            nbytes=dataset.bytes,
            threads=cores,
            key="B",
            group=STRUCTURE,
        )
    finally:
        pool.shutdown()

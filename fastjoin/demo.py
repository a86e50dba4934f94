"""The seed example's data: a breast-cancer XGBoost model and a batch file with ids first.

Mirrors SageMaker's breast-cancer batch-transform notebook (see the spec's semantics §8):
the batch file keeps the id first and the 30 features after it, with no header, and the job
runs with InputFilter ``$[1:]``, JoinSource ``Input`` and OutputFilter ``$[0,-1]``.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from fastjoin.errors import ConfigError

__all__ = ["make_seed_files", "FIRST_ID"]

#: The first (real) WDBC id; the others are synthesised from it.
FIRST_ID = 842302


def make_seed_files(out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``out_dir/model.json`` and ``out_dir/batch.csv``; return their paths.

    The model is an XGBoost ``binary:logistic`` booster trained deterministically (seed 0,
    one thread, 50 rounds, depth 4) on scikit-learn's bundled copy of the Wisconsin
    breast-cancer data (569 rows, 30 features; nothing is downloaded). The label is 1 for
    malignant, as in the SageMaker notebook (sklearn codes malignant as 0, so it is flipped).

    ``batch.csv`` has one line per sample: an id, then the 30 features, no header, written
    by pandas ``to_csv(index=False, header=False)`` as the notebook does, so ``1001.0``
    stays ``1001.0``. scikit-learn's copy has no id column, so the ids are synthesised:
    ``842302 + i`` for row ``i`` (842302 is the first real WDBC id; the rest are not the
    real ids).

    Files that already exist (both of them) are reused, not retrained. Each file is written
    to a temporary name and renamed, so an interrupted run never leaves a partial file.

    Without pandas, scikit-learn or xgboost it raises a ConfigError naming the extra to install.
    """
    _check_modules()
    import pandas as pd
    import xgboost as xgb
    from sklearn.datasets import load_breast_cancer

    out = Path(out_dir)
    model_path, batch_path = out / "model.json", out / "batch.csv"
    if model_path.is_file() and batch_path.is_file():
        return model_path, batch_path
    out.mkdir(parents=True, exist_ok=True)

    X, target = load_breast_cancer(return_X_y=True)
    y = 1 - target  # sklearn: 0 = malignant; the notebook predicts malignant = 1
    params = {
        "objective": "binary:logistic",
        "max_depth": 4,
        "eta": 0.3,
        "seed": 0,
        "nthread": 1,
        "tree_method": "hist",
    }
    booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=50)
    _write_atomic(model_path, booster.save_raw("json"))

    frame = pd.DataFrame(X)
    frame.insert(0, "id", range(FIRST_ID, FIRST_ID + len(frame)))
    _write_atomic(batch_path, frame.to_csv(index=False, header=False, lineterminator="\n").encode())
    return model_path, batch_path


#: The packages the seed files need: (module, package name, extra that installs it).
_NEEDED = (
    ("pandas", "pandas", "demo"),
    ("sklearn", "scikit-learn", "demo"),
    ("xgboost", "xgboost", "xgboost"),
)


def _check_modules() -> None:
    """Raise a ConfigError saying which extras to install if a package the demo needs is missing."""
    missing = [
        (package, extra) for module, package, extra in _NEEDED if importlib.util.find_spec(module) is None
    ]
    if not missing:
        return
    packages = [package for package, _ in missing]
    extras = sorted({extra for _, extra in missing})
    named = packages[0] if len(packages) == 1 else ", ".join(packages[:-1]) + " and " + packages[-1]
    verb = "is" if len(packages) == 1 else "are"
    hint = f"pip install 'fastjoin[{','.join(extras)}]'"
    if "xgboost" in extras:
        lean = ",".join("xgboost-cpu" if e == "xgboost" else e for e in extras)
        hint += f" (or the lean CPU-only XGBoost: pip install 'fastjoin[{lean}]')"
    raise ConfigError(f"fastjoin demo needs {named}, which {verb} not installed: {hint}")


def _write_atomic(path: Path, data: bytes | bytearray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

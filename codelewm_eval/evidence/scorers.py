"""Built-in scorers: what a trained p_pass must beat, and the ceiling it cannot.

* no_action: the candidates' original order (sample index; first sample ranks first), only where
  the source has one (NaN for pools, canonical solutions and mutants: see rerank.ORDERED_FORMATS);
* length: shorter programs rank first;
* lexical: consensus, the mean token-set Jaccard similarity to the other candidates of the task;
* oracle: the label itself (the ceiling for reranking);
* codet: CodeT dual execution agreement with the model's generated asserts (see codet.py; needs
  the sandbox and a generated-tests file);
* p_pass (logreg): logistic regression on hashed token uni- and bigrams of the program, fit on
  the train split only (binary features, L2-normalized rows), its regularization chosen by val
  log loss. Its seed draws a bootstrap of the train problem families (families drawn with
  replacement, each row weighted by its family's count): the lbfgs solver is deterministic, so
  without it two seeds would be one model, and resampling families (not rows) makes the spread
  between seeds measure how much the scorer depends on which problems it trained on.

The random baseline is not a score: its expected pass@1 is computed exactly by the rerank gate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..benchmarks.family import problem_family
from ..errors import InputError
from ..pack.rows import PackRow

_TOKENS = r"[A-Za-z_][A-Za-z_0-9]*|\d+|[^\sA-Za-z_\d]"


def no_action(rows: list[PackRow]) -> np.ndarray:
    """-(sample index) where the source has a sample order; NaN where it has none."""
    from .rerank import ORDERED_FORMATS

    out = np.full(len(rows), np.nan)
    for i, r in enumerate(rows):
        if r.origin.format in ORDERED_FORMATS and r.origin.sample_index is not None:
            out[i] = -float(r.origin.sample_index)
    return out


def length(rows: list[PackRow]) -> np.ndarray:
    return -np.array([len(r.program.strip()) for r in rows], dtype=float)


def oracle(rows: list[PackRow]) -> np.ndarray:
    return np.array([float(r.passed) for r in rows])


def _hashed(texts: list[str], ngrams: tuple[int, int] = (1, 1), norm: str | None = None):
    """Binary hashed token n-grams (one column per n-gram present)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(token_pattern=_TOKENS, lowercase=False, ngram_range=ngrams, n_features=1 << 18,
                             alternate_sign=False, binary=True, norm=norm).transform(texts)


def lexical(rows: list[PackRow]) -> np.ndarray:
    """Mean Jaccard similarity of each candidate's token set to its task's other candidates."""
    x = _hashed([r.program for r in rows])
    sizes = np.asarray(x.sum(axis=1)).ravel()
    by_task: dict[tuple, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_task[(r.benchmark, r.task_id)].append(i)
    out = np.zeros(len(rows))
    for members in by_task.values():
        if len(members) < 2:
            continue
        sub = x[members]
        inter = (sub @ sub.T).toarray()
        size = sizes[members]
        union = size[:, None] + size[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            jaccard = np.where(union > 0, inter / union, 1.0)
        np.fill_diagonal(jaccard, 0.0)
        out[members] = jaccard.sum(axis=1) / (len(members) - 1)
    return out


def fit_logreg(rows: list[PackRow], seed: int = 42, on_candidate=None):
    """(model, features, report): hashed token 1-2 grams, fit on train rows only, C chosen by val
    log loss. `on_candidate(i, n, C, val_loss, val_auc)` is called after each candidate C."""
    x = _hashed([r.program for r in rows], ngrams=(1, 2), norm="l2")
    model, report = fit_logistic(x, rows, seed, on_candidate)
    report["features"] = "hashed token 1-2 grams, binary, L2-normalized, 2^18 columns"
    return model, x, report


def fit_logistic(x, rows: list[PackRow], seed: int = 42, on_candidate=None, grid=(0.1, 1.0, 10.0)):
    """(model, report): a logistic regression on the feature rows `x`, fit on the train rows of
    one seeded bootstrap of the train problem families, its C chosen by val log loss."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score

    y = np.array([r.passed for r in rows])
    train = np.array([r.split == "train" and not r.evaluation_only for r in rows])
    val = np.array([r.split == "val" for r in rows])
    if train.sum() == 0 or len(set(y[train])) < 2:
        raise InputError("the train split needs both classes to fit p_pass")
    weight = family_bootstrap_weights([problem_family(r.benchmark, r.task_id) for r in rows], train, y, seed)
    fit = weight > 0
    best = None
    for k, c in enumerate(grid, start=1):
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        model.fit(x[fit], y[fit], sample_weight=weight[fit])
        p_val = model.predict_proba(x[val])[:, 1] if val.any() else np.array([])
        loss = log_loss(y[val], p_val, labels=[False, True]) if val.any() else 0.0
        auc = roc_auc_score(y[val], p_val) if val.any() and len(set(y[val])) == 2 else None
        if on_candidate:
            on_candidate(k, len(grid), c, float(loss), auc)
        if best is None or loss < best[0]:
            best = (loss, c, model)
    loss, c, model = best
    report = {"C": c, "val_log_loss": round(float(loss), 6), "train_rows": int(train.sum()),
              "seed_randomness": f"bootstrap of the train problem families (seed {seed}): "
                                 f"{int(fit.sum())} of {int(train.sum())} train rows drawn, total weight "
                                 f"{int(weight.sum())}"}
    return model, report


def family_bootstrap_weights(families: list[str], train: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Row weights of one seeded bootstrap of the train families: each family drawn k times
    weighs its rows k. Redrawn (next seed stream) in the rare case a draw holds one class."""
    names = sorted({f for f, t in zip(families, train) if t})
    index = {f: n for n, f in enumerate(names)}
    row_family = np.array([index.get(f, -1) for f in families])
    rng = np.random.default_rng(seed)
    for _attempt in range(100):
        counts = np.bincount(rng.integers(0, len(names), size=len(names)), minlength=len(names)).astype(float)
        weight = np.where(train & (row_family >= 0), counts[np.maximum(row_family, 0)], 0.0)
        if len(set(y[weight > 0].tolist())) == 2:
            return weight
    raise InputError("no bootstrap of the train families holds both classes")


def logreg_p_pass(rows: list[PackRow], seed: int = 42) -> tuple[np.ndarray, dict]:
    """p_pass for every row from a model fit on train rows only; returns (p, fit report)."""
    model, x, report = fit_logreg(rows, seed)
    return model.predict_proba(x)[:, 1], report


def codet(rows: list[PackRow], tests: dict[str, list[str]], workers: int | None = None,
          progress=None) -> tuple[np.ndarray, dict]:
    """Agreement scores for the model samples of tasks that have generated tests (NaN elsewhere);
    consensus within one task's samples from one source file."""
    from ..sandbox.pool import Limits, SandboxPool
    from .codet import agreement

    # every model sample of a task the tests file covers; a task whose model wrote no usable test
    # scores 0 for all its samples (CodeT's agreement on the empty test set: a tie, broken at random)
    chosen = {i: r for i, r in enumerate(rows) if r.task_id in tests and r.origin.format not in ("canonical", "decoy")}
    programs = {i: r.program for i, r in chosen.items()}
    tests_of = {i: tests[r.task_id] or [] for i, r in chosen.items()}
    group_of = {i: f"{r.benchmark}|{r.task_id}|{r.origin.source_file}" for i, r in chosen.items()}
    out = np.full(len(rows), np.nan)
    if not programs:
        return out, {"candidates_run": 0}
    with SandboxPool(workers, Limits()) as pool:
        scores, stats = agreement(programs, tests_of, group_of, pool, progress=progress)
    out[: len(scores)] = np.where(np.isfinite(scores), scores, out[: len(scores)])
    return out, stats


@dataclass(frozen=True)
class Scorer:
    """A registered scorer: `score(rows, seed=..., **context)` returns (a value per row, NaN where
    it has none; a report). `seeded`: whether its seed changes its scores (trained scorers must
    be, or two seeds are one). `probability`: its scores are p_pass-like probabilities."""

    name: str
    score: Callable[..., tuple[np.ndarray, dict]]
    seeded: bool = False
    probability: bool = False
    description: str = ""


_REGISTRY: dict[str, Scorer] = {}
ENTRY_POINTS = "codelewm_eval.scorers"  # a package adds scorers under this entry-point group


def register_scorer(scorer: Scorer) -> Scorer:
    """Make a scorer available to `score`, by name (a name registered twice is replaced)."""
    _REGISTRY[scorer.name] = scorer
    return scorer


def scorers() -> dict[str, Scorer]:
    """Every registered scorer: the built-in ones, then those of installed packages that declare
    an entry point in the `codelewm_eval.scorers` group (the entry point is a Scorer)."""
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINTS):
        if point.name not in _REGISTRY:
            register_scorer(point.load())
    return dict(_REGISTRY)


def _plain(fn):
    return lambda rows, **_: (fn(rows), {})


def _codet(rows, *, codet_tests=None, workers=None, progress=None, **_):
    if not codet_tests:
        raise InputError("the codet scorer needs generated tests", field="--codet-tests")
    return codet(rows, codet_tests, workers, progress=(None if progress is None else
                                                       lambda done, total: progress("codet", done, total)))


for _scorer in (
        Scorer("no_action", _plain(no_action), description="the sample order (where the source has one)"),
        Scorer("length", _plain(length), description="shorter programs first"),
        Scorer("lexical", _plain(lexical), description="token Jaccard consensus within the task"),
        Scorer("oracle", _plain(oracle), description="the label itself: the ceiling"),
        Scorer("p_pass", lambda rows, seed=42, **_: logreg_p_pass(rows, seed), seeded=True, probability=True,
               description="logistic regression on hashed token n-grams, seeded bootstrap of train families"),
        Scorer("codet", _codet, description="CodeT dual execution agreement with generated asserts (sandboxed)")):
    register_scorer(_scorer)
BUILTIN = tuple(_REGISTRY)


def score_rows(rows: list[PackRow], names: list[str], seed: int = 42, codet_tests: dict | None = None,
               workers: int | None = None, progress=None) -> tuple[dict[str, np.ndarray], dict]:
    """Every named (registered) scorer over the rows. `progress(name, done, total)` reports
    candidates as a scorer runs them, and (name, None, None) as each scorer starts."""
    known = scorers()
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise InputError(f"unknown scorer(s) {', '.join(unknown)}; registered: {', '.join(known)}", field="--scorers")
    out, report = {}, {}
    for name in names:
        if progress is not None:
            progress(name, None, None)
        out[name], fit = known[name].score(rows, seed=seed, codet_tests=codet_tests, workers=workers,
                                           progress=progress)
        if fit:
            report[name] = fit
    return out, report


def score_summary(rows: list[PackRow], scores: dict[str, np.ndarray]) -> list[dict]:
    """Per scorer and held-out split: rows scored and the ROC-AUC where it can be measured."""
    from .metrics import NotEvaluable, roc_auc

    y = np.array([r.passed for r in rows])
    split = np.array([r.split for r in rows])
    out = []
    for name, values in scores.items():
        for part in ("val", "test"):
            rows_in = split == part
            usable = rows_in & np.isfinite(values)
            try:
                auc = roc_auc(y[usable], values[usable])
            except NotEvaluable:
                auc = None
            out.append({"scorer": name, "split": part, "rows": int(rows_in.sum()), "scored": int(usable.sum()),
                        "auc": auc})
    return out

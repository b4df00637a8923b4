"""`claims render`: model cards (one per seed), dataset cards and results documents, from
verified evidence and the ledger's verdicts, through jinja2 templates.

Templates come from `ROOT/cards/templates/` when a project has its own, else from the ones
this package ships. Cards carry Hub-compatible YAML front matter (huggingface_hub's
ModelCardData / DatasetCardData: model-index results from the evidence, datasets, licence,
base model). Every number is the evidence's, rounded, and its table cites the evidence file with
a sha256 prefix. Rendering is deterministic (no clock: the date shown is the evidence's), and
what it writes passes the audit by construction: ALLOWED claims in their ledger wording,
BLOCKED claims only in the claim boundary, marked BLOCKED.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2

from ..errors import InputError
from ..evidence.measurement import Measurement
from ..io import atomic_writer
from .evidence import DEFAULT_LEDGER, Bundle, format_value, load_bundles
from .ledger import CardSpec, Ledger, load_ledger
from .verdicts import ClaimVerdict, blocked_text, classify_all

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"


def _fmt(value, digits: int = 3, style: str = "plain") -> str:
    return format_value(value, digits, style)


def _ci(pair, digits: int = 3) -> str:
    if not pair or pair[0] is None:
        return "n/a"
    return f"[{_fmt(pair[0], digits)}, {_fmt(pair[1], digits)}]"


def _records(bundle: Bundle, file: str, key: str, **where) -> list[dict]:
    rows = bundle.files.get(file, {}).get(key, [])
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def _measured(bundle: Bundle):
    """The bundle's measurements, typed (read once when the bundle was loaded)."""
    from ..evidence.evaluate import Measured

    return bundle.measured or Measured()


def _tables(bundle: Bundle, seed) -> dict:
    metrics = []
    for r in _measured(bundle).records(scorer="p_pass", split="test", seed=seed):
        auc, ece, brier = (r.metrics.get(k) or Measurement(value=None) for k in ("auc", "ece", "brier"))
        metrics.append({"benchmark": r.benchmark, "rows": r.rows, "tasks": r.tasks, "positives": r.positives,
                        "auc": auc.value, "auc_delong": auc.ci, "auc_boot": auc.bootstrap_ci, "ece": ece.value,
                        "ece_ci": ece.ci, "bins": ece.bins, "brier": brier.value, "not_evaluable": r.not_evaluable})
    reranks = [r for r in _records(bundle, "rerank.json", "results", split="test", seed=seed)
               if r.get("scorer") in ("p_pass", "codet")]
    decoys = [r for r in _records(bundle, "decoys.json", "results", split="test", seed=seed)
              if r.get("scorer") in ("p_pass", "codet")]
    return {"metrics": metrics, "reranks": reranks, "decoys": decoys}


def _dataset_rows(bundle: Bundle) -> list[dict]:
    """Rows, tasks, families and pass rates per split and benchmark: from the pack's own
    statistics (pack_stats.json, copied into the bundle by evaluate), else from the metrics."""
    stats = bundle.files.get("pack_stats.json")
    if stats:
        return [{"benchmark": c["benchmark"], "split": c["split"], "rows": c["rows"], "tasks": c["tasks"],
                 "positives": c["passed"], "pass_rate": c["pass_rate"],
                 "evaluation_only_rows": c.get("evaluation_only_rows", 0)} for c in stats.get("cells", [])]
    seeds = bundle.seeds() or [None]
    rows = []
    for r in _measured(bundle).records(scorer="p_pass", seed=seeds[0]):
        if r.split in ("val", "test"):
            rows.append({"benchmark": r.benchmark, "split": r.split, "rows": r.rows, "tasks": r.tasks,
                         "positives": r.positives, "pass_rate": r.positives / r.rows if r.rows else None})
    return sorted(rows, key=lambda x: (x["split"] != "val", x["benchmark"]))


def _shown(value) -> str:
    return _fmt(value) if isinstance(value, float) else str(value)


def _gate_rows(bundle: Bundle, seeds: list) -> list[dict]:
    rows = []
    for g in bundle.files.get("gates.json", {}).get("gates", []):
        per_seed = g.get("per_seed") or {}
        statuses = {s: per_seed.get(str(s), "not judged") for s in seeds} if seeds else {"-": g["status"]}
        reasons = "; ".join(f"{r['type']}: {r['subject']} (observed {_shown(r.get('observed'))}, required "
                            f"{r.get('required')})" for r in g.get("reasons", [])[:2])
        rows.append({"name": g["name"], "metric": g["metric"], "status": g["status"], "per_seed": statuses,
                     "reasons": reasons})
    return rows


def _front_matter(card: CardSpec, bundle: Bundle, seed, tables: dict) -> str:
    from huggingface_hub import DatasetCardData, EvalResult, ModelCardData

    if card.kind == "dataset":
        # a pack has two tables (rows join their task on benchmark, task_id): one config each, so
        # the Hub's viewer and `load_dataset(REPO, "tasks")` read them apart
        data = DatasetCardData(license=card.licence, pretty_name=card.title or card.name,
                               task_categories=["text-classification"], tags=["code", "evaluation"],
                               configs=[{"config_name": "rows", "data_files": "rows.parquet", "default": True},
                                        {"config_name": "tasks", "data_files": "tasks.parquet"}])
        return data.to_yaml()
    results = [EvalResult(task_type="text-classification", dataset_type=card.datasets[0] if card.datasets
                          else card.name, dataset_name=f"{m['benchmark']} (test split)", dataset_split="test",
                          dataset_config=m["benchmark"],
                          metric_type="roc_auc", metric_name=f"p_pass ROC-AUC, {m['benchmark']}",
                          metric_value=round(m["auc"], 3))
               for m in tables["metrics"] if m["auc"] is not None]
    data = ModelCardData(model_name=f"{card.name}-seed-{seed}", base_model=card.base_model, license=card.licence,
                         datasets=card.datasets or None, tags=["code", "p_pass", f"seed-{seed}"],
                         eval_results=results or None)
    return data.to_yaml()


def _environment(root: Path) -> jinja2.Environment:
    loaders = [jinja2.FileSystemLoader(str(root / "cards" / "templates"))] if (root / "cards" / "templates").is_dir() \
        else []
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders + [jinja2.FileSystemLoader(str(PACKAGE_TEMPLATES))]),
                             undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(fmt=_fmt, ci=_ci)
    return env


def _claims_for(card: CardSpec, ledger: Ledger, verdicts: dict[str, ClaimVerdict], seed) -> dict:
    chosen = [c for c in ledger.claims if (c.id in card.claims if card.claims else card.evidence in c.evidence)]
    if seed is not None:
        chosen = [c for c in chosen if not c.scope.seeds or seed in c.scope.seeds]
    allowed = [(c, verdicts[c.id]) for c in chosen if verdicts[c.id].status == "ALLOWED" and c.kind != "negative"]
    negative = [(c, verdicts[c.id]) for c in chosen if verdicts[c.id].status == "ALLOWED" and c.kind == "negative"]
    blocked = [(c, verdicts[c.id], blocked_text(c, verdicts[c.id])) for c in chosen
               if verdicts[c.id].status == "BLOCKED"]
    not_recorded = [c for c in chosen if verdicts[c.id].status == "NOT RECORDED"]
    return {"allowed": allowed, "negative": negative, "blocked": blocked, "not_recorded": not_recorded}


def _output_path(card: CardSpec, seed) -> Path:
    if card.kind == "results":
        return Path("docs") / "benchmark" / f"{card.name}.md"
    if card.kind == "dataset":
        return Path("cards") / "rendered" / f"{card.name}.md"
    return Path("cards") / "rendered" / f"{card.name}-seed-{seed}.md"


def renderings(root: Path, ledger: Ledger, bundles: dict[str, Bundle], verdicts: dict[str, ClaimVerdict],
               strict: bool = True) -> dict[Path, str]:
    """Every card's text by its path relative to root. A card whose evidence does not verify is
    an error (strict) or left out."""
    env = _environment(root)
    out: dict[Path, str] = {}
    for card in ledger.cards:
        if card.evidence not in bundles:
            raise InputError(f"card {card.name!r} names evidence {card.evidence!r}, which the ledger does not define")
        bundle = bundles[card.evidence]
        if not bundle.ok:
            if not strict:
                continue
            why = bundle.problems[0].detail if bundle.problems else "no manifest"
            raise InputError(f"card {card.name!r}: evidence {card.evidence} does not verify ({why}); nothing rendered "
                             "from it", path=str(bundle.path))
        manifest = json.loads((bundle.path / "manifest.json").read_text())
        created = manifest.get("created_at", "")[:10] or None
        decoys = bundle.files.get("decoys.json", {}).get("results", [])
        first = (bundle.seeds() or [None])[0], next((d["scorer"] for d in decoys), None)
        decoy_pairs = [d for d in decoys if (d.get("seed"), d.get("scorer")) == first]
        identical = bundle.identical_seeds()
        # one model is listed once: a seed whose scores repeat another seed's gets no card of its own
        seeds = [s for s in card.seeds if s not in identical] if card.kind == "model" else [None]
        for seed in seeds:
            tables = _tables(bundle, seed) if seed is not None else {}
            path = _output_path(card, seed)
            context = {"card": card, "bundle": bundle, "seed": seed, "tables": tables,
                       "dataset": _dataset_rows(bundle), "gates": _gate_rows(bundle, card.seeds or bundle.seeds()),
                       "claims": _claims_for(card, ledger, verdicts, seed), "manifest_sha": bundle.manifest_sha256,
                       "evidence_date": created, "parents": manifest.get("parents", []),
                       "evidence_path": bundle.rel, "cite": bundle.cite, "decoy_pairs": decoy_pairs,
                       "identical": identical, "distinct_seeds": [s for s in (card.seeds or bundle.seeds())
                                                                  if s not in identical],
                       "pack_stats": bundle.files.get("pack_stats.json"),
                       "marker": f"<!-- rendered by `codelewm-eval claims render` from the ledger card "
                                 f"{card.name}{'' if seed is None else f' (seed {seed})'}: edit the ledger or the "
                                 "templates, not this file; the audit compares it with the evidence's rendering -->",
                       "tables_for": lambda s, b=bundle: _tables(b, s),
                       "front_matter": "" if card.kind == "results" else
                       _front_matter(card, bundle, seed, tables or {"metrics": []})}
            template = {"model": "model_card.md.j2", "dataset": "dataset_card.md.j2",
                        "results": "results.md.j2"}[card.kind]
            out[path] = env.get_template(template).render(**context)
    return out


def render_cards(root: Path, ledger_path: Path | None = None) -> list[Path]:
    root = Path(root)
    ledger = load_ledger(Path(ledger_path) if ledger_path else root / DEFAULT_LEDGER)
    bundles = load_bundles(ledger, root)
    verdicts = {v.id: v for v in classify_all(ledger, bundles)}
    written = []
    for rel, text in renderings(root, ledger, bundles, verdicts).items():
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_writer(out) as fh:
            fh.write(text)
        written.append(out)
    return written

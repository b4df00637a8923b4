"""Evidence bundles as the claims see them: verified (parents included; a parent not on this
machine is reported as absent, known by hash only), their JSON files, the gate verdicts per seed,
the values a ledger binds, and every number they hold (for the prose check).

Gate verdicts are recomputed, never read: from the measurements (metrics.json, rerank.json,
decoys.json) and the gate spec the manifest recorded, or from compare.json for a comparison.
The recomputed verdicts replace gates.json in `files`; a stored verdict that disagrees makes the
bundle inconsistent (`evidence_inconsistent`), and nothing in it backs a claim."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io import sha256_file
from ..manifest import Problem, failures, verify

_SEGMENT = re.compile(r"^(?P<key>[^\[\]]+)?(?:\[(?P<where>[^\]]*)\])?$")
_NUMBER_IN_TEXT = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass
class Bundle:
    name: str
    path: Path
    present: bool
    rel: str = ""                                            # the path as the ledger writes it
    problems: list[Problem] = field(default_factory=list)   # failures: missing, changed, unexpected, parent
    absent: list[Problem] = field(default_factory=list)     # parents not on this machine
    files: dict[str, Any] = field(default_factory=dict)     # file name -> parsed JSON (gates.json recomputed)
    manifest_sha256: str | None = None
    inconsistent: list[str] = field(default_factory=list)   # stored verdicts that the measurements contradict
    measured: Any = None                                    # evidence.evaluate.Measured: the files, typed

    @property
    def ok(self) -> bool:
        return self.present and not self.problems and not self.inconsistent

    def cite(self, file: str) -> str:
        """`path/file (sha256 prefix)` for a card's citation."""
        digest = sha256_file(self.path / file)[:12] if (self.path / file).is_file() else "absent"
        return f"{self.rel or self.path.as_posix()}/{file} (sha256 {digest})"

    def gate(self, name: str) -> dict | None:
        for g in self.files.get("gates.json", {}).get("gates", []):
            if g.get("name") == name:
                return g
        return None

    def seeds(self) -> list[int]:
        """The seeds with evidence of their own (a seed identical to another is not one)."""
        seeds = self.files.get("metrics.json", {}).get("seeds")
        return [int(s) for s in seeds if s is not None] if isinstance(seeds, list) else []

    def identical_seeds(self) -> dict[int, int]:
        """seed -> the seed whose scores it repeats exactly (counted once)."""
        pairs = self.files.get("metrics.json", {}).get("identical_seeds") or {}
        return {int(k): int(v) for k, v in pairs.items() if k not in ("None", "null") and v is not None}


DEFAULT_LEDGER = Path("cards") / "claims.yaml"


def load_bundles(ledger, root: Path) -> dict[str, Bundle]:
    """Every evidence bundle a ledger names, verified (parents shared by several, once)."""
    memo: dict = {}
    return {name: load_bundle(name, root / path, path, memo) for name, path in ledger.evidence.items()}


def load_bundle(name: str, path: Path, rel: str = "", memo: dict | None = None) -> Bundle:
    path = Path(path)
    if not (path / "manifest.json").is_file():
        return Bundle(name, path, present=False, rel=rel)
    everything = verify(path, memo=memo)
    bundle = Bundle(name, path, present=True, rel=rel, problems=failures(everything),
                    absent=[p for p in everything if p.kind == "absent"],
                    manifest_sha256=sha256_file(path / "manifest.json"))
    for file in sorted(path.glob("*.json")):
        if file.name == "manifest.json":
            continue
        try:
            bundle.files[file.name] = json.loads(file.read_text(encoding="utf-8"))
        except ValueError as exc:
            bundle.problems.append(Problem(manifest=str(path / "manifest.json"), kind="unreadable", path=file.name,
                                           detail=str(exc)))
    if not bundle.problems:
        _recompute_gates(bundle)
    return bundle


def _recompute_gates(bundle: Bundle) -> None:
    """Replace the stored verdicts by recomputed ones; record every disagreement."""
    from pydantic import ValidationError

    from ..evidence.compare import comparison_gates
    from ..evidence.evaluate import Measured, judge_all
    from ..evidence.gates import GateSpec
    from ..manifest import load_manifest

    manifest = load_manifest(bundle.path / "manifest.json")
    stored = bundle.files.get("gates.json", {}).get("gates", [])
    try:
        bundle.measured = Measured.of(bundle.files)  # read once, typed: what facts and cards read
        if manifest.kind == "comparison":
            bundle.files["compare.json"]["comparisons"]  # noqa: B018 - a comparison bundle must hold them
            gates = comparison_gates(bundle.measured.comparisons)
        elif manifest.kind == "evidence":
            spec = manifest.config.get("gates")
            m = bundle.measured
            if m.metrics is None:
                raise KeyError("metrics.json")
            judged = judge_all(GateSpec.model_validate(spec) if spec else None, m.metrics, m.rerank, m.decoys,
                               m.coverage)
            gates = [g.model_dump(mode="json") for g in judged.gates]
        else:
            return
    except (KeyError, TypeError, ValidationError) as exc:
        bundle.inconsistent.append(f"its measurements cannot be read to recompute the gates ({str(exc)[:200]})")
        return
    recomputed = {g["name"]: g for g in gates}
    for g in stored:
        name = g.get("name")
        mine = recomputed.get(name)
        if mine is None:
            bundle.inconsistent.append(f"gate {name}: stored {g.get('status')}, but the recorded spec has no such gate")
            continue
        if g.get("status") != mine["status"]:
            bundle.inconsistent.append(f"gate {name}: stored {g.get('status')}, recomputed {mine['status']}")
        for seed, status in (g.get("per_seed") or {}).items():
            if mine.get("per_seed", {}).get(seed) != status:
                bundle.inconsistent.append(f"gate {name} seed {seed}: stored {status}, recomputed "
                                           f"{mine.get('per_seed', {}).get(seed)}")
    missing = sorted(set(recomputed) - {g.get("name") for g in stored})
    if missing and "gates.json" in bundle.files:
        bundle.inconsistent.append(f"gates.json leaves out gate(s) {', '.join(missing)}")
    bundle.files["gates.json"] = {"schema_version": 1, "gates": gates, "recomputed": True}


class PathError(ValueError):
    pass


def _segments(path: str) -> list[str]:
    """Split on dots outside brackets (a filter value may hold dots: `[benchmark=a:temp0.8]`)."""
    parts, depth, current = [], 0, ""
    for ch in path:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current]


def select(data: Any, path: str) -> Any:
    """Follow `a.b[k=v,k2=v2].c.0` into parsed JSON; a filter must match exactly one element."""
    node = data
    for raw in _segments(path):
        match = _SEGMENT.match(raw)
        if not match:
            raise PathError(f"bad path segment {raw!r}")
        key, where = match["key"], match["where"]
        if key is not None:
            if isinstance(node, list) and key.lstrip("-").isdigit():
                try:
                    node = node[int(key)]
                except IndexError:
                    raise PathError(f"index {key} out of range") from None
            elif isinstance(node, dict) and key in node:
                node = node[key]
            else:
                raise PathError(f"no {key!r} here")
        if where is not None:
            if not isinstance(node, list):
                raise PathError(f"[{where}] needs a list")
            conditions = [c.split("=", 1) for c in where.split(",") if c.strip()]
            found = [item for item in node if isinstance(item, dict)
                     and all(str(item.get(k.strip())) == v.strip() for k, v in conditions)]
            if len(found) != 1:
                raise PathError(f"[{where}] matches {len(found)} elements, not one")
            node = found[0]
    return node


def format_value(value: Any, digits: int, style: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if style == "int":
        return str(int(round(value)))
    if style == "percent":
        return f"{100 * value:.{digits}f}%"
    if style == "signed":
        return f"{value:+.{digits}f}"
    if style == "pvalue":
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}"


BULK_KEYS = ("reliability", "edges")  # per-bin tables: too many numbers to back a statement by chance


def numbers(obj: Any, out: set[float] | None = None) -> set[float]:
    """Every number in a JSON value, numbers inside strings (">= 0.03") included, per-bin tables
    left out."""
    out = set() if out is None else out
    if isinstance(obj, bool):
        return out
    if isinstance(obj, (int, float)):
        if math.isfinite(obj):
            out.add(float(obj))
    elif isinstance(obj, str):
        for m in _NUMBER_IN_TEXT.findall(obj):
            try:
                out.add(float(m))
            except ValueError:
                pass
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k not in BULK_KEYS:
                numbers(v, out)
    elif isinstance(obj, list):
        for v in obj:
            numbers(v, out)
    return out

"""`codelewm-eval benchmarks`: what this version can load (benchmarks and scorers, built in or
declared by installed packages as entry points)."""

from __future__ import annotations

from pydantic import BaseModel

from .stage import StageConfig, StageResult


class CatalogConfig(StageConfig):
    def command(self) -> list[str]:
        return ["codelewm-eval", "benchmarks"]


class BenchmarkListing(BaseModel):
    name: str
    description: str


class ScorerListing(BaseModel):
    name: str
    description: str
    seeded: bool
    probability: bool


class CatalogResult(StageResult):
    schema_version: int = 1
    benchmarks: list[BenchmarkListing]
    scorers: list[ScorerListing]

    def text(self) -> str:
        lines = [f"{b.name:16s} {b.description}" for b in self.benchmarks]
        lines += ["", "scorers (`score --scorers NAME,...`; a package adds its own under the `codelewm_eval.scorers` "
                      "entry-point group):"]
        for s in self.scorers:
            flags = ", ".join(x for x, on in (("seeded", s.seeded), ("probability", s.probability)) if on)
            lines.append(f"  {s.name:14s} {s.description}" + (f" [{flags}]" if flags else ""))
        return "\n".join(lines)


def catalog_stage(config: CatalogConfig, command: list[str] | None = None) -> CatalogResult:
    from .benchmarks import registered
    from .evidence.scorers import scorers

    return CatalogResult(
        benchmarks=[BenchmarkListing(name=n, description=e.description) for n, e in registered().items()],
        scorers=[ScorerListing(name=s.name, description=s.description, seeded=s.seeded, probability=s.probability)
                 for s in scorers().values()])

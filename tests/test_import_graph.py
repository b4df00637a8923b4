"""The package's modules form no import cycle (two modules importing each other, at the top or
inside a function): the library never imports the CLI, and stages do not import each other back."""

from __future__ import annotations

import ast

from .conftest import ROOT


def _graph() -> dict[str, set[str]]:
    files = sorted((ROOT / "codelewm_eval").rglob("*.py"))
    modules = {".".join(f.relative_to(ROOT).with_suffix("").parts): f for f in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        package = package.removesuffix(".__init__")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package if node.level else ""
                target = f"{base}.{node.module}" if base and node.module else (node.module or base)
                for candidate in (target, *(f"{target}.{a.name}" for a in node.names)):
                    for key in (candidate, f"{candidate}.__init__"):
                        if key in modules and key != name:
                            deps.add(key)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in modules and a.name != name}
        graph[name] = deps
    return graph


def test_no_two_modules_import_each_other():
    graph = _graph()
    assert "codelewm_eval.pipeline" in graph and "codelewm_eval.cli.__init__" in graph
    pairs = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph.get(b, ())})
    assert pairs == []


def test_the_library_never_imports_the_cli():
    graph = _graph()
    cli = {m for m in graph if m == "codelewm_eval.cli.__init__" or m.startswith("codelewm_eval.cli.")}
    assert "codelewm_eval.cli.docs" in cli  # the docs generator sits beside the verbs it documents
    offenders = {m: sorted(graph[m] & cli) for m in graph if m not in cli and graph[m] & cli}
    assert offenders == {}


def test_the_arrows_run_one_way():
    """The runs (train, surgery train) do not import the job layer above them; the manifest writer
    at the base does not import the execution layer."""
    graph = _graph()
    upward = {m: sorted(d for d in graph[m] if d.startswith("codelewm_eval.jobs."))
              for m in graph if m.startswith(("codelewm_eval.train.", "codelewm_eval.surgery."))}
    assert {m: d for m, d in upward.items() if d} == {}
    base = ("codelewm_eval.manifest", "codelewm_eval.io", "codelewm_eval.errors", "codelewm_eval.values",
            "codelewm_eval.versions", "codelewm_eval.process_record", "codelewm_eval.artifact")
    higher = ("codelewm_eval.execution", "codelewm_eval.pack", "codelewm_eval.evidence", "codelewm_eval.claims",
              "codelewm_eval.jobs", "codelewm_eval.train", "codelewm_eval.surgery", "codelewm_eval.pipeline")
    assert {m: sorted(d for d in graph[m] if d.startswith(higher)) for m in base
            if any(d.startswith(higher) for d in graph[m])} == {}


# The layers, lowest first: a module imports only from its own layer or lower ones.
LAYERS = [
    ("base", {"__init__", "errors", "io", "values", "versions", "process_record", "artifact", "manifest", "stage",
              "commands", "log", "fingerprint", "arrow_rows", "workers", "checkpoints"}),
    ("foundations", {"sandbox", "secrets", "hub", "benchmarks", "candidates"}),
    ("execution", {"execution"}),
    ("pack", {"pack"}),
    ("evidence", {"evidence", "preflight", "train"}),
    ("claims and loops", {"claims", "report", "surgery", "jobs"}),
    ("flow", {"pipeline", "bench", "bench_evalplus", "catalog", "readers"}),
    ("cli", {"cli"}),
]


def _layer(module: str) -> int:
    part = module.split(".")[1]
    for level, (_, members) in enumerate(LAYERS):
        if part in members:
            return level
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def test_no_import_from_a_lower_layer_to_a_higher_one():
    graph = _graph()
    upward = sorted(f"{a} ({LAYERS[_layer(a)][0]}) imports {b} ({LAYERS[_layer(b)][0]})"
                    for a in graph for b in graph[a] if _layer(b) > _layer(a))
    assert upward == []


def test_no_function_over_60_lines():
    long = []
    for path in sorted((ROOT / "codelewm_eval").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} "
                            f"({node.end_lineno - node.lineno + 1} lines)")
    assert long == []

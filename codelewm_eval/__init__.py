"""codelewm-eval: evaluation and claims auditing for code-model research."""

__version__ = "0.1.0"

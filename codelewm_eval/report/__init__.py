"""`codelewm-eval report`: one static HTML page per run, evidence bundle or comparison."""

"""What runs inside the sandbox: stdlib only (site-packages is hidden there), bound read-only.

Three roles, all inside one bubblewrap sandbox:

* T, the *tester*, is the worker's main process. It reads jobs from the orchestrator, runs
  the trusted test code in-process and calls into the candidate only through an RPC
  channel that carries plain data. T is non-dumpable (no other process of the sandbox can
  ptrace it or read its memory), never executes candidate code, and alone writes the
  verdict to the orchestrator, on a pipe no candidate ever holds.
* Z, the *zygote*, is forked by T at start-up, before T reads any job, so Z never holds
  test code. It pre-forks one candidate process per job and, after the job, kills it and
  every process it spawned and wipes the scratch directories.
* C, the *candidate* process, forked by Z. It executes the candidate program and then
  serves remote calls. Everything it sends back is tagged JSON that decodes only into genuine
  builtin values (T decodes it; io outputs T forwards unparsed, and the orchestrator decodes each
  alone); anything else stays in C as a numbered reference that equals only itself.

Always-equal objects, patched builtins, early exits and printed markers in C therefore
cannot make T report a pass, and C cannot see the tests: they were never in its memory.

Frames on every pipe are a 4-byte big-endian length followed by the payload.
"""

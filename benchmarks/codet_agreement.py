"""Agreement between our labels for the CodeT CodeGen-16B samples and the COMPUTED labels
file shipped beside them (one `passed[]` list per task, in sample order).

    python benchmarks/codet_agreement.py RESULTS.jsonl \
        ../shared/data/samples/humaneval/codet_HumanEval_codegen16B_n100_labels.COMPUTED.jsonl.gz
"""

from __future__ import annotations

import collections
import gzip
import json
import sys


def main(results_path: str, labels_path: str) -> None:
    labels = {}
    with gzip.open(labels_path, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            labels[row["task_id"]] = row["passed"]
    agree = total = 0
    diffs = collections.Counter()
    for line in open(results_path):
        r = json.loads(line)
        theirs = labels[r["task_id"]][r["origin"]["sample_index"]]
        total += 1
        if theirs == r["passed"]:
            agree += 1
        else:
            diffs[(r["task_id"], r["passed"], r["status"], (r["error"] or "")[:60])] += 1
    print(f"agreement {agree}/{total} = {100 * agree / total:.2f}%")
    for key, n in diffs.most_common(15):
        print(f"{n:4d} {key}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

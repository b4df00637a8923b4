"""Cross-benchmark pass/fail packs: rows, grouped stratified splits, statistics."""

"""Reliability diagram and ROC curve of p_pass, per seed and held-out split (PNG, matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import metrics as M


def write_plots(directory: Path, score_sets, passed: np.ndarray, splits: np.ndarray, n_bins: int = 10) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for ss in score_sets:
        if "p_pass" not in ss.values:
            continue
        tag = f"seed-{ss.seed}" if ss.seed is not None else Path(ss.path).stem
        for split in ("val", "test"):
            mask = (splits == split) & np.isfinite(ss.values["p_pass"])
            y, p = passed[mask], ss.values["p_pass"][mask]
            if y.size == 0 or y.all() or not y.any():
                continue
            bins = M.calibration_bins(p, n_bins, "width")
            table = M.calibration_table(y, p, bins)
            fig, ax = plt.subplots(figsize=(4.5, 4.5))
            ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
            filled = table["count"] > 0
            ax.plot(table["mean_p"][filled], table["observed"][filled], marker="o")
            ax.set(xlabel="mean p_pass", ylabel="observed pass rate", xlim=(0, 1), ylim=(0, 1),
                   title=f"reliability, {split} ({tag}), ECE {M.ece(y, p, bins):.3f}")
            path = directory / f"reliability_{tag}_{split}.png"
            fig.savefig(path, dpi=100, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
            fpr, tpr, _ = roc_curve(y, p)
            fig, ax = plt.subplots(figsize=(4.5, 4.5))
            ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
            ax.plot(fpr, tpr)
            ax.set(xlabel="false positive rate", ylabel="true positive rate",
                   title=f"ROC, {split} ({tag}), AUC {M.roc_auc(y, p):.3f}")
            path = directory / f"roc_{tag}_{split}.png"
            fig.savefig(path, dpi=100, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
    return written

"""`best_so_far.png`: best fitness against evaluations, per strategy, one panel per fidelity."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from evo_lacer.runs._run_record import _fidelity_rank, _Run


def _plot(runs: list[_Run], path: Path) -> None:
    from matplotlib.figure import Figure

    fidelities = sorted({f for run in runs for f in run.fidelities()}, key=_fidelity_rank) or ["full"]
    fig = Figure(figsize=(7.5, 4.5 if len(fidelities) == 1 else 3.2 * len(fidelities)), layout="tight")
    axes = fig.subplots(len(fidelities), 1, sharex=True, squeeze=False)[:, 0]
    strategies = sorted({r.strategy for r in runs})
    for ax, fidelity in zip(axes, fidelities):
        _plot_fidelity(ax, runs, strategies, None if len(fidelities) == 1 else fidelity)
        ax.set_ylabel("best fitness so far" if len(fidelities) == 1 else f"best so far ({fidelity})")
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("evaluations (all fidelities)" if len(fidelities) > 1 else "evaluations")
    axes[0].set_title("Best fitness vs evaluations" + (", one panel per fidelity (their fitness scales "
                                                       "differ)" if len(fidelities) > 1 else ""))
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format=path.suffix.lstrip(".") or "png")
    os.replace(tmp, path)  # a kill leaves the old plot or the new one, whole


def _plot_fidelity(ax: Any, runs: list[_Run], strategies: list[str], fidelity: str | None) -> None:
    plotted = False
    for index, strategy in enumerate(strategies):
        group = [r for r in runs if r.strategy == strategy]
        label = strategy if len(group) == 1 else f"{strategy} ({len(group)} runs)"
        for run in group:
            curve = run.best_so_far(fidelity)
            if not curve or all(math.isnan(v) for v in curve):
                continue
            ax.step(range(1, len(curve) + 1), curve, where="post", color=f"C{index % 10}",
                    linewidth=1.8 if len(group) == 1 else 1.0, alpha=1.0 if len(group) == 1 else 0.7,
                    label=label)
            label = "_nolegend_"
            plotted = True
    if not plotted:
        ax.text(0.5, 0.5, "no successful evaluation yet", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="lower right")

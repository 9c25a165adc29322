"""A tqdm progress bar over evaluations that shows the best fitness so far."""

from __future__ import annotations

from typing import Any

from evo_lacer.engine._harness import Progress


class ProgressBar:
    """Callable given to the harness; `close()` when the search ends."""

    def __init__(self, budget: int, initial: int = 0, desc: str = "search", **tqdm_kwargs: Any) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=budget, initial=initial, desc=desc, unit="eval", **tqdm_kwargs)

    def __call__(self, progress: Progress) -> None:
        self.bar.n = progress.evaluated
        best = "n/a" if progress.best_fitness is None else f"{progress.best_fitness:.4g}"
        self.bar.set_postfix(best=best, gen=progress.generation, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()

"""Search strategies compared on the mixed-autonomy ring road: best fitness vs evaluations.

    python benchmarks/compare.py                 # default: cheap fidelity, NumPy ring, minutes
    python benchmarks/compare.py --smoke         # 4 strategies, 1 seed, budget 2, no LLM (< 1 min)
    python benchmarks/compare.py --backend sumo --fidelity full --steps 4096 --budget 10 --seeds 2 \
        --workers 2 --llm embedded --resume --out benchmarks/out/compare_full   # the README's full run
    evo-lacer compare ...                        # the same, from the console script

The setting (every option is a field of ``evo_lacer.compare.CompareConfig``):

- **Task**: ``evo_lacer/RingTraffic-v0`` (Flow's Sugiyama ring: 22 vehicles, 230 m, 0.1 s
  simulation steps, 0.5 s control steps, one automated vehicle; observation = ``ego`` vector,
  ``history`` time series, ``bev`` 40x40 RGB image, ``instruction`` token ids), episodes of
  ``--horizon`` control steps after a 75 s warm-up, on ``--backend numpy`` (same dynamics,
  in-process) or ``sumo`` (Eclipse SUMO through libsumo, subprocess envs for ``--n-envs`` > 1).
- **Fidelity** ``cheap`` (default) with ``--cheap-fidelity ppo-short`` (default): the full
  fidelity's PPO below for ``--short-fraction`` (0.25) of ``--steps``, one seed. It needs no expert,
  and on BabyAI-GoToRedBallNoDists it ranked 27 encoders as the mean of several full PPO runs
  does (rho +0.71 [+0.49, +0.84]; ``docs/fidelity.md``). On the ring it costs about what
  imitation costs.
- **Fidelity** ``cheap`` with ``--cheap-fidelity imitation`` (the default before 2026-11-30,
  session 11): ``ImitationEvaluator`` -- the scripted ``ExpertController`` is rolled out once
  (``--dataset-steps`` transitions, action noise 0.3, labels = clean expert actions); each
  candidate encoder + a linear head is trained by behaviour cloning for ``--grad-steps`` Adam
  steps (batch 64, lr 3e-3); fitness = imitation skill = 1 - held-out MSE / MSE of the best
  constant (held-out = last 25 % of the episodes); feature statistics on the dataset; the
  cloned policy drives one held-out episode (``reward of best``).
- **Fidelity** ``full``: ``RLEvaluator`` — PPO (SB3 defaults except n_steps/batch fitted to
  the budget: n_steps <= 512, batch 64, 10 epochs, lr 3e-4) for ``--steps`` env steps; fitness
  = mean episodic reward over ``--eval-episodes`` held-out episodes (seeds 1_000_000 + k, the
  same for every candidate, never used in training), averaged over ``--ppo-seeds`` PPO agents.
- **Strategies** (one harness, same evaluator, budget and seeds; search seeds 0..seeds-1):
  random, evolution, tpe, hybrid, lacer, genius, llmastool, and LACER's nested feedback
  ablation, each hiding one more thing from the LLM (``SearchConfig.llm_channels`` and
  ``initial_evaluations``; selection always uses the fitness): ``lacer-nofeatures`` (no
  feature statistics), ``lacer-noreward`` (no features, no reward: neither the fitness nor the
  episodic reward is shown, and the history is listed most recent first instead of best
  first), ``lacer-noinit`` (also no initial evaluation: the LLM designs from the first
  candidate on, instead of after ``initial_evaluations`` = 2 random designs).
- **LLM**: ``--llm auto`` (embedded llama.cpp SmolLM2 when no Ollama server), requests time
  out after ``--llm-timeout-s`` and fall back to random choices (counted as fallbacks).
- **References**: the expert controller (its reward on the held-out episodes; imitation
  skill 1 by definition) and SB3's default ``CombinedExtractor`` evaluated by the same
  evaluator and budget, once per seed. ``--confirm-steps N`` re-trains every run's best
  tree and the CombinedExtractor with PPO for N steps (the promotion of the cheap fidelity's
  winners to the full one).
- **Outputs** in ``--out`` (default ``benchmarks/out/compare``): ``compare.md`` (final best
  mean ± std over seeds, reward of the best, evaluations to reach ``--threshold`` — default
  the median final best of all runs —, LLM calls / tokens / seconds / fallbacks, wall
  time), ``compare.png`` (best-so-far curves, mean and 95 % Student-t band over seeds, the
  references as horizontal lines), ``compare.json`` (raw numbers) and ``runs/`` (every run
  folder, readable by ``evo-lacer report``). ``--resume`` keeps the run folders already in
  ``--out``: finished runs are read back and killed ones continue, so a long comparison that
  was interrupted loses nothing.

Budgets 12, 24 and 48 side by side, with bootstrap intervals of the median, mean ranks and
best-so-far bands, on the ring's cheap fidelity and a supervised multi-source task of our own:
``benchmarks/hybrid_budgets.py`` (the README's "Does the hybrid beat its baselines?").
"""

from __future__ import annotations

import sys

from evo_lacer.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))

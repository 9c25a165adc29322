"""llm_trust: when the hybrid takes an LLM arm's answer without its screen (`AnswerTrust`)."""

from __future__ import annotations

import json

import pytest
from search_helpers import FirstOptionBackend, SeededBackend, rich_fitness, small_space
from test_llm_check import read_evidence

from evo_lacer.api import search
from evo_lacer.engine import SearchConfig
from evo_lacer.engine._arms import EDIT_LLM, EDIT_RANDOM, LLM_ARMS, ArmBandit
from evo_lacer.engine._trust import AnswerTrust, resolve_trust
from evo_lacer.errors import ConfigError
from evo_lacer.llm import LLMReply, LLMRequest
from evo_lacer.runs import write_report
from evo_lacer.runs._html import run_data
from evo_lacer.runs._report import load_runs


def record(trust: AnswerTrust, answers: tuple[int, int], picks: tuple[int, int]) -> AnswerTrust:
    for won, n in ((True, answers[0]), (False, answers[1])):
        for _ in range(n):
            trust.answer_scored(EDIT_LLM, won)
    for won, n in ((True, picks[0]), (False, picks[1])):
        for _ in range(n):
            trust.pick_scored(won)
    return trust


def test_the_screen_mode_never_trusts_and_draws_nothing() -> None:
    trust = record(AnswerTrust("screen", seed=0), (30, 0), (0, 30))
    state = trust.state_dict()["rng"]
    assert not any(trust.trusts(EDIT_LLM) for _ in range(50))
    assert trust.state_dict()["rng"] == state and trust.trusted == 0


def test_learned_trust_follows_how_the_answers_did_against_the_screens_picks() -> None:
    good = record(AnswerTrust("learned", seed=0), (16, 4), (8, 12))
    bad = record(AnswerTrust("learned", seed=0), (3, 17), (12, 8))
    fresh = AnswerTrust("learned", seed=0)
    assert sum(good.trusts(EDIT_LLM) for _ in range(200)) > 180
    assert sum(bad.trusts(EDIT_LLM) for _ in range(200)) < 10
    assert 60 < sum(fresh.trusts(EDIT_LLM) for _ in range(200)) < 140  # nothing known: a coin
    assert good.to_dict()["answers"] == {EDIT_LLM: {"wins": 16, "losses": 4}}
    assert good.to_dict()["screen_picks"] == {"wins": 8, "losses": 12}
    again = AnswerTrust("learned", seed=0)
    again.load_state_dict(good.state_dict())
    assert [again.trusts(EDIT_LLM) for _ in range(40)] == [good.trusts(EDIT_LLM) for _ in range(40)]


def test_a_bad_trust_setting_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="llm_trust must be 'auto', 'screen' or 'learned', got 'always'"):
        SearchConfig(llm_trust="always")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="the checkpoint's llm_trust is 'screen'"):
        AnswerTrust("learned", seed=0).load_state_dict(AnswerTrust("screen", seed=0).state_dict())


def test_auto_trusts_a_model_only_when_its_check_found_it_above_chance() -> None:
    assert SearchConfig().llm_trust == "screen"
    assert resolve_trust("auto", {"verdict": "above chance"}) == "learned"
    for check in ({"verdict": "at chance"}, {"verdict": "below chance"}, None, {"verdict": 3}, []):
        assert resolve_trust("auto", check) == "screen"  # type: ignore[arg-type]
    for setting in ("screen", "learned"):
        assert resolve_trust(setting, {"verdict": "above chance"}) == setting
        assert resolve_trust(setting, None) == setting


class ReadsTheCheck(SeededBackend):
    """Answers the LLM check's probes (the run's first requests) from their evidence, then as
    SeededBackend: a model the check finds above chance."""

    def __init__(self, probes: int) -> None:
        super().__init__()
        self.probes = probes

    def complete(self, request: LLMRequest) -> LLMReply:
        if len(self.requests) >= self.probes:
            return super().complete(request)
        self.requests.append(request)
        (field, prop), = request.schema["properties"].items()
        value = {field: read_evidence(request.prompt, field, prop["enum"])}
        return LLMReply(value, json.dumps(value), 10, 5, 0.0, self.name, self.model)


@pytest.mark.parametrize(("backend", "probes", "mode"), [
    (SeededBackend(), 0, "screen"), (FirstOptionBackend(), 6, "screen"), (ReadsTheCheck(6), 6, "learned")])
def test_a_search_resolves_auto_from_its_own_check(tmp_path, backend, probes: int, mode: str) -> None:
    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=12,
                    llm=backend, seed=0, run_dir=tmp_path / "run", reflection=False, llm_check_probes=probes,
                    llm_trust="auto")
    check = tmp_path / "run" / "artifacts" / "llm_check.json"
    assert check.exists() == bool(probes)
    expected = "above chance" if mode == "learned" else "at chance"
    if probes:
        assert json.loads(check.read_text())["verdict"] == expected
    assert result.accounting["llm_trust"]["mode"] == mode
    why = f"the LLM check found the model {expected}" if probes else "no LLM check result"
    assert f"`llm_trust=auto` became `{mode}`: {why}" in write_report(tmp_path / "run").read_text()


def test_llm_arms_pay_only_for_the_time_beyond_a_random_fill() -> None:
    """Every screened slot makes the screen's random fills; an LLM arm is charged only for the
    seconds beyond what edit:random's slots take, so a fast model is not charged for the screen."""
    bandit = ArmBandit((EDIT_RANDOM, EDIT_LLM), seed=0, cost_weight=1.0)
    for _ in range(20):
        for arm in (EDIT_RANDOM, EDIT_LLM):
            bandit.spent(arm, 0.5)  # half an evaluation's time, all of it the screen's
            bandit.scored(arm, True, eval_seconds=1.0)
    picks = sum(bandit.choose() == EDIT_LLM for _ in range(300))
    assert 110 < picks < 190
    for _ in range(20):
        bandit.spent(EDIT_LLM, 10.0)  # now the model is slow: ~5 evaluations' worth per child
    assert sum(bandit.choose() == EDIT_LLM for _ in range(300)) < 60


def test_a_learned_trust_takes_some_answers_unscreened_and_records_them(tmp_path) -> None:
    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=30,
                    llm=SeededBackend(), seed=3, run_dir=tmp_path / "run", arm_cost_weight=0.0,
                    reflection=False, llm_trust="learned", llm_check_probes=0)
    asked = [c for c in result.history if c.extra.get("arm") in LLM_ARMS]
    trusted = [c for c in asked if c.extra.get("llm_answer") == "trusted"]
    assert trusted, f"no answer was taken unscreened among {len(asked)} LLM slots"
    assert all(c.extra["llm_won"] and "screen" not in c.extra and c.designer == "llm" for c in trusted)
    acc = result.accounting["llm_trust"]
    assert acc["mode"] == "learned" and acc["trusted"] == len(trusted)
    evaluated = sum(r["wins"] + r["losses"] for r in acc["answers"].values())
    assert evaluated == sum(1 for c in asked if c.extra.get("llm_won"))
    report = write_report(tmp_path / "run").read_text()
    assert f"`llm_trust=learned`: {len(trusted)} LLM answers taken without the screen" in report
    page = run_data(load_runs([tmp_path / "run"])[0])  # the HTML page's data: the same line
    assert any(line.startswith(f"`llm_trust=learned`: {len(trusted)} LLM answers") for line in page["trust"])

"""The constrained reward's parts: calibrated thresholds and PID multipliers (on a synthetic constraint)."""

from __future__ import annotations

import pytest

from recgen.rewards.constraints import K_AGENT, Constraints, PIDMultiplier, Threshold, calibrate


def test_thresholds_are_mean_plus_k_sigma_of_the_baseline():
    t = calibrate([0.6, 0.7, 0.8], K_AGENT)
    assert t.tau == pytest.approx(0.7 + 1.1 * 0.1)
    with pytest.raises(ValueError):
        calibrate([0.5], K_AGENT)
    with pytest.raises(ValueError):
        calibrate([0.5, float("nan")], K_AGENT)


def _run(pid: PIDMultiplier, errors: list[float]) -> list[float]:
    return [pid.update(e) for e in errors]


def test_lambda_rises_while_violated_and_falls_back_when_satisfied():
    lam = _run(PIDMultiplier(), [0.2] * 10 + [-0.2] * 10)
    assert all(b > a for a, b in zip(lam[:9], lam[1:10], strict=True))  # rises every violated step
    assert lam[-1] == 0.0 and lam[12] < lam[9]  # falls once it holds, to zero


def test_no_wind_up_after_a_long_violation():
    """A naive integrator keeps λ at its cap for as long as the violation lasted; this one lets go at once."""
    pid = PIDMultiplier(kp=0.5, ki=0.5, lam_max=2.0)
    _run(pid, [1.0] * 200)
    assert pid.lam == 2.0 and pid.integral <= 4.0  # saturated, but the integral did not grow with time
    after = _run(pid, [-0.5] * 10)
    assert after[2] < 2.0 and after[-1] == 0.0
    assert _run(pid, [0.3])[0] > 0  # and no negative wind-up: a new violation is answered at once


def test_a_constrained_agent_is_pushed_above_its_threshold():
    """A synthetic agent whose reward improves with the pressure λ on it; the controller finds the λ that
    keeps the constraint and the constrained reward penalises only shortfalls."""
    c = Constraints({"audio": Threshold(mu=0.6, sigma=0.1, k=1.0)})  # τ = 0.7
    reward = 0.5
    for _ in range(40):
        c.step([{"audio": reward}])
        reward = min(1.0, 0.5 + 0.15 * c.multipliers["audio"].lam)
    assert reward >= 0.7 - 0.02
    assert c.reward(1.0, {"audio": 0.9}) == 1.0  # no shortfall, no penalty
    assert c.reward(1.0, {"audio": 0.6}) == pytest.approx(1.0 - c.multipliers["audio"].lam * 0.1)


def test_the_controllers_state_is_kept_between_batches(tmp_path):
    c = Constraints({"visual": Threshold(0.5, 0.1, 1.1), "alignment": Threshold(0.4, 0.2, 0.8)})
    c.step([{"visual": 0.3, "alignment": 0.9}])
    path = c.save(tmp_path / "constraints.json")
    again = Constraints.load(path)
    assert again.step([{"visual": 0.4, "alignment": 0.9}]) == c.step([{"visual": 0.4, "alignment": 0.9}])
    assert again.multipliers["visual"].history == c.multipliers["visual"].history

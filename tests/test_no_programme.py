"""The no-programme group: the same members and random numbers with nothing to earn or burn,
so that the summary shows the programme's own effect (issue 15: "GMV from loyalty responses"
was a model expectation, not the measured difference)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from world_helpers import EFFECTS_OFF, ROOT, scenario_file

from sim.cli import main
from sim.execute import summary_spec
from sim.metrics.summary import summarise
from sim.runner import run_scenario
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.model import NO_PROGRAMME

EXPERIMENT = "\n[experiment]\nno_programme = true\n"


def test_the_group_has_every_earn_rule_and_campaign_off(tmp_path: Path) -> None:
    scn = load_scenario(scenario_file(tmp_path, extra=EXPERIMENT))
    assert [a.group for a in scn.arms] == ["all", NO_PROGRAMME]
    base, none = scn.arms[0].policy, scn.arms[1].policy
    assert any(r.enabled for r in base.earn.values())
    assert not any(r.enabled for r in none.earn.values())
    assert not any(c.enabled for c in none.campaigns.values())
    assert scn.reference == base  # behaviour is measured against the programme as observed
    flag = load_scenario(scenario_file(tmp_path, name="flag"), no_programme=True)
    assert [a.group for a in flag.arms] == ["all", NO_PROGRAMME]
    assert flag.arms[1].policy_hash == scn.arms[1].policy_hash


@pytest.mark.parametrize(
    "extra,field,words",
    [
        (
            '\n[experiment]\ndesign = "split"\nno_programme = true\n'
            "[experiment.groups.a]\nshare = 1.0\n",
            "experiment",
            "needs the twin design",
        ),
        (
            "\n[experiment]\nno_programme = true\n[experiment.groups.no_programme]\n",
            "experiment",
            "the no-programme group's name",
        ),
        ("\n[experiment]\n", "experiment", "give at least one group"),
    ],
)
def test_bad_experiments_are_refused_naming_the_field(
    tmp_path: Path, extra: str, field: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(scenario_file(tmp_path, extra=extra))
    text = str(err.value)
    assert field in text and words in text, text


def test_with_every_response_off_the_programme_changes_nothing(tmp_path: Path) -> None:
    """Exact: with no behaviour mechanism, members buy by the baseline alone whatever the
    programme, so the programme's effect on GMV and orders is 0 while its points are not."""
    scn = load_scenario(scenario_file(tmp_path, extra=EXPERIMENT, replications=2), sets=EFFECTS_OFF)
    result = run_scenario(scn)
    summary = summarise(result.tables, summary_spec(scn))
    assert summary.experiment is None and summary.programme_effect is not None
    effect = summary.programme_effect["all"]
    assert effect.vs == NO_PROGRAMME
    assert effect.metrics["incremental_gmv"].mean == 0
    assert effect.differences["orders"].mean == 0
    assert effect.differences["points_issued"].mean is not None
    assert effect.differences["points_issued"].mean > 0
    assert summary.metric(NO_PROGRAMME, "points_issued").mean == 0


def test_the_programme_raises_gmv_and_the_cli_reports_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["run", str(ROOT / "scenarios" / "ecommerce.toml"), "--members", "2000",
         "--replications", "2", "--workers", "1", "--no-report", "--no-programme",
         "--set", "horizon.runoff_days=0", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "The programme itself ('all' against 'no_programme'" in result.output
    summary = json.loads((out / "summary.json").read_text())
    effect = summary["programme_effect"]["all"]
    assert effect["vs"] == NO_PROGRAMME
    assert effect["metrics"]["incremental_gmv"]["mean"] > 0
    assert summary["metrics"][NO_PROGRAMME]["points_issued"]["mean"] == 0
    reported = {r["key"]: r for r in summary["reported"]}  # the article's figures beside ours
    assert reported["points_cost_share_of_gmv"]["reported"] == 0.023
    assert reported["points_cost_share_of_gmv"]["simulated"] > 0
    assert reported["repurchase_rate_before"]["simulated"] is not None


def test_a_baseline_observed_without_a_programme_is_measured_against_none(tmp_path: Path) -> None:
    """The coffee scenario's baseline rates are how members buy without the programme
    (reference_policy = "none"): the reference has nothing to earn, and the report says so."""
    scn = load_scenario(ROOT / "scenarios" / "coffee_beans.toml")
    assert not any(r.enabled for r in scn.reference.earn.values())
    assert any(r.enabled for r in scn.arms[0].policy.earn.values())
    notes = summary_spec(scn).assumptions
    assert any("measured against no programme" in n for n in notes)

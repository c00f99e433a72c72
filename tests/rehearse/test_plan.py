"""The plan a rehearsal walks, read from each environment's rendered folder: the analysis steps at shadow
then each canary weight, every argument resolved as Argo resolves it, every rendered condition inside the
subset `rollgate.rehearse.conditions` evaluates; and everything the rehearsal cannot reproduce refused by
name (a rendered copy edited in tmp_path)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts import release
from rollgate.contracts.errors import ContractError
from rollgate.manifests import render
from rollgate.manifests.deploy_config import environments, load_deploy_config
from rollgate.rehearse import plan
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

ENVS = environments(ROOT)
HASHES = plan.Hashes("c1", "s1")
DEFAULTS = {"prometheus": "http://127.0.0.1:9", "interval": "3s", "window": "6s"}
ROLLOUT = "fraud-detector-rollout.yaml"
TEMPLATE = "fraud-detector-analysistemplate.yaml"


def _rendered(env: str, out: Path) -> Path:
    """`env` rendered from its deploy config, templates and committed release record into `out`."""
    champion = release.read_env(ROOT, env)
    if champion is None:
        pytest.skip(f"{env} pins no model: nothing to render")
    render.write(render.render_texts(load_deploy_config(ROOT, env), champion), out)
    return out


def _read(folder: Path, **kwargs: Any) -> plan.Plan:
    return plan.read(folder, HASHES, defaults=kwargs.pop("defaults", DEFAULTS), **kwargs)


def _edit(folder: Path, name: str, change: Callable[[dict[str, Any]], object]) -> None:
    path = folder / name
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = doc["spec"]["strategy"]["canary"]["steps"]
    return steps


def _analysis_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s["analysis"] for s in _steps(doc) if "analysis" in s]


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    """A copy of the committed staging folder, to edit."""
    return Path(shutil.copytree(ROOT / "manifests" / "staging", tmp_path / "staging"))


@pytest.mark.parametrize("env", ENVS)
def test_every_committed_environment_reads_as_shadow_then_each_canary_weight(env: str) -> None:
    walked = _read(ROOT / "manifests" / env)
    cfg = load_deploy_config(ROOT, env)
    analysed = [s for s in walked.steps if s.analysis is not None]
    assert [s.stage for s in analysed] == ["shadow", *(f"{w}%" for w in cfg.rollout.canary_weights[:-1])]
    assert walked.namespace == cfg.namespace and walked.full.canary_weight == 100
    for step in analysed:
        assert step.analysis is not None
        args = step.analysis.args
        assert (args["canary-hash"], args["stable-hash"], args["namespace"]) == ("c1", "s1", cfg.namespace)
        assert (args["prometheus"], args["interval"], args["window"]) == ("http://127.0.0.1:9", "3s", "6s")
        assert args["min-requests"] == str(cfg.analysis.min_requests)
        for metric in step.analysis.metrics:
            assert metric.interval_s == 3 and metric.address == "http://127.0.0.1:9"
            assert metric.count == cfg.analysis.samples and metric.failure_limit == cfg.analysis.failure_limit
            assert "{{" not in metric.query and "[6s]" in metric.query
            assert f'namespace="{cfg.namespace}"' in metric.query and 'rollouts_pod_template_hash="c1"' in metric.query
            assert metric.success is not None and metric.failure is not None  # parsed within the subset


@pytest.mark.parametrize("env", ENVS)
def test_every_rendered_condition_is_inside_the_subset_the_rehearsal_evaluates(env: str, tmp_path: Path) -> None:
    """THE check: a template change that renders a condition outside the subset fails here (plan.read parses
    every condition, refusing what it cannot evaluate exactly)."""
    walked = _read(_rendered(env, tmp_path / env))
    conditions = [(m.success_text, m.failure_text) for s in walked.steps if s.analysis for m in s.analysis.metrics]
    assert conditions and all(success and failure for success, failure in conditions)


def test_a_condition_outside_the_subset_is_refused_naming_the_file_and_field(staging: Path) -> None:
    _edit(staging, TEMPLATE, lambda d: d["spec"]["metrics"][0].update(successCondition="all(result, # < 1)"))
    with pytest.raises(ContractError, match=re.escape(f"{staging / TEMPLATE}: spec.metrics[0].successCondition")):
        _read(staging)


def test_hashes_and_overrides_replace_only_declared_arguments(staging: Path) -> None:
    walked = _read(staging, overrides={"min-requests": "7"})
    (first, *_) = [s.analysis for s in walked.steps if s.analysis]
    assert first is not None and first.args["min-requests"] == "7"
    assert all(">= 7)" in m.query for m in first.metrics)


def test_the_templates_defaults_stand_without_rehearsal_defaults(staging: Path) -> None:
    walked = _read(staging, defaults={})
    (first, *_) = [s.analysis for s in walked.steps if s.analysis]
    assert first is not None and first.args["interval"] == "60s" and first.metrics[0].interval_s == 60


def test_an_override_no_template_declares_is_refused_by_name(staging: Path) -> None:
    with pytest.raises(ContractError, match=r"argument\(s\) nope: declared by no template"):
        _read(staging, overrides={"nope": "1"})


def test_a_template_argument_without_a_value_is_refused(staging: Path) -> None:
    def drop(doc: dict[str, Any]) -> None:
        for analysis in _analysis_steps(doc):
            analysis["args"] = [a for a in analysis["args"] if a["name"] != "namespace"]

    _edit(staging, ROLLOUT, drop)
    with pytest.raises(ContractError, match=r"steps\[3\]\.analysis: argument\(s\) namespace have no value"):
        _read(staging)


@pytest.mark.parametrize(
    ("step", "named"),
    [
        ({"experiment": {"templates": [{"name": "x", "specRef": "canary"}]}}, "a experiment step is not rehearsed"),
        ({"setHeaderRoute": {"name": "h", "match": [{"headerName": "x"}]}}, "a setHeaderRoute step is not rehearsed"),
        ({"setMirrorRoute": {"name": "shadow", "match": [{"headers": {"x": {"exact": "1"}}}]}},
         "only a path prefix match is rehearsed"),
        ({"setMirrorRoute": {"name": "shadow", "match": [{"path": {"exact": "/v1/predict"}}]}},
         "only a path prefix match is rehearsed"),
    ],
    ids=["experiment", "setHeaderRoute", "mirror-by-header", "mirror-by-exact-path"],
)  # fmt: skip
def test_a_step_the_rehearsal_cannot_reproduce_is_refused_by_name(
    staging: Path, step: dict[str, Any], named: str
) -> None:
    _edit(staging, ROLLOUT, lambda d: _steps(d).insert(1, step))
    with pytest.raises(ContractError, match=re.escape(f"{staging / ROLLOUT}: spec.strategy.canary.steps[1]")) as e:
        _read(staging)
    assert named in str(e.value)


def test_an_analysis_template_not_in_the_folder_is_refused(staging: Path) -> None:
    _edit(staging, ROLLOUT, lambda d: _analysis_steps(d)[0]["templates"][0].update(templateName="elsewhere"))
    with pytest.raises(ContractError, match=r"steps\[3\]\.analysis\.templates\[0\]: 'elsewhere' is not a template"):
        _read(staging)


def test_a_step_argument_the_template_does_not_declare_is_refused(staging: Path) -> None:
    _edit(staging, ROLLOUT, lambda d: _analysis_steps(d)[0]["args"].append({"name": "stray", "value": "1"}))
    with pytest.raises(ContractError, match=r"analysis\.args\[3\]: 'stray' is declared by no template it uses"):
        _read(staging)


def _second_template(folder: Path, args: list[dict[str, Any]]) -> None:
    """A second template in the folder, declaring `args`, used by every analysis step beside the first."""
    doc = yaml.safe_load((folder / TEMPLATE).read_text(encoding="utf-8"))
    doc["metadata"]["name"] = "second"
    doc["spec"]["args"] = args
    doc["spec"]["metrics"] = [dict(doc["spec"]["metrics"][0], name="second-metric")]
    (folder / "second-analysistemplate.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    _edit(folder, ROLLOUT, lambda d: [a["templates"].append({"templateName": "second"}) for a in _analysis_steps(d)])


def test_two_templates_declaring_one_argument_with_different_defaults_are_refused(staging: Path) -> None:
    mine = yaml.safe_load((staging / TEMPLATE).read_text(encoding="utf-8"))["spec"]["args"]
    _second_template(staging, [dict(a, value="999") if a["name"] == "min-requests" else a for a in mine])
    with pytest.raises(ContractError, match=r"spec\.args\[min-requests\]: declared again with another value"):
        _read(staging)


def test_an_argument_one_template_leaves_without_a_value_takes_the_others(staging: Path) -> None:
    """Argo merges the templates' args: a value given by one is not undone by another's bare declaration."""
    mine = yaml.safe_load((staging / TEMPLATE).read_text(encoding="utf-8"))["spec"]["args"]
    _second_template(staging, [{"name": a["name"]} for a in mine])
    walked = _read(staging, defaults={})
    (first, *_) = [s.analysis for s in walked.steps if s.analysis]
    assert first is not None and first.args["min-requests"] == "50"
    assert [m.name for m in first.metrics][-1] == "second-metric"


def test_dry_run_metrics_are_matched_as_argo_matches_them(staging: Path) -> None:
    """Argo's dryRun metricName is a regular expression searched in each metric's name (regexp.MatchString)."""
    _edit(staging, TEMPLATE, lambda d: d["spec"].update(dryRun=[{"metricName": "score"}]))
    (first, *_) = [s.analysis for s in _read(staging).steps if s.analysis]
    assert first is not None and first.dry_run == {"mean-score-ratio", "score-distribution"}


@pytest.mark.parametrize("pattern", ["nothing-matches", "*"])
def test_a_dry_run_rule_matching_no_metric_is_refused(staging: Path, pattern: str) -> None:
    _edit(staging, TEMPLATE, lambda d: d["spec"].update(dryRun=[{"metricName": pattern}]))
    with pytest.raises(ContractError, match=r"dryRun\[0\]"):
        _read(staging)


def test_a_folder_without_one_rollout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="expected one Rollout, found 0"):
        plan.read(tmp_path, HASHES)

"""configs/deploy/<env>.yaml: the shipped ones load, every bad input names the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rollgate.contracts.errors import ContractError
from rollgate.manifests.deploy_config import environments, load_deploy_config, parse
from tests.helpers import ROOT

pytestmark = pytest.mark.unit

SHIPPED = yaml.safe_load((ROOT / "configs/deploy/prod.yaml").read_text())


def test_shipped_configs_load() -> None:
    assert environments(ROOT) == ["prod", "staging"]
    for env in environments(ROOT):
        assert load_deploy_config(ROOT, env).env == env


def test_every_field_to_set_is_marked() -> None:
    text = (ROOT / "configs/deploy/prod.yaml").read_text()
    keys = ("namespace:", "host:", "repository:", "digest:", "repo_url:", "github_repo:", "prometheus_url:", "name:")
    for key in (*keys, "email:"):
        (line_no,) = [i for i, line in enumerate(text.splitlines()) if line.strip().startswith(key)]
        lines = text.splitlines()
        assert "ADOPT" in lines[line_no] or "ADOPT" in lines[line_no - 1], key


def _with(path: str, value: Any) -> dict[str, Any]:
    raw = yaml.safe_load(yaml.safe_dump(SHIPPED))
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node[p]
    node[last] = value
    return raw


BAD = [
    ("unknown key", _with("rollout.canary_weigths", [5, 100]), "rollout.canary_weigths: unknown key"),
    ("weights not increasing", _with("rollout.canary_weights", [25, 5, 100]), "must increase strictly"),
    ("weights not ending at 100", _with("rollout.canary_weights", [5, 25, 50]), "must end at 100"),
    ("weight above 100", _with("rollout.canary_weights", [5, 150]), "within 1..100"),
    ("threshold out of range", _with("analysis.max_error_rate_delta", 1.5), "analysis.max_error_rate_delta"),
    ("p99 ratio below 1", _with("analysis.max_p99_ratio", 0.5), "analysis.max_p99_ratio"),
    ("image by tag", _with("image.digest", "latest"), "image.digest"),
    ("hpa bounds inverted", _with("hpa.max_replicas", 1), "max_replicas must be at least min_replicas"),
    ("string for a number", _with("analysis.samples", "5"), "analysis.samples"),
    ("bad namespace", _with("namespace", "Fraud_Prod"), "namespace"),
    ("a secret-looking key", _with("argocd.token", "ghp_x"), "argocd.token: unknown key"),
    ("promotion email", _with("promotion.email", "rollgate-bot"), "promotion.email"),
    ("promotion unknown key", _with("promotion.keyring", "x"), "promotion.keyring: unknown key"),
    ("promotion key unverified", _with("promotion.signing_key", "k.asc"), "signing_key is set but verify_signatures"),
]


@pytest.mark.parametrize(("raw", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_file_and_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse(raw, "configs/deploy/prod.yaml")
    assert str(caught.value).startswith("configs/deploy/prod.yaml: invalid deploy config:")
    assert message in str(caught.value)


def test_env_must_match_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "configs/deploy").mkdir(parents=True)
    (tmp_path / "configs/deploy/qa.yaml").write_text(yaml.safe_dump(SHIPPED))
    with pytest.raises(ContractError, match="env: 'prod' does not match the file name 'qa'"):
        load_deploy_config(tmp_path, "qa")
    with pytest.raises(ContractError, match=r"no such environment \(configured: qa\)"):
        load_deploy_config(tmp_path, "dev")

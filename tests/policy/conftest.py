"""Fixtures of the content guard's tests."""

from __future__ import annotations

import textwrap
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from service.config import PolicyConfig
from tests.policy.corpus import CORPUS_POLICY, load_policy, toml_value


@pytest.fixture(scope="session")
def corpus_policy(tmp_path_factory: pytest.TempPathFactory) -> PolicyConfig:
    """tests/data/policy/policy.toml: two campuses, a main number, a fax and a PO box at example.org."""
    return load_policy(tmp_path_factory.mktemp("policy"), CORPUS_POLICY)


@pytest.fixture
def policy_with(tmp_path: Path) -> Callable[[str], PolicyConfig]:
    """Load a [policy] section written in TOML (the corpus policy's keys plus `more`)."""

    def factory(more: str) -> PolicyConfig:
        base = tomllib.loads(CORPUS_POLICY)["policy"]
        lines = [f"{k} = {toml_value(v)}" for k, v in base.items() if f"{k} =" not in more and f"{k}=" not in more]
        return load_policy(tmp_path, "[policy]\n" + "\n".join(lines) + "\n" + textwrap.dedent(more))

    return factory

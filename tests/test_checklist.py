"""The checklist: the study's 15 criteria with the ids evaluation sets use."""
import json

import pytest
from typer.testing import CliRunner

from cli import app
from knowledge.domain.checklist import check_criteria, criterion_ids, get_criterion, load_checklist
from knowledge.errors import UsageError

IDS = ["general", "versioning", "tracking", "pipelines", "scaling", "hpc", "storage", "logging",
       "visualization", "collaboration", "compatibility", "serving", "open_source", "costs", "real_world"]


def test_fifteen_criteria_in_the_study_order_with_questions_and_sub_factors():
    assert criterion_ids() == IDS
    for c in load_checklist():
        assert c.title and c.question.endswith("?") and c.sub_factors


def test_study_sub_factors_are_kept():
    assert {"code", "model", "data"} <= set(get_criterion("versioning").sub_factors)
    assert {"parameter handling", "metadata", "data artifacts"} <= set(get_criterion("tracking").sub_factors)


def test_lookup_is_forgiving_about_case_and_separators():
    assert get_criterion("Open-Source").id == "open_source"
    assert get_criterion("real world").id == "real_world"
    assert check_criteria(None) == IDS


def test_unknown_criterion_lists_the_valid_ids():
    with pytest.raises(UsageError) as exc:
        get_criterion("speed")
    assert "Unknown criterion 'speed'" in str(exc.value) and "open_source" in str(exc.value)


def test_criteria_command_json():
    result = CliRunner().invoke(app, ["criteria", "--json"])
    assert result.exit_code == 0
    assert [c["id"] for c in json.loads(result.stdout)] == IDS

"""Picking the lab and the resource a command acts on, from the state alone."""

from __future__ import annotations

import pytest

from awslab.errors import ExerciseError, UsageError
from awslab.exercise.labs import (
    function_record,
    lab_named,
    pick_lab_with,
    pick_resource,
)
from awslab.state import StateStore

from .conftest import add_lab, api_rec, fn_rec, rec

WHERE = "the test cloud"


def test_the_only_lab_with_the_kind_is_picked(store: StateStore) -> None:
    add_lab(store, "crud", api_rec("api", "http://x/dev"))
    add_lab(store, "messaging", rec("sqs.queue", "orders", url="u", arn="a"))
    assert pick_lab_with(store, "sqs.queue", None, where=WHERE).name == "messaging"
    assert pick_lab_with(store, "apigateway.rest_api", None, where=WHERE).name == "crud"


def test_several_candidates_are_listed(store: StateStore) -> None:
    add_lab(store, "crud", api_rec("api", "http://x/dev"))
    add_lab(store, "upload", api_rec("api", "http://y/dev"))
    with pytest.raises(UsageError) as e:
        pick_lab_with(store, "apigateway.rest_api", None, where=WHERE)
    assert "several deployed labs have an API" in str(e.value)
    assert "crud, upload" in str(e.value)
    assert "--lab" in (e.value.hint or "")
    assert e.value.exit_code == 2


def test_none_says_which_lab_to_deploy(store: StateStore) -> None:
    add_lab(store, "crud", api_rec("api", "http://x/dev"))
    with pytest.raises(UsageError) as e:
        pick_lab_with(store, "stepfunctions.state_machine", None, where=WHERE)
    assert f"no lab deployed on {WHERE} has a state machine" in str(e.value)
    assert e.value.hint == "run 'awslab up workflow' first"
    with pytest.raises(UsageError) as e:
        pick_lab_with(store, "sqs.queue", None, where=WHERE)
    assert e.value.hint == "run 'awslab up messaging' first"


def test_lab_option_chooses_among_several(store: StateStore) -> None:
    add_lab(store, "crud", api_rec("api", "http://x/dev"))
    add_lab(store, "upload", api_rec("api", "http://y/dev"))
    assert pick_lab_with(store, "apigateway.rest_api", "upload", where=WHERE).name == "upload"


def test_lab_option_not_deployed_or_without_the_kind(store: StateStore) -> None:
    add_lab(store, "crud", api_rec("api", "http://x/dev"))
    add_lab(store, "messaging", rec("sqs.queue", "orders"))
    with pytest.raises(UsageError) as e:
        pick_lab_with(store, "apigateway.rest_api", "image", where=WHERE)
    assert "lab 'image' is not deployed" in str(e.value)
    assert "crud, messaging" in str(e.value)
    assert e.value.hint == "run 'awslab up image' first"
    with pytest.raises(UsageError) as e:
        pick_lab_with(store, "sqs.queue", "crud", where=WHERE)
    assert "lab 'crud' does not have an SQS queue" in str(e.value)
    assert e.value.hint == "labs that do: messaging"


def test_nothing_deployed(store: StateStore) -> None:
    with pytest.raises(UsageError, match="no lab deployed"):
        pick_lab_with(store, "sns.topic", None, where=WHERE)
    with pytest.raises(UsageError, match="deployed: none"):
        lab_named(store, "crud", where=WHERE)


def test_pick_resource_one_several_named(store: StateStore) -> None:
    lab = add_lab(store, "two", api_rec("public", "http://a"), api_rec("admin", "http://b"))
    with pytest.raises(UsageError) as e:
        pick_resource(lab, "apigateway.rest_api", option="--api")
    assert "admin, public" in str(e.value) and e.value.hint == "pick one with --api, e.g. --api admin"
    assert pick_resource(lab, "apigateway.rest_api", "admin").attrs["url"] == "http://b"
    with pytest.raises(UsageError, match=r"no apigateway\.rest_api named 'nope'") as e:
        pick_resource(lab, "apigateway.rest_api", "nope")
    assert e.value.hint == "it has: admin, public"


def test_a_half_created_resource_is_not_used(store: StateStore) -> None:
    lab = add_lab(store, "crud", rec("apigateway.rest_api", "api", status="creating"))
    with pytest.raises(ExerciseError, match="not fully created") as e:
        pick_resource(lab, "apigateway.rest_api")
    assert e.value.hint == "run 'awslab up crud' to finish it"


def test_function_by_logical_or_physical_name(store: StateStore) -> None:
    fn = fn_rec("items-fn", "crud")
    lab = add_lab(store, "crud", fn)
    assert function_record(lab, "items-fn") is fn
    assert function_record(lab, fn.physical) is fn
    with pytest.raises(UsageError, match="no Lambda function 'other'") as e:
        function_record(lab, "other")
    assert e.value.hint == "it has: items-fn"


def test_logical_of_arns_and_urls(store: StateStore) -> None:
    fn = fn_rec("consumer")
    lab = add_lab(store, "m", fn, rec("sqs.queue", "orders", arn="arn:aws:sqs:us-east-1:1:q", url="http://q"))
    assert lab.logical_of(fn.attrs["arn"]) == "consumer"
    assert lab.logical_of(fn.attrs["arn"] + ":live") == "consumer"  # a qualified ARN
    assert lab.logical_of("http://q") == "orders"
    assert lab.logical_of("arn:aws:sqs:us-east-1:1:other") is None

"""The IAM policy pieces the local cloud's checks share (awslab.local.iam_match), and the checks
built on them reading policies as AWS does: wildcards, single values for lists, Deny."""

from __future__ import annotations

import json

import pytest

from awslab.local import iam_match
from awslab.local.executor import _allows_create_log_group
from awslab.local.http_api_lambda import public_url_permitted
from awslab.local.website import public_read_allowed


@pytest.mark.parametrize(
    ("pattern", "value", "ignore_case", "expected"),
    [
        ("s3:Get*", "s3:GetObject", False, True),
        ("s3:get*", "s3:GetObject", False, False),
        ("s3:get*", "s3:GetObject", True, True),
        ("s3:GetObjec?", "s3:GetObject", False, True),
        ("s3:GetObjec?", "s3:GetObjects", False, False),
        ("arn:aws:s3:::b/a.b", "arn:aws:s3:::b/aXb", False, False),  # regex characters are literal
        ("arn:aws:s3:::b/[a]", "arn:aws:s3:::b/a", False, False),  # no character classes in IAM
        ("*", "", False, True),
    ],
)
def test_wildcards_match_the_whole_value(pattern: str, value: str, ignore_case: bool, expected: bool) -> None:
    assert iam_match.wildcard(pattern, value, ignore_case=ignore_case) is expected


def test_statements_of_a_document_in_any_of_its_forms() -> None:
    one = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    assert iam_match.statements({"Statement": one}) == [one]
    assert iam_match.statements(json.dumps({"Statement": [one, "junk", None]})) == [one]
    assert iam_match.statements({"Version": "2012-10-17"}) == []
    assert iam_match.statements(["not", "a", "policy"]) == []


def test_an_identity_policy_allows_only_what_it_names_and_no_deny_takes_back() -> None:
    found = [
        {"Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:DescribeStream"], "Resource": "arn:t/*"},
        {"Effect": "Deny", "Action": "DYNAMODB:GETSHARDITERATOR", "Resource": "*"},
    ]
    assert iam_match.allowed(found, "dynamodb:GetRecords", "arn:t/stream")
    assert iam_match.allowed(found, "dynamodb:describestream", "arn:t/stream")  # actions: any case
    assert not iam_match.allowed(found, "dynamodb:GetShardIterator", "arn:t/stream")  # denied
    assert not iam_match.allowed(found, "dynamodb:GetRecords", "arn:T/stream")  # resources: exact
    assert not iam_match.allowed(found, "dynamodb:ListStreams", "arn:t/stream")
    assert not iam_match.allowed([{"Effect": "Allow", "Action": "*"}], "s3:GetObject", "*")  # no Resource


def test_the_log_group_check_takes_any_allow_naming_the_action() -> None:
    assert _allows_create_log_group(json.dumps({"Statement": {"Effect": "Allow", "Action": "logs:Create*"}}))
    assert _allows_create_log_group({"Statement": [{"Effect": "Allow", "Action": ["LOGS:CREATELOGGROUP"]}]})
    assert not _allows_create_log_group({"Statement": [{"Effect": "Deny", "Action": "logs:*"}]})
    assert not _allows_create_log_group({"Statement": [{"Effect": "Allow", "Action": "logs:Put*"}]})
    # IAM has no character classes: this names no action (fnmatch read it as one)
    assert not _allows_create_log_group(
        {"Statement": [{"Effect": "Allow", "Action": "logs:[C]reateLogGroup"}]}
    )


def test_the_bucket_policy_check_reads_actions_case_insensitively_and_resources_exactly() -> None:
    def policy(effect: str, action: str, resource: str) -> str:
        return json.dumps(
            {"Statement": {"Effect": effect, "Principal": "*", "Action": action, "Resource": resource}}
        )

    assert (
        public_read_allowed(policy("Allow", "S3:getobject", "arn:aws:s3:::site/*"), "site", "a.html") is True
    )
    assert (
        public_read_allowed(policy("Allow", "s3:GetObject", "arn:aws:s3:::SITE/*"), "site", "a.html") is None
    )
    assert public_read_allowed(policy("Deny", "s3:*", "*"), "site", "a.html") is False
    assert public_read_allowed("[]", "site", "a.html") is None


def test_a_public_function_url_needs_both_statements_with_matching_actions() -> None:
    url = {"Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunctionUrl",
           "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}  # fmt: skip
    invoke = {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["Lambda:InvokeFunction"]}
    assert public_url_permitted([url, invoke])
    assert not public_url_permitted([url])
    assert not public_url_permitted([url, {**invoke, "Action": "lambda:Invoke?"}])

"""Subset matching of `expect.json`, `expect.output` and `expect.record`."""

from __future__ import annotations

from awslab.exercise.checks import subset_mismatch


def test_objects_match_on_the_keys_named() -> None:
    actual = {"id": "1", "name": "apple", "price": 3, "meta": {"by": "me", "tags": ["a", "b"]}}
    assert subset_mismatch({}, actual) is None
    assert subset_mismatch({"name": "apple"}, actual) is None
    assert subset_mismatch({"meta": {"by": "me"}}, actual) is None
    assert subset_mismatch(actual, actual) is None


def test_nested_mismatch_names_the_path() -> None:
    actual = {"meta": {"by": "me", "size": {"w": 10}}}
    assert subset_mismatch({"meta": {"size": {"w": 11}}}, actual) == "$.meta.size.w: 10, expected 11"
    assert subset_mismatch({"meta": {"owner": "x"}}, actual) == "$.meta.owner: missing (expected 'x')"
    assert subset_mismatch({"meta": {"by": {"a": 1}}}, actual) == "$.meta.by: expected an object, got 'me'"
    assert subset_mismatch({"a": 1}, [1]) == "$: expected an object, got [1]"


def test_lists_match_elements_in_any_order() -> None:
    actual = {"items": [{"id": "1", "name": "apple"}, {"id": "2", "name": "pear"}]}
    assert subset_mismatch({"items": [{"name": "pear"}]}, actual) is None
    assert subset_mismatch({"items": [{"name": "pear"}, {"name": "apple"}]}, actual) is None
    assert subset_mismatch({"items": []}, actual) is None
    problem = subset_mismatch({"items": [{"name": "plum"}]}, actual)
    assert problem is not None
    assert problem.startswith('$.items: no element matches {"name": "plum"}')
    assert "$.items[0].name: 'apple', expected 'plum'" in problem  # the closest explanation
    assert subset_mismatch({"items": {"name": "pear"}}, actual) is not None
    assert subset_mismatch([1], {"a": 1}) == '$: expected a list, got {"a": 1}'


def test_each_expected_element_needs_its_own() -> None:
    # two expected elements may not both use the one actual element that fits them
    assert subset_mismatch([{"a": 1}, {"a": 1}], [{"a": 1, "b": 2}]) is not None
    assert subset_mismatch([{"a": 1}, {"a": 1}], [{"a": 1, "b": 2}, {"a": 1}]) is None
    # a greedy first match would fail this one: {"a": 1} must leave the first element to {"b": 2}
    assert subset_mismatch([{"a": 1}, {"b": 2}], [{"a": 1, "b": 2}, {"a": 1}]) is None
    assert subset_mismatch([[1], [2]], [[2, 3], [1]]) is None


def test_scalars_compare_by_type_and_value() -> None:
    assert subset_mismatch(3, 3.0) is None  # numbers by value
    assert subset_mismatch(True, 1) == "$: 1, expected true"
    assert subset_mismatch(1, True) is not None
    assert subset_mismatch("3", 3) is not None
    assert subset_mismatch(None, None) is None
    assert subset_mismatch({"x": None}, {"x": 0}) is not None
    assert subset_mismatch(False, False) is None

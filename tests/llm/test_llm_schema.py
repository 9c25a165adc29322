"""The JSON-schema subset: good answers pass, bad ones fail with the path and the value named."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from evo_lacer.errors import ConfigError, LLMInvalidAnswer
from evo_lacer.llm import check_schema, choice_schema, parse_answer, schema_errors, validate

NESTED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "op": {"enum": ["insert", "delete"]},
        "depth": {"type": "integer", "minimum": 1, "maximum": 4},
        "rate": {"type": "number", "minimum": 0, "maximum": 1},
        "flags": {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2},
        "kind": {"const": "residual"},
        "size": {"anyOf": [{"type": "integer"}, {"enum": ["auto"]}]},
        "note": {"type": "string", "maxLength": 5},
        "nothing": {"type": "null"},
    },
    "required": ["op", "depth"],
    "additionalProperties": False,
}
GOOD = {
    "op": "insert", "depth": 2, "rate": 0.5, "flags": [True], "kind": "residual",
    "size": "auto", "note": "ok", "nothing": None,
}


def test_valid_answer_passes() -> None:
    check_schema(NESTED)
    validate(GOOD, NESTED)
    assert parse_answer(json.dumps(GOOD), NESTED) == GOOD
    validate({"op": "delete", "depth": 4.0, "size": 7}, NESTED)  # 4.0 is an integer in JSON


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"op": "swap"}, 'at $.op: "swap" is not one of ["insert", "delete"]'),
        ({"depth": 9}, "at $.depth: 9 is above the maximum 4"),
        ({"depth": 0}, "at $.depth: 0 is below the minimum 1"),
        ({"depth": 1.5}, "at $.depth: 1.5 is not of type 'integer'"),
        ({"depth": True}, "at $.depth: true is not of type 'integer'"),
        ({"rate": "0.5"}, "at $.rate: \"0.5\" is not of type 'number'"),
        ({"flags": [1]}, "at $.flags[0]: 1 is not of type 'boolean'"),
        ({"flags": []}, "at $.flags: 0 items, fewer than 1"),
        ({"flags": [True] * 3}, "at $.flags: 3 items, more than 2"),
        ({"kind": "repeat"}, 'at $.kind: "repeat" is not the constant "residual"'),
        ({"size": "big"}, 'at $.size: "big" matches none of anyOf'),
        ({"note": "too long"}, "at $.note: string of length 8 is longer than 5"),
        ({"nothing": 0}, "at $.nothing: 0 is not of type 'null'"),
        ({"extra": 1}, "at $: unexpected field 'extra'"),
    ],
)
def test_bad_answer_names_path_and_value(patch: dict[str, Any], needle: str) -> None:
    errors = schema_errors({**GOOD, **patch}, NESTED)
    assert any(needle in e for e in errors), errors
    with pytest.raises(LLMInvalidAnswer, match="does not match the schema"):
        validate({**GOOD, **patch}, NESTED)


def test_missing_required_and_wrong_root() -> None:
    assert schema_errors({"op": "insert"}, NESTED) == ["at $: required field 'depth' is missing"]
    assert schema_errors([1], NESTED) == ["at $: [1] is not of type 'object'"]


def test_bool_is_not_a_number_in_enums() -> None:
    assert schema_errors(True, {"enum": [1]}) and schema_errors(1, {"enum": [True]})
    assert not schema_errors(1.0, {"enum": [1]})


def test_unparsable_answer_quotes_text() -> None:
    with pytest.raises(LLMInvalidAnswer, match=r"not valid JSON.*mlp please"):
        parse_answer("mlp please", {"enum": ["mlp"]})


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ({"type": "object", "patternProperties": {}}, "'patternProperties' at # is not supported"),
        ({"type": "tuple"}, "type 'tuple' at #/type"),
        ({"properties": {"a": {"enum": []}}}, "enum at #/properties/a/enum"),
        ({"additionalProperties": {"type": "string"}}, "must be true or false"),
        ({"anyOf": []}, "anyOf at #/anyOf"),
        ({"maxItems": -1}, "maxItems at #/maxItems"),
    ],
)
def test_unsupported_schema_is_config_error(schema: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        check_schema(schema)
    assert needle in str(info.value)


def test_choice_schema_shape() -> None:
    schema = choice_schema({"module": ["mlp", "gru"], "width": [32, 64]}, reason_max_length=80)
    check_schema(schema)
    assert schema["required"] == ["module", "width"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["reason"] == {"type": "string", "maxLength": 80}
    validate({"module": "gru", "width": 64}, schema)
    validate({"module": "gru", "width": 64, "reason": "sequence data"}, schema)
    assert "reason" not in choice_schema({"a": [1]})["properties"]


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({}, "at least one field"),
        ({"a": []}, "'a' has no options"),
        ({"a": [1, 1.0]}, "lists option 1.0 twice"),
        ({"a": [[1]]}, "option 0 is [1]"),
        ({"reason": ["x"]}, "clashes with the free-text reason"),
    ],
)
def test_choice_schema_rejects_bad_fields(fields: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        choice_schema(fields, reason_max_length=50)
    assert needle in str(info.value)


SCALARS = st.one_of(
    st.text(max_size=8),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


def _key(value: Any) -> tuple[str, Any]:
    """Identity as JSON sees it (bool apart from numbers, 1 == 1.0)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("num", float(value))
    return (type(value).__name__, value)


FIELDS = st.dictionaries(
    st.text(min_size=1, max_size=6).filter(lambda name: name != "reason"),
    st.lists(SCALARS, min_size=1, max_size=5, unique_by=_key),
    min_size=1,
    max_size=4,
)


@given(fields=FIELDS, data=st.data())
def test_any_choice_from_the_enums_validates(fields: dict[str, list[Any]], data: Any) -> None:
    schema = choice_schema(fields, reason_max_length=40)
    answer = {name: data.draw(st.sampled_from(options)) for name, options in fields.items()}
    assert parse_answer(json.dumps(answer), schema) == answer


@given(fields=FIELDS, data=st.data())
def test_any_value_outside_an_enum_fails(fields: dict[str, list[Any]], data: Any) -> None:
    schema = choice_schema(fields)
    answer = {name: options[0] for name, options in fields.items()}
    name = data.draw(st.sampled_from(sorted(fields)))
    bad = data.draw(SCALARS)
    assume(_key(bad) not in {_key(o) for o in fields[name]})
    answer[name] = bad
    with pytest.raises(LLMInvalidAnswer) as info:
        parse_answer(json.dumps(answer), schema)
    assert "is not one of" in str(info.value)

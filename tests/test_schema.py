import pytest

from os1.schema import SchemaError, validate

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 5},
        "n": {"type": "integer", "minimum": 0},
        "mood": {"enum": ["up", "down"]},
    },
    "required": ["name"],
    "additionalProperties": False,
}


def test_valid() -> None:
    validate({"name": "Sam", "n": 3, "mood": "up"}, SCHEMA)


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"name": ""},
        {"name": "Samantha"},
        {"name": "Sam", "n": -1},
        {"name": "Sam", "n": True},
        {"name": "Sam", "n": 1.5},
        {"name": "Sam", "mood": "sideways"},
        {"name": "Sam", "extra": 1},
        ["name"],
    ],
)
def test_invalid(value: object) -> None:
    with pytest.raises(SchemaError):
        validate(value, SCHEMA)


def test_any_of() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    validate("a", schema)
    validate(1, schema)
    with pytest.raises(SchemaError):
        validate(1.5, schema)

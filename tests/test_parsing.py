import pytest

from factory.roleplay.parsing import (
    ParseError,
    coerce_bool,
    coerce_int,
    extract_json_object,
    match_choice,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! Here it is: {"a": 1, "b": "x"} hope that helps', {"a": 1, "b": "x"}),
        ('```json\n{"a": [1, 2,],}\n```', {"a": [1, 2]}),
        ('{"text": "a } inside", "n": 2}', {"text": "a } inside", "n": 2}),
        ('noise {broken {"a": 3}', {"a": 3}),
    ],
)
def test_extract_json_object_finds_the_object_in_noise(text, expected):
    assert extract_json_object(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "no json here", '{"a": 1', "[1, 2]", '{"a": }'])
def test_extract_json_object_rejects_empty_and_malformed(text):
    with pytest.raises(ParseError):
        extract_json_object(text)


def test_coerce_int_accepts_numeric_forms_and_bounds():
    assert coerce_int(4, 1, 5, "i") == 4
    assert coerce_int("3", 1, 5, "i") == 3
    assert coerce_int("4/5", 1, 5, "i") == 4
    assert coerce_int(2.6, 1, 5, "i") == 3
    for bad in (0, 6, "high", None, True):
        with pytest.raises(ParseError):
            coerce_int(bad, 1, 5, "i")


def test_coerce_bool():
    assert coerce_bool(True, "b") is True
    assert coerce_bool("yes", "b") is True
    assert coerce_bool("false", "b") is False
    assert coerce_bool(None, "b") is False
    with pytest.raises(ParseError):
        coerce_bool("perhaps", "b")


def test_match_choice_is_tolerant_but_not_ambiguous():
    names = ["Question", "Reflection of feelings", "Restatement or Paraphrasing", "Others"]
    assert match_choice("question", names, "s") == "Question"
    assert match_choice("[Reflection of feelings]", names, "s") == "Reflection of feelings"
    assert match_choice("Restatement", names, "s") == "Restatement or Paraphrasing"
    for bad in ("Re", "Hug", "", None, 3):
        with pytest.raises(ParseError):
            match_choice(bad, names, "s")

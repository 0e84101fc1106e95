"""JSONPath, payload templates and intrinsic functions, table by table (AWS's documented examples)."""

from __future__ import annotations

import pytest

from cloudlet.workflows.errors import StatesError
from cloudlet.workflows.jsonpath import PathNotFound, compile_path, set_reference
from cloudlet.workflows.templates import compile_template

STORE = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
            {
                "category": "fiction",
                "author": "Herman Melville",
                "title": "Moby Dick",
                "price": 8.99,
            },
        ],
        "bicycle": {"color": "red", "price": 19.95},
    }
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", STORE),
        ("$.store.bicycle.color", "red"),
        ("$['store']['bicycle']['price']", 19.95),
        ("$.store.book[0].author", "Nigel Rees"),
        ("$.store.book[-1].title", "Moby Dick"),
        ("$.store.book[*].author", ["Nigel Rees", "Evelyn Waugh", "Herman Melville"]),
        ("$..price", [8.95, 12.99, 8.99, 19.95]),
        ("$.store.book[0:2].price", [8.95, 12.99]),
        ("$.store.book[0,2].price", [8.95, 8.99]),
        ("$.store.book[?(@.price < 10)].title", ["Sayings", "Moby Dick"]),
        ("$.store.book[?(@.category == 'fiction' && @.price > 10)].author", ["Evelyn Waugh"]),
        ("$.store.book.length()", [3]),
    ],
)
def test_jsonpath_reads(path, expected):
    assert compile_path(path).get(STORE) == expected


def test_a_definite_path_that_finds_nothing_names_itself():
    with pytest.raises(PathNotFound, match=r"No results for path: \$\['store'\]\['car'\]"):
        compile_path("$.store.car").get(STORE)


def test_set_reference_copies_along_the_path_and_leaves_the_input_alone():
    doc = {"a": {"b": 1}, "c": [1, 2]}
    out = set_reference(doc, compile_path("$.a.x.y"), 5)
    assert out == {"a": {"b": 1, "x": {"y": 5}}, "c": [1, 2]}
    assert doc == {"a": {"b": 1}, "c": [1, 2]}
    assert set_reference(doc, compile_path("$"), 7) == 7


def intrinsic(expression, data=None, ctx=None):
    return compile_template({"v.$": expression})(data or {}, ctx or {}, None)["v"]


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        (
            "States.Format('Hello, my name is {}.', $.name)",
            {"name": "Arnav"},
            "Hello, my name is Arnav.",
        ),
        ("States.Format('{} + {} = {}', 1, 2, 3)", {}, "1 + 2 = 3"),
        ("States.Format('escaped \\{\\} and {}', 'x')", {}, "escaped {} and x"),
        ("States.StringToJson($.s)", {"s": '{"number": 20}'}, {"number": 20}),
        ("States.JsonToString($.o)", {"o": {"a": 1}}, '{"a":1}'),
        (
            "States.Array('Foo', 2020, $.a, true, null)",
            {"a": {"x": 1}},
            ["Foo", 2020, {"x": 1}, True, None],
        ),
        (
            "States.ArrayPartition($.a, 4)",
            {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
            [[1, 2, 3, 4], [5, 6, 7, 8], [9]],
        ),
        ("States.ArrayContains($.a, $.v)", {"a": [1, 2, 3, 4, 5], "v": 5}, True),
        ("States.ArrayContains($.a, 9)", {"a": [1, 2]}, False),
        ("States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9]),
        ("States.ArrayGetItem($.a, 5)", {"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 6),
        ("States.ArrayLength($.a)", {"a": [1, 2, 3]}, 3),
        ("States.ArrayUnique($.a)", {"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
        ("States.Base64Encode($.s)", {"s": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode($.s)", {"s": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
        (
            "States.Hash($.s, 'SHA-1')",
            {"s": "input data"},
            "aaff4a450a104cd177d28d18d74485e8cae074b7",
        ),
        (
            "States.JsonMerge($.a, $.b, false)",
            {"a": {"a": 1, "b": {"x": 1}}, "b": {"b": {"y": 2}, "c": 3}},
            {"a": 1, "b": {"y": 2}, "c": 3},
        ),
        ("States.MathAdd($.v, -1)", {"v": 111}, 110),
        ("States.StringSplit($.s, ',')", {"s": "1,2,3,4,5"}, ["1", "2", "3", "4", "5"]),
        ("States.StringSplit($.s, '+-')", {"s": "This+is-a+test"}, ["This", "is", "a", "test"]),
        ("States.ArrayLength(States.Array(1, 2))", {}, 2),
    ],
)
def test_intrinsic_functions(expression, data, expected):
    assert intrinsic(expression, data) == expected


def test_random_and_uuid():
    value = intrinsic("States.MathRandom(1, 10)")
    assert 1 <= value < 10
    assert intrinsic("States.MathRandom(1, 1000, 7)") == intrinsic("States.MathRandom(1, 1000, 7)")
    assert len(intrinsic("States.UUID()")) == 36


@pytest.mark.parametrize(
    "expression",
    [
        "States.ArrayGetItem($.a, 7)",
        "States.Format('{} {}', 'one')",
        "States.StringToJson($.n)",
        "States.ArrayRange(1, 2000, 1)",
        "States.Hash($.s, 'SHA-999')",
        "States.JsonMerge($.a, $.a, true)",
        "States.MathAdd(1.5, 1)",
    ],
)
def test_intrinsic_failures_are_States_IntrinsicFailure(expression):
    with pytest.raises(StatesError) as failure:
        intrinsic(expression, {"a": [1], "n": 5, "s": "x"})
    assert failure.value.name == "States.IntrinsicFailure"


def test_templates_read_the_context_object_and_keep_static_parts():
    template = compile_template(
        {
            "flagged": True,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"},
            "id.$": "$$.Execution.Id",
        }
    )
    out = template({"vals": [0, 10, 20, 30, 40, 50]}, {"Execution": {"Id": "arn:x"}}, None)
    assert out == {"flagged": True, "parts": {"first": 0, "last3": [30, 40, 50]}, "id": "arn:x"}

"""Definition checks of choice rules and of Retry/Catch, shared by the definition checker.

Kept apart from `definition.py` so each stays small; the texts are AWS's (see there).
"""

from __future__ import annotations

from typing import Any

from cloudlet.workflows import choice
from cloudlet.workflows.errors import ALL
from cloudlet.workflows.intrinsics import IntrinsicSyntaxError
from cloudlet.workflows.jsonpath import PathError, is_reference_path
from cloudlet.workflows.states import JSONPATH
from cloudlet.workflows.templates import compile_reader, compile_value_reference


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def valid_reader(value: Any, intrinsic: bool = False) -> bool:
    if not isinstance(value, str):
        return False
    try:
        (compile_value_reference if intrinsic else compile_reader)(value)
    except (PathError, IntrinsicSyntaxError):
        return False
    return True


_RESOURCE_PREFIXES = ("arn:aws:states:::", "arn:aws-us-gov:states:::", "arn:aws-cn:states:::")


class RuleChecks:
    """Choice-rule and Retry/Catch checks; the checker provides `add` and `schema`."""

    def add(self, code: str, message: str, location: str, severity: str = "ERROR") -> None:
        raise NotImplementedError

    def schema(self, message: str, location: str) -> None:
        raise NotImplementedError

    def rule(self, rule: Any, where: str, top: bool) -> None:
        if not isinstance(rule, dict):
            self.schema("The value must be an object", where)
            return
        extra = {"Next", "Comment", "Assign"} if top else {"Comment"}
        combinators = [k for k in ("And", "Or", "Not") if k in rule]
        if combinators:
            for key in combinators:
                inner = rule[key]
                if key == "Not":
                    self.rule(inner, f"{where}/Not", top=False)
                elif not isinstance(inner, list) or not inner:
                    self.schema(f"The field '{key}' should be non-empty", f"{where}/{key}")
                else:
                    for j, item in enumerate(inner):
                        self.rule(item, f"{where}/{key}[{j}]", top=False)
            return
        operators = [k for k in rule if k in choice.OPERATORS]
        if "Variable" not in rule or len(operators) != 1:
            self.schema(
                "A choice rule must have a 'Variable' and exactly one comparison operator", where
            )
            return
        for key in rule:
            if key not in extra and key != "Variable" and key not in choice.OPERATORS:
                self.schema(f'The field "{key}" is not supported by Step Functions', where)
        if not valid_reader(rule["Variable"]):
            self.schema(
                "The value for the field 'Variable' must be a valid JSONPath", f"{where}/Variable"
            )
        self.operand(operators[0], rule[operators[0]], where)

    def operand(self, operator: str, value: Any, where: str) -> None:
        location = f"{where}/{operator}"
        if operator.endswith("Path"):
            if not valid_reader(value):
                self.schema(
                    f"The value for the field '{operator}' must be a valid JSONPath", location
                )
            return
        wanted = {
            "String": lambda v: isinstance(v, str),
            "Numeric": is_number,
            "Boolean": lambda v: isinstance(v, bool),
            "Timestamp": lambda v: choice.parse_timestamp(v) is not None,
            "Is": lambda v: isinstance(v, bool),
        }
        for prefix, test in wanted.items():
            if operator.startswith(prefix) and not test(value):
                kind = {"String": "STRING", "Numeric": "NUMBER", "Timestamp": "TIMESTAMP"}.get(
                    prefix, "BOOLEAN"
                )
                self.schema(f"The value for the field '{operator}' must be a {kind}", location)
                return

    def handlers(self, key: str, value: Any, where: str, language: str) -> None:
        if not isinstance(value, list):
            self.schema(f"The value for the field '{key}' must be an ARRAY", f"{where}/{key}")
            return
        for i, item in enumerate(value):
            location = f"{where}/{key}[{i}]"
            if not isinstance(item, dict):
                self.schema("The value must be an object", location)
                continue
            required = ["ErrorEquals"] + (["Next"] if key == "Catch" else [])
            missing = [f for f in required if f not in item]
            if missing:
                self.schema(f"These fields are required: [{', '.join(missing)}]", location)
                continue
            errors = item["ErrorEquals"]
            if (
                not isinstance(errors, list)
                or not errors
                or not all(isinstance(e, str) for e in errors)
            ):
                self.schema(
                    "The field 'ErrorEquals' should be non-empty", f"{location}/ErrorEquals"
                )
            elif ALL in errors and (len(errors) > 1 or i != len(value) - 1):
                self.schema(
                    f"{key}er with States.ALL must be the last one and must not name other errors"
                    if key == "Retry"
                    else "States.ALL must appear alone in the last Catcher",
                    f"{location}/ErrorEquals",
                )
            if key == "Retry":
                self.retrier(item, location)
            elif (
                language == JSONPATH
                and item.get("ResultPath") is not None
                and not is_reference_path(item["ResultPath"])
            ):
                self.schema(
                    "The value for the field 'ResultPath' must be a valid ReferencePath",
                    f"{location}/ResultPath",
                )

    def retrier(self, item: dict[str, Any], where: str) -> None:
        checks = (
            ("IntervalSeconds", lambda v: is_int(v) and 0 < v <= 99999999, "a positive integer"),
            ("MaxAttempts", lambda v: is_int(v) and 0 <= v <= 99999999, "a non-negative integer"),
            ("BackoffRate", lambda v: is_number(v) and v >= 1.0, "a number not smaller than 1.0"),
            ("MaxDelaySeconds", lambda v: is_int(v) and 0 < v <= 31622400, "a positive integer"),
        )
        for key, test, text in checks:
            if key in item and not test(item[key]):
                self.schema(f"The value for the field '{key}' must be {text}", f"{where}/{key}")
        if item.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
            self.schema(
                "The field 'JitterStrategy' should have one of these values: [FULL, NONE]",
                f"{where}/JitterStrategy",
            )

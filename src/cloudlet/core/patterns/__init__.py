"""One pattern engine for EventBridge event patterns, SNS filter policies and Lambda ESM filters.

All three AWS features speak the same JSON language (Event Ruler's) and differ only in limits, error
wording and what the pattern is matched against. Compile once when the rule / subscription / mapping
is created or updated — compiling validates and reports AWS's exact error text — and keep the
compiled object; matching never re-parses the pattern.

EventBridge
    pattern = compile_event_pattern(text_or_dict)      # PutRule, TestEventPattern, archives, pipes
    pattern.matches(event_dict) -> bool                  # one rule (TestEventPattern)
    index = PatternIndex()                               # one per event bus
    index.add(rule_arn, pattern); index.remove(rule_arn)
    index.match(event_dict) -> set of rule ids           # PutEvents: cost independent of #rules
  Errors: `PatternError.message` is InvalidEventPatternException's message, e.g.
  'Event pattern is not valid. Reason: "source" must be an object or an array\\n at [Source:
  (String)"{...}"; line: 1, column: 12]' — raise AwsError("InvalidEventPatternException",
  error.message). Pass the event as EventBridge delivers it to targets (version, id, detail-type,
  source, account, time, region, resources, detail as an object).

SNS
    policy = compile_filter_policy(text_or_dict, scope="MessageAttributes" | "MessageBody")
    policy.matches_message(message_text, message_attributes) -> bool   # by the policy's scope
    policy.matches_attributes(attrs) / policy.matches_body(text)
  Errors: `error.message` is SetSubscriptionAttributes' InvalidParameter text ("Invalid parameter:
  FilterPolicy: ..."); Subscribe words it `error.subscribe_message()` ("Invalid parameter:
  Attributes Reason: FilterPolicy: ..."). An invalid scope raises too. `{}` accepts everything.
  A FilterPolicy is a Pattern: subscriptions of a topic can share a PatternIndex per scope, matched
  with `attributes_document(attrs)` or the parsed body.

Lambda event source mappings
    criteria = compile_filter_criteria(["{...}", ...], data_key="body")   # SQS
    compile_filter_criteria(filters, data_key="data", base64_data=True)   # Kinesis, Amazon MQ
    criteria.matches(record) -> bool     # record as the function would receive it
  Errors: `error.message` is "Invalid filter pattern definition." (InvalidParameterValueException).

Semantics (AWS's, see the modules): exact strings / numbers (by value: 5 matches 5.0) / true / false /
null; prefix, suffix (and `{"equals-ignore-case": ...}` forms); equals-ignore-case; wildcard (`*`,
with `\\*` and `\\\\` escapes and AWS's complexity limit); anything-but (values, prefix, suffix,
equals-ignore-case, wildcard); numeric (`=`, `<`, `<=`, `>`, `>=`, two-sided ranges; numbers in
-5e9..5e9 with 6 decimals on EventBridge, -1e9..1e9 with 5 on SNS); exists true/false (only leaves
exist; null exists, an empty array does not); cidr (IPv4, IPv6); `$or`; nested objects; arrays in
events match if any element matches, and fields of objects inside arrays must come from the same
array element; keys are joined with "." so {"a.b": ...} and {"a": {"b": ...}} are the same field.
"""

from cloudlet.core.patterns.errors import PatternError
from cloudlet.core.patterns.esm import FilterCriteria, compile_filter_criteria
from cloudlet.core.patterns.index import PatternIndex
from cloudlet.core.patterns.pattern import Pattern, compile_event_pattern
from cloudlet.core.patterns.sns import FilterPolicy, attributes_document, compile_filter_policy

__all__ = [
    "FilterCriteria",
    "FilterPolicy",
    "Pattern",
    "PatternError",
    "PatternIndex",
    "attributes_document",
    "compile_event_pattern",
    "compile_filter_criteria",
    "compile_filter_policy",
]

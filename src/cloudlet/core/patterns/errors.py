"""The one error every compiler in this package raises.

Services turn a `PatternError` into their own `AwsError` (EventBridge: InvalidEventPatternException,
SNS: InvalidParameter, Lambda: InvalidParameterValueException) by copying `message` verbatim: the
message already is AWS's exact text for that mistake, so no service has to know the texts.
"""

from __future__ import annotations


class PatternError(ValueError):
    """An invalid event pattern, filter policy or filter criteria.

    `message` is what AWS answers for the call that sets the pattern (PutRule, SetSubscriptionAttributes,
    CreateEventSourceMapping). `reason` is the part after the service's fixed prefix, which SNS needs
    because Subscribe words the same mistake with another prefix (see `subscribe_message`).
    """

    def __init__(self, message: str, *, reason: str = "", prefix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message
        self.prefix = prefix

    def subscribe_message(self) -> str:
        """SNS Subscribe's wording: "Invalid parameter: Attributes Reason: FilterPolicy: ...".

        SetSubscriptionAttributes says "Invalid parameter: FilterPolicy: ..."; Subscribe validates the same
        policy inside its Attributes map and inserts "Attributes Reason: " after "Invalid parameter: ".
        """
        marker = "Invalid parameter: "
        if self.message.startswith(marker):
            return marker + "Attributes Reason: " + self.message[len(marker) :]
        return self.message

    def __repr__(self) -> str:
        return f"PatternError({self.message!r})"


class RulerError(Exception):
    """Internal: a reason from the rule compiler, before a service adds its prefix.

    `located` tells whether AWS appends the JSON location ("\\n at [Source: ...]"): reasons found while
    reading the JSON carry it, reasons found afterwards (CIDR syntax, complexity) do not.
    """

    def __init__(self, reason: str, located: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.located = located

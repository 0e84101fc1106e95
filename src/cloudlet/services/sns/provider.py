"""Amazon SNS: topics and subscriptions (this module), publishing (`publishing`), fan-out
(`fanout`), durable HTTP/S and Lambda deliveries (`outbound`), signatures (`signing`), SMS (`sms`)
and mobile push (`platform`).

Topics are documents (kind "sns.topic", key `account/region/name`), subscriptions too ("sns.sub",
`account/region/topic/uuid`). Operations that write run inside the server's group commit; those
that first need the signing key (loaded off the event loop once) are async and commit themselves.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from cloudlet.core import ids
from cloudlet.protocols.errors import AwsError
from cloudlet.services import Provider, RequestContext, committed
from cloudlet.services.sns import subscriptions as subs
from cloudlet.services.sns import topics
from cloudlet.services.sns.common import (
    SUBSCRIPTION,
    TOKEN,
    TOPIC,
    invalid,
    parse_bool,
    split_arn,
    subscription_key,
    subscription_not_found,
    topic_arn,
    topic_key,
    topic_not_found,
)
from cloudlet.services.sns.fanout import FanOut
from cloudlet.services.sns.outbound import Outbound
from cloudlet.services.sns.platform import Platforms
from cloudlet.services.sns.publishing import Publisher
from cloudlet.services.sns.signing import Signer
from cloudlet.services.sns.sms import SmsSettings

if TYPE_CHECKING:
    from cloudlet.app import App

_PAGE = 100
_MAX_TAGS = 50
_TOKEN_TTL_MS = 3 * 86_400_000  # confirmation tokens are valid for three days


class SnsProvider(Provider):
    service = "sns"
    helpers = ("resume", "unsigned", "certificate")

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.store = app.store
        self.clock = app.clock
        self.signer = Signer(app.config.data_dir)
        self.outbound = Outbound(app)
        self.fanout = FanOut(app, self.signer, self.outbound)
        self.publisher = Publisher(self)
        self.sms = SmsSettings(app.store, app.clock)
        self.platforms = Platforms(app.store)

    # -- lifecycle and helpers -------------------------------------------------------------------
    def resume(self) -> None:
        """After a restart: deliver what the durable delivery queue still holds."""
        self.outbound.start()

    def reset(self) -> None:
        self.outbound.close()
        self.fanout.forget()

    def close(self) -> None:
        self.outbound.close()
        self.signer.close()

    async def certificate(self) -> bytes:
        """The PEM certificate subscribers verify signatures with (made on first use)."""
        await self.signer.ready()
        return self.signer.certificate_pem()

    def unsigned(self, ctx: RequestContext) -> bool:
        """An unsigned request (a SubscribeURL or UnsubscribeURL followed by a browser or an
        endpoint) acts on the resources its ARNs name, whatever region the server defaults to."""
        return not ctx.access_key

    def _topic(
        self, ctx: RequestContext, arn: str, member: str = "TopicArn"
    ) -> tuple[str, dict[str, Any]]:
        region = split_arn(arn, member).region if self.unsigned(ctx) else ctx.region
        key = topic_key(arn, region, member)
        doc = self.store.get(TOPIC, key)
        if doc is None:
            raise topic_not_found()
        return key, doc

    def _subscription(self, ctx: RequestContext, arn: str) -> tuple[str, dict[str, Any]]:
        region = split_arn(arn, "SubscriptionArn").region if self.unsigned(ctx) else ctx.region
        key = subscription_key(arn, region)
        doc = self.store.get(SUBSCRIPTION, key)
        if doc is None:
            raise subscription_not_found()
        return key, doc

    def _principal(self, ctx: RequestContext) -> str:
        if ctx.access_key.startswith("ASIA"):
            found = self.app.provider("sts").principal_for(ctx.access_key)  # type: ignore[attr-defined]
            if found:
                return found["arn"]
        return f"arn:aws:iam::{ctx.account}:root"

    # -- topics ----------------------------------------------------------------------------------
    @committed
    def create_topic(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["Name"]
        attributes = dict(params.get("Attributes") or {})
        fifo = parse_bool(attributes.get("FifoTopic"))
        if name.endswith(".fifo") and not fifo:
            raise invalid("Topic Name")
        topics.check_name(name, fifo)
        attributes.pop("FifoTopic", None)
        topics.check_attributes(attributes, fifo=fifo, creating=True, prefix="Attributes Reason: ")
        tags = topics.check_tags(params.get("Tags") or [])
        if len(tags) > _MAX_TAGS:
            raise topics.too_many_tags()
        key = f"{ctx.account}/{ctx.region}/{name}"
        existing = self.store.get(TOPIC, key)
        if existing is not None:
            for attr, value in attributes.items():
                if existing["attributes"].get(attr, "") != value:
                    raise invalid(
                        "Attributes Reason: Topic already exists with different attributes"
                    )
            if tags and tags != existing["tags"]:
                raise invalid("Tags Reason: Topic already exists with different tags")
            return {"TopicArn": existing["arn"]}
        arn = topic_arn(ctx.account, ctx.region, name)
        doc = {
            "name": name,
            "account": ctx.account,
            "region": ctx.region,
            "arn": arn,
            "fifo": fifo,
            "attributes": {k: v for k, v in attributes.items() if v != ""},
            "tags": tags,
            "data_protection": params.get("DataProtectionPolicy")
            or attributes.get("DataProtectionPolicy"),
            "deleted_subs": 0,
            "created": self.clock.now_ms(),
        }
        self.store.put(TOPIC, key, doc)
        return {"TopicArn": arn}

    @committed
    def delete_topic(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key = topic_key(params["TopicArn"], ctx.region)
        if self.store.get(TOPIC, key) is None:
            return
        for sub_key, _ in self.store.scan(SUBSCRIPTION, key + "/"):
            self.store.delete(SUBSCRIPTION, sub_key)
        self.store.delete(TOPIC, key)
        self.store.drop_queue("sns-fifo/" + key)
        self.fanout.forget(key)

    def list_topics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found = self.store.scan(TOPIC, f"{ctx.account}/{ctx.region}/")
        page, token = _page(found, params.get("NextToken"))
        out: dict[str, Any] = {"Topics": [{"TopicArn": doc["arn"]} for _, doc in page]}
        if token:
            out["NextToken"] = token
        return out

    def get_topic_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key, doc = self._topic(ctx, params["TopicArn"])
        return {"Attributes": topics.attributes_of(doc, self.fanout.counts(key))}

    @committed
    def set_topic_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._topic(ctx, params["TopicArn"])
        name, value = params["AttributeName"], params.get("AttributeValue") or ""
        if name == "FifoTopic":
            raise invalid("AttributeName")
        topics.check_attributes({name: value}, fifo=doc["fifo"], creating=False)
        attributes = topics.changed_attributes(doc["attributes"], name, value)
        self.store.put(TOPIC, key, {**doc, "attributes": attributes})

    @committed
    def add_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._topic(ctx, params["TopicArn"])
        policy = topics.with_statement(doc, params)
        self.store.put(TOPIC, key, {**doc, "attributes": {**doc["attributes"], "Policy": policy}})

    @committed
    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._topic(ctx, params["TopicArn"])
        policy = topics.without_statement(doc, params["Label"])
        self.store.put(TOPIC, key, {**doc, "attributes": {**doc["attributes"], "Policy": policy}})

    def get_data_protection_policy(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        _, doc = self._topic(ctx, params["ResourceArn"], "ResourceArn")
        policy = doc.get("data_protection")
        return {"DataProtectionPolicy": policy} if policy else {}

    @committed
    def put_data_protection_policy(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._topic(ctx, params["ResourceArn"], "ResourceArn")
        topics.check_attributes(
            {"DataProtectionPolicy": params["DataProtectionPolicy"]},
            fifo=doc["fifo"],
            creating=False,
        )
        self.store.put(TOPIC, key, {**doc, "data_protection": params["DataProtectionPolicy"]})

    # -- tags --------------------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: str) -> tuple[str, dict[str, Any]]:
        try:
            return self._topic(ctx, arn, "ResourceArn")
        except AwsError as error:
            if error.code == "NotFound":
                raise AwsError("ResourceNotFound", "Resource does not exist") from None
            raise

    @committed
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._tagged(ctx, params["ResourceArn"])
        tags = {**doc["tags"], **topics.check_tags(params["Tags"])}
        if len(tags) > _MAX_TAGS:
            raise topics.too_many_tags()
        self.store.put(TOPIC, key, {**doc, "tags": tags})

    @committed
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._tagged(ctx, params["ResourceArn"])
        gone = set(params["TagKeys"])
        self.store.put(
            TOPIC, key, {**doc, "tags": {k: v for k, v in doc["tags"].items() if k not in gone}}
        )

    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, doc = self._tagged(ctx, params["ResourceArn"])
        return {"Tags": topics.tags_list(doc["tags"])}

    # -- subscriptions ---------------------------------------------------------------------------
    async def subscribe(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, topic = self._topic(ctx, params["TopicArn"])
        protocol, endpoint = params["Protocol"], params.get("Endpoint") or ""
        subs.check_endpoint(protocol, endpoint, topic["fifo"])
        attributes = dict(params.get("Attributes") or {})
        for name, value in attributes.items():
            subs.check_attribute(
                name, value, protocol=protocol, fifo_topic=topic["fifo"], subscribing=True
            )
        subs.check_filter(attributes, subscribing=True)
        if protocol not in subs.AUTO_CONFIRMED:  # the confirmation message is signed
            await self.signer.ready()
        return await self.app.commit(self._subscribe, ctx, params, attributes)

    def _subscribe(
        self, ctx: RequestContext, params: dict[str, Any], attributes: dict[str, str]
    ) -> dict[str, Any]:
        key, topic = self._topic(ctx, params["TopicArn"])
        protocol, endpoint = params["Protocol"], params.get("Endpoint") or ""
        want_arn = bool(params.get("ReturnSubscriptionArn"))
        for subscriber in self.fanout.subscribers(key):
            doc = subscriber.doc
            if doc["protocol"] == protocol and doc["endpoint"] == endpoint:
                if not subs.same_attributes(doc, attributes):
                    raise invalid(
                        "Attributes Reason: Subscription already exists with different attributes"
                    )
                if not doc["confirmed"]:
                    self.fanout.confirmation(
                        topic,
                        doc,
                        self._new_token(key, doc),
                        ctx.base_url,
                        "SubscriptionConfirmation",
                    )
                return {
                    "SubscriptionArn": doc["arn"]
                    if doc["confirmed"] or want_arn
                    else "pending confirmation"
                }
        sub_id = ids.uuid4()
        confirmed = protocol in subs.AUTO_CONFIRMED
        doc = {
            "arn": f"{topic['arn']}:{sub_id}",
            "topic_arn": topic["arn"],
            "protocol": protocol,
            "endpoint": endpoint,
            "owner": ctx.account,
            "principal": self._principal(ctx),
            "confirmed": confirmed,
            "authenticated": confirmed,
            "attributes": {k: v for k, v in attributes.items() if v != ""},
            "created": self.clock.now_ms(),
        }
        self.store.put(SUBSCRIPTION, f"{key}/{sub_id}", doc)
        self.fanout.forget(key)
        if not confirmed:
            self.fanout.confirmation(
                topic, doc, self._new_token(key, doc), ctx.base_url, "SubscriptionConfirmation"
            )
        return {"SubscriptionArn": doc["arn"] if confirmed or want_arn else "pending confirmation"}

    def _new_token(self, topic_key_: str, sub: dict[str, Any], restore: bool = False) -> str:
        token = ids.token(128)
        entry: dict[str, Any] = {
            "topic": topic_key_,
            "sub": sub["arn"],
            "expires": self.clock.now_ms() + _TOKEN_TTL_MS,
        }
        if restore:
            entry["restore"] = sub
        self.store.put(TOKEN, token, entry)
        return token

    async def unsubscribe(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        arn = params["SubscriptionArn"]
        region = split_arn(arn, "SubscriptionArn").region if self.unsigned(ctx) else ctx.region
        subscription_key(arn, region)  # refuse malformed ARNs before anything else
        await self.signer.ready()
        await self.app.commit(self._unsubscribe, ctx, arn)

    def _unsubscribe(self, ctx: RequestContext, arn: str) -> None:
        try:
            key, doc = self._subscription(ctx, arn)
        except AwsError as error:
            if error.code == "NotFound":
                return  # AWS answers success for subscriptions that are gone
            raise
        topic_key_ = key.rsplit("/", 1)[0]
        self.store.delete(SUBSCRIPTION, key)
        self.fanout.forget(topic_key_)
        topic = self.store.get(TOPIC, topic_key_)
        if topic is None:
            return
        self.store.put(
            TOPIC, topic_key_, {**topic, "deleted_subs": topic.get("deleted_subs", 0) + 1}
        )
        if doc["protocol"] in ("http", "https") and doc["confirmed"]:
            token = self._new_token(topic_key_, doc, restore=True)
            self.fanout.confirmation(topic, doc, token, ctx.base_url, "UnsubscribeConfirmation")

    @committed
    def confirm_subscription(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        token = params["Token"]
        try:
            key, topic = self._topic(ctx, params["TopicArn"])
        except AwsError as error:
            if error.code == "NotFound":
                raise
            raise invalid("Topic") from None
        entry = self.store.get(TOKEN, token)
        if entry is None or entry["topic"] != key or entry["expires"] <= self.clock.now_ms():
            if not _looks_like_token(token):
                raise AwsError("InvalidParameter", "Invalid token")
            raise invalid("Token")
        sub_key = subscription_key(entry["sub"], topic["region"])
        doc = self.store.get(SUBSCRIPTION, sub_key) or entry.get("restore")
        if doc is None:
            raise invalid("Token")
        current = self.store.get(SUBSCRIPTION, sub_key)
        if current is None or not current["confirmed"]:  # confirm, or restore after unsubscribing
            authenticated = parse_bool(params.get("AuthenticateOnUnsubscribe"))
            confirmed = {**doc, "confirmed": True, "authenticated": authenticated}
            self.store.put(SUBSCRIPTION, sub_key, confirmed)
            self.fanout.forget(key)
        return {"SubscriptionArn": doc["arn"]}

    def list_subscriptions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found = self.store.scan(SUBSCRIPTION, f"{ctx.account}/{ctx.region}/")
        return _subscription_page(found, params.get("NextToken"))

    def list_subscriptions_by_topic(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        key, _ = self._topic(ctx, params["TopicArn"])
        return _subscription_page(self.store.scan(SUBSCRIPTION, key + "/"), params.get("NextToken"))

    def get_subscription_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        key, doc = self._subscription(ctx, params["SubscriptionArn"])
        topic = self.store.get(TOPIC, key.rsplit("/", 1)[0])
        return {"Attributes": subs.attributes_of(doc, topic)}

    @committed
    def set_subscription_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        key, doc = self._subscription(ctx, params["SubscriptionArn"])
        topic = self.store.get(TOPIC, key.rsplit("/", 1)[0])
        name, value = params["AttributeName"], params.get("AttributeValue") or ""
        fifo = bool(topic and topic["fifo"])
        subs.check_attribute(
            name, value, protocol=doc["protocol"], fifo_topic=fifo, subscribing=False
        )
        attributes = dict(doc["attributes"])
        if value == "" and name in (
            "FilterPolicy",
            "RedrivePolicy",
            "DeliveryPolicy",
            "SubscriptionRoleArn",
        ):
            attributes.pop(name, None)
        else:
            attributes[name] = value
        subs.check_filter(attributes, subscribing=False)
        self.store.put(SUBSCRIPTION, key, {**doc, "attributes": attributes})
        self.fanout.forget(key.rsplit("/", 1)[0])

    # -- publishing ------------------------------------------------------------------------------
    async def publish(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await self.signer.ready()
        arn = (
            None if params.get("PhoneNumber") else params.get("TopicArn") or params.get("TargetArn")
        )
        prepared = await self.publisher.prepare(ctx, [params], arn)
        return await self.app.commit(self.publisher.publish, ctx, params, prepared.get(0))

    async def publish_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await self.signer.ready()
        entries = params["PublishBatchRequestEntries"]
        prepared = await self.publisher.prepare(ctx, entries[:10], params["TopicArn"])
        return await self.app.commit(self.publisher.publish_batch, ctx, params, prepared)

    # -- SMS ---------------------------------------------------------------------------------------
    @committed
    def set_sms_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.sms.set_attributes(ctx, dict(params["attributes"]))

    def get_sms_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"attributes": self.sms.get_attributes(ctx, params.get("attributes"))}

    def check_if_phone_number_is_opted_out(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"isOptedOut": self.sms.is_opted_out(ctx, params["phoneNumber"])}

    def list_phone_numbers_opted_out(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.sms.opted_out(ctx, params.get("nextToken"))

    @committed
    def opt_in_phone_number(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.sms.opt_in(ctx, params["phoneNumber"])

    def get_sms_sandbox_account_status(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"IsInSandbox": False}

    @committed
    def create_sms_sandbox_phone_number(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.sms.sandbox_add(ctx, params["PhoneNumber"], params.get("LanguageCode"))

    @committed
    def verify_sms_sandbox_phone_number(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.sms.sandbox_verify(ctx, params["PhoneNumber"], params["OneTimePassword"])

    @committed
    def delete_sms_sandbox_phone_number(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.sms.sandbox_delete(ctx, params["PhoneNumber"])

    def list_sms_sandbox_phone_numbers(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"PhoneNumbers": self.sms.sandbox_list(ctx)}

    def list_origination_numbers(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"PhoneNumbers": []}

    # -- mobile push -------------------------------------------------------------------------------
    @committed
    def create_platform_application(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.platforms.create_app(ctx, params)

    def get_platform_application_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"Attributes": self.platforms.app_attributes(params["PlatformApplicationArn"])}

    @committed
    def set_platform_application_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> None:
        self.platforms.set_app_attributes(
            params["PlatformApplicationArn"], dict(params["Attributes"])
        )

    @committed
    def delete_platform_application(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.platforms.delete_app(params["PlatformApplicationArn"])

    def list_platform_applications(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.platforms.list_apps(ctx, params.get("NextToken"))

    @committed
    def create_platform_endpoint(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.platforms.create_endpoint(params)

    def get_endpoint_attributes(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"Attributes": self.platforms.endpoint_attributes(params["EndpointArn"])}

    @committed
    def set_endpoint_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.platforms.set_endpoint_attributes(params["EndpointArn"], dict(params["Attributes"]))

    @committed
    def delete_endpoint(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        self.platforms.delete_endpoint(params["EndpointArn"])

    def list_endpoints_by_platform_application(
        self, ctx: RequestContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        return self.platforms.list_endpoints(
            params["PlatformApplicationArn"], params.get("NextToken")
        )


def _page(
    found: list[tuple[str, dict[str, Any]]], token: str | None
) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """A page of 100 documents from a key-ordered scan; tokens name the next key."""
    start = 0
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise invalid("NextToken") from None
        start = next((i for i, (k, _) in enumerate(found) if k >= after), len(found))
    page = found[start : start + _PAGE]
    following = found[start + _PAGE] if start + _PAGE < len(found) else None
    next_token = base64.urlsafe_b64encode(following[0].encode()).decode() if following else None
    return page, next_token


def _subscription_page(
    found: list[tuple[str, dict[str, Any]]], token: str | None
) -> dict[str, Any]:
    page, next_token = _page(found, token)
    out: dict[str, Any] = {"Subscriptions": [subs.listed(doc) for _, doc in page]}
    if next_token:
        out["NextToken"] = next_token
    return out


def _looks_like_token(token: str) -> bool:
    return len(token) >= 32 and all(c in "0123456789abcdef" for c in token.lower())

"""SNS -> Lambda delivery in the local cloud: the event AWS gives a Lambda subscribed to a topic.

moto's own SNS delivery to Lambda sends a fixed example event; awslab/local/moto_patches.py routes
a `lambda` subscription's publish here instead.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from awslab.local.active_executor import invoke_async

# The executor's logger: this delivery was part of it, and its warnings keep their source.
log = logging.getLogger("awslab.local.executor")


def signature_version(topic: Any) -> str:
    """The topic's SignatureVersion: "1" (SHA1withRSA) unless it was set to "2" (SHA256withRSA), as
    on AWS. moto keeps the attribute under the name CreateTopic or SetTopicAttributes gave it."""
    for name in ("SignatureVersion", "signature_version"):
        value = getattr(topic, name, None)
        if value:
            return str(value)
    return "1"


def string_to_sign(sns: dict[str, Any]) -> str:
    """What SNS signs for a Notification: these fields, name and value on their own lines, in this
    order, Subject only when the message has one."""
    names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    return "".join(f"{name}\n{sns[name]}\n" for name in names if sns.get(name) is not None)


def sign(sub: Any, sns: dict[str, Any], version: str) -> str:
    """The Signature field, made with the subscription's key (the one behind moto's SigningCertURL
    certificate) and the topic's algorithm."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = hashes.SHA256() if version == "2" else hashes.SHA1()  # SHA1: what version 1 means
    signed = sub.private_key().sign(string_to_sign(sns).encode("utf-8"), padding.PKCS1v15(), algorithm)
    return base64.b64encode(signed).decode("ascii")


def lambda_event(
    sub: Any, message: str, message_id: str, subject: str | None, attributes: dict[str, Any]
) -> dict[str, Any]:
    """The event AWS gives a Lambda subscribed to a topic: real topic and subscription ARNs, the
    publish's MessageId and attributes ({"Type", "Value"}), an envelope signed with the topic's
    SignatureVersion ("1" unless set), Subject null when unset."""
    envelope = sub.get_post_data(message, message_id, subject)  # its Timestamp and signing certificate
    region = sub.endpoint.split(":")[3]
    version = signature_version(sub.topic)
    sns = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": sub.topic.arn,
        "Subject": subject,
        "Message": message,
        "Timestamp": envelope["Timestamp"],
        "SignatureVersion": version,
        "Signature": "",
        "SigningCertUrl": envelope["SigningCertURL"],
        "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub.arn}",
        "MessageAttributes": attributes,
    }
    sns["Signature"] = sign(sub, sns, version)
    return {
        "Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": sub.arn, "Sns": sns}
        ]
    }


def deliver_to_lambda(
    sub: Any, message: str, message_id: str, subject: str | None, attributes: dict[str, Any]
) -> None:
    """Invoke the subscribed function with lambda_event(...), asynchronously as SNS does: the event
    is queued (active_executor.invoke_async) and the Publish returns before the handler runs."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    event = lambda_event(sub, message, message_id, subject, attributes)
    region = sub.endpoint.split(":")[3]
    try:
        fn = get_backend(sub.account_id, region).get_function(sub.endpoint)
    except LambdaClientError:  # AWS delivers asynchronously: a missing function never fails the Publish
        log.warning("SNS subscription %s: function %s not found", sub.arn, sub.endpoint)
        return
    invoke_async(fn, event)

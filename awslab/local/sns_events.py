"""SNS -> Lambda delivery in the local cloud: the event AWS gives a Lambda subscribed to a topic.

moto's own SNS delivery to Lambda sends a fixed example event; awslab/local/moto_patches.py routes
a `lambda` subscription's publish here instead.
"""

from __future__ import annotations

import json
import logging
from typing import Any

# The executor's logger: this delivery was part of it, and its warnings keep their source.
log = logging.getLogger("awslab.local.executor")


def deliver_to_lambda(
    sub: Any, message: str, message_id: str, subject: str | None, attributes: dict[str, Any]
) -> None:
    """The event AWS gives a Lambda subscribed to a topic: real topic and subscription ARNs, the
    publish's MessageId and attributes ({"Type", "Value"}), a signed envelope, Subject null when unset."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    envelope = sub.get_post_data(message, message_id, subject)  # signs like the SQS/HTTP deliveries
    region = sub.endpoint.split(":")[3]
    unsubscribe = f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub.arn}"
    sns = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": sub.topic.arn,
        "Subject": subject,
        "Message": message,
        "Timestamp": envelope["Timestamp"],
        "SignatureVersion": envelope["SignatureVersion"],
        "Signature": envelope["Signature"],
        "SigningCertUrl": envelope["SigningCertURL"],
        "UnsubscribeUrl": unsubscribe,
        "MessageAttributes": attributes,
    }
    event = {
        "Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": sub.arn, "Sns": sns}
        ]
    }
    try:
        fn = get_backend(sub.account_id, region).get_function(sub.endpoint)
    except LambdaClientError:  # AWS delivers asynchronously: a missing function never fails the Publish
        log.warning("SNS subscription %s: function %s not found", sub.arn, sub.endpoint)
        return
    fn.invoke(json.dumps(event), {}, {})

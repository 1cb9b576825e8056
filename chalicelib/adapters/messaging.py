"""Text messages through SNS and email through SES. A refusal becomes DeliveryFailed so the
caller can report it; the link itself stays valid."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..domain.errors import DeliveryFailed


class SnsSms:
    def __init__(self, client: Any, sender_id: str | None = None) -> None:
        self._sns, self._sender_id = client, sender_id

    def send_sms(self, phone: str, text: str) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        try:
            sent = self._sns.publish(PhoneNumber=phone, Message=text, MessageAttributes=attributes)
        except ClientError as exc:
            raise DeliveryFailed(f"SMS not sent: {exc.response['Error'].get('Message', 'refused')}") from exc
        return str(sent["MessageId"])


class SesEmail:
    def __init__(self, client: Any, sender: str) -> None:
        self._ses, self._sender = client, sender

    def send_email(self, to: str, subject: str, text: str) -> str:
        try:
            sent = self._ses.send_email(
                Source=self._sender, Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
            )
        except ClientError as exc:
            raise DeliveryFailed(f"Email not sent: {exc.response['Error'].get('Message', 'refused')}") from exc
        return str(sent["MessageId"])

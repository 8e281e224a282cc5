"""E-mail over SMTP: STARTTLS (or implicit TLS) and authentication, one multipart message
(plain text and HTML) per recipient group.

Recipients named in the register by name ("Priya Shah") are looked up in
``alerting.directory``; a recipient with no e-mail address is refused, not guessed.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Collection, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from alerting.channels import DeliveryFailed, DeliveryRefused, PartlyDelivered, UnknownRecipient
from alerting.render import Message
from socmon.config.alerting import ChannelName, SmtpSettings

# SMTP replies that mean "try again later" (RFC 5321 4yz); 5yz is permanent.
TRANSIENT_SMTP = range(400, 500)


class EmailChannel:
    """Sends through one SMTP server; a new connection per message keeps the failure simple."""

    name: ChannelName = "email"

    def __init__(self, smtp: SmtpSettings, directory: Mapping[str, str]) -> None:
        self.smtp = smtp
        self.directory = dict(directory)

    def address_of(self, recipient: str) -> str:
        address = self.directory.get(recipient, recipient)
        if "@" not in address:
            msg = f"no e-mail address for {recipient!r}: add it to alerting.directory"
            raise UnknownRecipient(msg)
        return address

    def compose(self, message: Message, recipients: Sequence[str]) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.smtp.sender
        mail["To"] = ", ".join(self.address_of(r) for r in recipients)
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(domain=self.smtp.sender.rpartition("@")[2] or None)
        mail["X-Socmon-Alert"] = message.ref  # lets a mailbox rule file or dedupe alerts
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        return mail

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(
            cafile=str(self.smtp.ca_file) if self.smtp.ca_file else None
        )

    def send(self, message: Message, recipients: Sequence[str]) -> None:
        mail = self.compose(message, recipients)
        where = f"{self.smtp.host}:{self.smtp.port}"
        try:
            client: smtplib.SMTP
            if self.smtp.ssl:
                client = smtplib.SMTP_SSL(
                    self.smtp.host,
                    self.smtp.port,
                    timeout=self.smtp.timeout_seconds,
                    context=self._tls_context(),
                )
            else:
                client = smtplib.SMTP(
                    self.smtp.host, self.smtp.port, timeout=self.smtp.timeout_seconds
                )
            with client:
                client.ehlo()
                if self.smtp.starttls and not self.smtp.ssl:
                    client.starttls(context=self._tls_context())
                    client.ehlo()
                if self.smtp.username:
                    password = self.smtp.password.get_secret_value() if self.smtp.password else ""
                    client.login(self.smtp.username, password)
                refused = client.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            msg = (
                f"SMTP server {where} refused the login of {self.smtp.username!r} ({exc.smtp_code})"
            )
            raise DeliveryRefused(msg) from exc
        except smtplib.SMTPResponseException as exc:
            reply = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            msg = f"SMTP server {where} answered {exc.smtp_code} {reply}"
            if exc.smtp_code in TRANSIENT_SMTP:
                raise DeliveryFailed(msg) from exc
            raise DeliveryRefused(msg) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            msg = f"SMTP server {where} refused every recipient: {sorted(exc.recipients)}"
            raise DeliveryRefused(msg) from exc
        except (smtplib.SMTPException, OSError) as exc:
            msg = f"SMTP server {where} unreachable: {exc}"
            raise DeliveryFailed(msg) from exc
        if refused:
            # Some accepted, some not: only the refused ones failed (the others must not be
            # sent the same message again by a retry).
            by_address = {self.address_of(r): r for r in recipients}
            failed = {
                by_address.get(address, address): f"SMTP {code} {reply.decode('utf-8', 'replace')}"
                for address, (code, reply) in refused.items()
            }
            msg = f"SMTP server {where} refused {sorted(failed)}"
            raise PartlyDelivered(msg, failed)

    def confirm(self, delivery_keys: Collection[str]) -> set[str] | None:
        return None  # SMTP has no way to ask whether a message went out

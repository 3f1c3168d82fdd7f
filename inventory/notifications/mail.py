"""Plain-text email over SMTP (smtplib): building a safe message and one connection per batch.

Nothing here reads the database. The password lives only in `SmtpSettings` (hidden from its
repr) and in smtplib's login call; `safe_error()` turns any exception into text that can be
stored or printed, with the password (and its base64 forms, as AUTH sends it) removed.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from inventory.notifications.services import clean_body, one_line, usable_address

ERROR_MAX = 500


class MailError(RuntimeError):
    """The message cannot be built (for example an unusable address)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0
    mail_from: str = "Sampada <sampada@localhost>"

    @classmethod
    def from_config(cls, config) -> SmtpSettings:
        return cls(
            host=(config.get("SMTP_HOST") or "").strip(),
            port=int(config.get("SMTP_PORT") or 25),
            username=config.get("SMTP_USERNAME") or "",
            password=config.get("SMTP_PASSWORD") or "",
            starttls=bool(config.get("SMTP_STARTTLS")),
            use_ssl=bool(config.get("SMTP_SSL")),
            timeout=float(config.get("SMTP_TIMEOUT") or 10),
            mail_from=config.get("MAIL_FROM") or "Sampada <sampada@localhost>",
        )

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def secrets(self) -> list[str]:
        """Every form in which the password could show up in an error text."""
        if not self.password:
            return []
        forms = {self.password}
        raw = self.password.encode()
        forms.add(base64.b64encode(raw).decode())
        forms.add(base64.b64encode(b"\0" + self.username.encode() + b"\0" + raw).decode())
        forms.add(base64.b64encode(self.username.encode() + b"\0" + raw).decode())
        return sorted(forms, key=len, reverse=True)


def safe_error(exc: BaseException, settings: SmtpSettings | None = None) -> str:
    """One line naming the failure, never containing the SMTP password."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        text = f"{type(exc).__name__}: {exc.smtp_code} {message}"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for rcpt, (code, message) in exc.recipients.items():
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            parts.append(f"{rcpt}: {code} {message}")
        text = f"{type(exc).__name__}: " + "; ".join(parts)
    for secret in settings.secrets() if settings else []:
        text = text.replace(secret, "***")
    return one_line(text, ERROR_MAX)


def is_permanent(exc: BaseException) -> bool:
    """A refusal of this one message that retrying will not change (5xx for its recipient or
    content). Connection, authentication and temporary (4xx) failures are retried."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        return exc.smtp_code >= 500
    return isinstance(exc, MailError)


def build_message(
    *, mail_from: str, to: str, subject: str, body: str, now: datetime
) -> EmailMessage:
    """A UTF-8 plain-text message. The subject is forced onto one line (a title with line
    breaks cannot add headers) and the address must be one plain address."""
    address = usable_address(to)
    if address is None:
        raise MailError(f"Not a usable email address: {one_line(to, 100)!r}")
    name, sender = sender_of(mail_from)
    subject = one_line(subject)
    # An ASCII subject stays on one line (up to RFC 5322's 998); encoded words fold at 78.
    message = EmailMessage(
        policy=policy.SMTP.clone(max_line_length=998 if subject.isascii() else 78)
    )
    message["From"] = Address(name, addr_spec=sender) if name else sender
    message["To"] = address
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    text = clean_body(body) + "\n"
    cte = "7bit" if text.isascii() else "base64"
    message.set_content(text, subtype="plain", charset="utf-8", cte=cte)
    return message


def sender_of(mail_from: str) -> tuple[str, str]:
    """(display name, address) of MAIL_FROM; MailError when it is not one plain address
    ("sampada@localhost" is fine)."""
    name, sender = parseaddr(mail_from or "")
    local, at, domain = sender.rpartition("@")
    if (
        not at
        or not local
        or not domain
        or any(ch.isspace() or ch in ',;<>"\\' or ord(ch) < 32 for ch in sender)
    ):
        raise MailError("MAIL_FROM is not a usable address")
    return one_line(name, 100), sender


class SmtpConnection:
    """One SMTP session: connect, (STARTTLS), (login), send many, quit."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        s = self.settings
        context = ssl.create_default_context()
        if s.use_ssl:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.starttls and not s.use_ssl:
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password)
        except BaseException:
            _close(smtp)
            raise
        self.smtp = smtp
        return self

    def send(self, message: EmailMessage) -> None:
        assert self.smtp is not None
        self.smtp.send_message(message)

    def __exit__(self, *exc_info) -> None:
        if self.smtp is not None:
            _close(self.smtp)
            self.smtp = None


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()

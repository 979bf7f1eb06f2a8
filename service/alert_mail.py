"""The words of alert e-mails (one need, or a digest of several), and the unsubscribe headers they carry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine

from service import alert_links
from store.alert_models import Alert


def unsubscribe_headers(engine: Engine, base_url: str, supplier_id: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058: mail programs offer "unsubscribe" and post it without opening the page."""
    return {
        "List-Unsubscribe": f"<{alert_links.unsubscribe_url(engine, base_url, supplier_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _need_lines(engine: Engine, base_url: str, alert: Alert, need: Any | None) -> list[str]:
    lines = [f"{alert.need_title}", f"  Match: {alert.score:.2f} — {alert.why}"]
    if need is not None:
        facts = [f"Buyer: {need.buyer}" if need.buyer else "", f"Status: {need.status}"]
        if need.deadline:
            facts.append(f"Deadline: {need.deadline.isoformat()}")
        lines.append("  " + " · ".join(f for f in facts if f))
    lines.append(f"  {alert_links.need_url(engine, base_url, alert.supplier_id, alert.need_id)}")
    return lines


def _footer(engine: Engine, base_url: str, supplier_id: str) -> list[str]:
    return [
        "",
        "--",
        f"You receive this because {supplier_id}'s profile matches the need. Change what you hear about on",
        f"{base_url}/ui/my/alerts/settings, or stop these e-mails (no sign-in needed):",
        alert_links.unsubscribe_url(engine, base_url, supplier_id),
    ]


def one_line(text: str) -> str:
    """A buyer's title may hold line breaks: a subject line must not (header injection is refused)."""
    return " ".join(text.split())


def immediate(engine: Engine, base_url: str, alert: Alert, need: Any | None) -> tuple[str, str]:
    """Subject and body of the e-mail about one need."""
    subject = one_line(f"New need matching your profile: {alert.need_title}")[:200]
    body = ["A public buyer describes a need that matches what you do:", ""]
    body += _need_lines(engine, base_url, alert, need)
    body += ["", "Open the link to read the need and to tell the programme whether you are interested."]
    return subject, "\n".join(body + _footer(engine, base_url, alert.supplier_id))


def digest(engine: Engine, base_url: str, alerts: Sequence[Alert], needs: dict[str, Any], cadence: str) -> tuple[str, str]:
    """Subject and body of a daily or weekly digest, best matches first."""
    period = "today" if cadence == "daily" else "this week"
    subject = f"{len(alerts)} new need(s) matching your profile {period}"
    body = [f"Public buyers described {len(alerts)} need(s) that match what you do:", ""]
    for alert in alerts:
        body += [*_need_lines(engine, base_url, alert, needs.get(alert.need_id)), ""]
    return subject, "\n".join(body + _footer(engine, base_url, alerts[0].supplier_id))

"""A supplier's alerts as an Atom feed (RFC 4287): read by feed readers and tender-watch tools, with an
API key or at a secret address (service/alert_links.py). Built with ElementTree, so every text is escaped."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from service import alert_links
from store.alert_models import Alert

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


def _stamp(at: dt.datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).isoformat(timespec="seconds")


# Characters XML 1.0 cannot hold at all (escaping does not help): a feed reader would refuse the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = _NOT_XML.sub(" ", text)
    return element


def atom(engine: Engine, base_url: str, supplier_id: str, alerts: Sequence[Alert]) -> bytes:
    """The feed of these alerts (newest first), each linking to its need's page."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", f"{base_url}/suppliers/{supplier_id}/alerts")
    _add(feed, "title", f"Needs matching {supplier_id}")
    _add(feed, "updated", _stamp(alerts[0].created_at) if alerts else _stamp(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    author = _add(feed, "author")
    _add(author, "name", "Matchmaker")
    _add(feed, "link", rel="alternate", href=f"{base_url}/ui/my/alerts")
    for alert in alerts:
        entry = _add(feed, "entry")
        _add(entry, "id", f"{base_url}/alerts/{supplier_id}/{alert.need_id}")
        _add(entry, "title", alert.need_title)
        _add(entry, "updated", _stamp(alert.created_at))
        _add(entry, "link", rel="alternate", href=alert_links.need_url(engine, base_url, supplier_id, alert.need_id))
        _add(entry, "summary", f"Match {alert.score:.2f}: {alert.why}")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))

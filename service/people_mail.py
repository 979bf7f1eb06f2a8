"""The e-mails people get: what each says, in one place. Each returns (subject, body) in plain text."""

from __future__ import annotations

SIGNATURE = "\n\n— Matchmaker, the supplier-development programme's matchmaking service"


def _link_lines(link: str, lifetime: str) -> str:
    return f"{link}\n\nThe link works once and expires {lifetime}. If you did not ask for it, ignore this e-mail."


def sign_in(link: str) -> tuple[str, str]:
    return "Your sign-in link", "Sign in to Matchmaker with this link:\n\n" + _link_lines(link, "in 15 minutes") + SIGNATURE


def invitation(link: str, *, invited_by: str, role: str, acts_for: str | None) -> tuple[str, str]:
    as_what = f"as {role}" + (f" for {acts_for}" if acts_for else "")
    body = (
        f"{invited_by} has invited you to Matchmaker {as_what}: public buyers describe their needs there, and "
        "suppliers are matched to them before a tender.\n\nSign in with this link:\n\n" + _link_lines(link, "in 7 days")
    )
    return "You are invited to Matchmaker", body + SIGNATURE


def registration_received(organisation: str) -> tuple[str, str]:
    body = (
        f"We have your registration for {organisation}. An adviser of the programme will look at it; once it is "
        "approved you will get a sign-in link by e-mail."
    )
    return "Your registration is waiting for an adviser", body + SIGNATURE


def already_registered(sign_in_page: str) -> tuple[str, str]:
    body = (
        "Someone tried to register with this address, which already has an account. To sign in, ask for a link "
        f"here:\n\n{sign_in_page}\n\nIf it was not you, ignore this e-mail."
    )
    return "You already have an account", body + SIGNATURE


def approved(link: str, organisation: str) -> tuple[str, str]:
    body = f"The registration of {organisation} was approved. Sign in with this link:\n\n" + _link_lines(link, "in 7 days")
    return "Your registration was approved", body + SIGNATURE


def refused(organisation: str) -> tuple[str, str]:
    body = (
        f"The registration of {organisation} was not approved. If you think this is a mistake, contact the programme's advisers."
    )
    return "Your registration was not approved", body + SIGNATURE


def no_account(register_page: str) -> tuple[str, str]:
    body = (
        "Someone asked for a sign-in link for this address, but it has no account. Buyers and advisers are "
        f"invited by the programme; a supplier can register here:\n\n{register_page}\n\nIf it was not you, "
        "ignore this e-mail."
    )
    return "No account for this address", body + SIGNATURE


def not_yet(status: str) -> tuple[str, str]:
    why = "is still waiting for an adviser's approval" if status == "pending" else "cannot sign in"
    return "No sign-in link", f"Someone asked for a sign-in link for this address, but its account {why}." + SIGNATURE

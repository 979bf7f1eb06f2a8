"""``matchmaker keys``: a key is printed once, stored only hashed, listed by prefix and revoked."""

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from api.cli_keys import database
from service.keys import authenticate, list_keys


def test_create_list_and_revoke_a_key(home: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--role", "buyer", "--buyer", "Bergen kommune", "--label", "Kari"])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[0]
    assert plaintext.startswith("mm_")
    engine = database()
    principal = authenticate(engine, plaintext)
    assert principal is not None and principal.role == "buyer" and principal.buyer == "Bergen kommune"
    stored = list_keys(engine)
    assert len(stored) == 1 and plaintext not in repr(vars(stored[0])) and stored[0].secret_hash != plaintext
    prefix = stored[0].prefix
    assert prefix in runner.invoke(app, ["keys", "list"]).output
    assert runner.invoke(app, ["keys", "revoke", prefix]).exit_code == 0
    assert authenticate(engine, plaintext) is None and "revoked" in runner.invoke(app, ["keys", "list"]).output


def test_bad_key_requests_say_why(home: Path) -> None:
    runner = CliRunner()
    wrong_role = runner.invoke(app, ["keys", "create", "--role", "king"])
    assert wrong_role.exit_code == 2 and "role" in wrong_role.output
    no_supplier = runner.invoke(app, ["keys", "create", "--role", "supplier"])
    assert no_supplier.exit_code == 2 and "supplier" in no_supplier.output
    unknown = runner.invoke(app, ["keys", "create", "--role", "supplier", "--supplier", "NO-BRC-1"])
    assert unknown.exit_code == 2 and "not found" in unknown.output
    assert runner.invoke(app, ["keys", "revoke", "nope"]).exit_code == 2


def test_serve_creates_a_first_admin_key_only_on_a_database_without_keys(home: Path) -> None:
    from api.cli_keys import first_admin_key

    engine = database()
    first = first_admin_key(engine)
    assert first is not None and authenticate(engine, first).role == "admin"  # type: ignore[union-attr]
    assert first_admin_key(engine) is None

"""Pre-release only: rewrite migrations/versions/0001_initial_schema.py from the models.

Until the first release there is one migration; after it, add migrations with `alembic revision`
(service.migrate.revision) instead of running this.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from service import migrate
from service.db import Database

VERSIONS = Path(migrate.__file__).resolve().parent / "migrations" / "versions"


def main() -> None:
    """Delete the versions, autogenerate against an empty SQLite database, name the result 0001."""
    for f in VERSIONS.glob("*.py"):
        f.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/empty.db")
        migrate.revision(db.engine, "initial schema")
        db.dispose()
    (generated,) = VERSIONS.glob("*.py")
    text = generated.read_text()
    rev = re.search(r"revision: str = '(\w+)'", text)
    assert rev
    text = text.replace(rev.group(1), "0001")
    text = re.sub(r"Create Date: .*\n", "", text)
    generated.unlink()
    (VERSIONS / "0001_initial_schema.py").write_text(text)
    print(f"wrote {VERSIONS / '0001_initial_schema.py'}")


if __name__ == "__main__":
    main()

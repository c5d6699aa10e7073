"""Archive old audit-log rows to a gzip'd JSON-lines file (``python -m backoffice
archive-audit``). The audit log is kept: this moves rows older than a date out of the
hot table into a file that goes with the backups; without ``--delete`` it only exports.
"""

import gzip
import json
import os

from sqlalchemy import delete, func, select

from .extensions import db
from .models import AuditLog

COLUMNS = ("id", "at", "actor_membership_id", "actor_account_id", "actor_org_id", "action", "object_type",
           "object_id", "before", "after", "comment")
BATCH = 5000


def archive(before, out_path, *, remove=False):
    """Write every row with ``at < before`` to ``out_path`` (gzip JSON lines, oldest
    first); with ``remove``, delete exactly the written rows afterwards, in one
    transaction. Returns the number of rows written."""
    total = db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.at < before))
    written, last_id = 0, 0
    tmp = f"{out_path}.part"
    with gzip.open(tmp, "wt", encoding="utf-8") as out:
        while True:
            rows = db.session.execute(select(*[getattr(AuditLog, c) for c in COLUMNS]).where(
                AuditLog.at < before, AuditLog.id > last_id).order_by(AuditLog.id).limit(BATCH)).all()
            if not rows:
                break
            for row in rows:
                record = dict(zip(COLUMNS, row, strict=True))
                record["at"] = record["at"].isoformat()
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += len(rows)
            last_id = rows[-1].id
        out.flush()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, out_path)
    if written != total:
        raise RuntimeError(f"audit log changed during the archive ({written} written, {total} counted)")
    if remove and written:
        db.session.execute(delete(AuditLog).where(AuditLog.at < before, AuditLog.id <= last_id))
    db.session.commit()
    return written

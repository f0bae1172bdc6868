"""Job table in SQLite (default) or PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..errors import FauError

__all__ = ["JobStore", "STATES", "TERMINAL"]

log = logging.getLogger(__name__)

#: Job states, in lifecycle order.
STATES: tuple[str, ...] = ("queued", "running", "done", "failed")
#: States a job does not leave.
TERMINAL: tuple[str, ...] = ("done", "failed")

_meta = sa.MetaData()
jobs = sa.Table(
    "fau_jobs",
    _meta,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("duration_s", sa.Float),
    sa.Column("fps", sa.Float),
    sa.Column("segments", sa.Integer),
    sa.Column("created_at", sa.Float, nullable=False, index=True),  # unix seconds
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float, index=True),
    sa.Column("heartbeat_at", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("worker", sa.String(64)),
    sa.Column("error", sa.Text),
    sa.Column("n_frames", sa.Integer),
    sa.Column("n_rows", sa.Integer),
)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cur.execute("PRAGMA busy_timeout=10000")  # ms to wait for a lock before failing
    cur.close()


class JobStore:
    """The persistent job table.

    Parameters
    ----------
    url : str
        SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://...``).

    Notes
    -----
    Claiming a job is one conditional ``UPDATE ... WHERE state='queued'``: atomic in
    SQLite and PostgreSQL, so several worker threads or server processes sharing one
    database never start the same job twice.
    """

    def __init__(self, url: str) -> None:
        try:
            if url.startswith("sqlite"):
                self.engine: Engine = sa.create_engine(
                    url, connect_args={"check_same_thread": False, "timeout": 10}
                )
                sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = sa.create_engine(url, pool_pre_ping=True)
            _meta.create_all(self.engine)
        except ModuleNotFoundError as exc:
            raise FauError(
                f"database URL {self._safe(url)!r} needs the driver {exc.name!r} "
                "(PostgreSQL: pip install 'psycopg[binary]')"
            ) from None
        except sa.exc.SQLAlchemyError as exc:
            raise FauError(f"cannot open the job database {self._safe(url)!r}: {exc}") from None

    @staticmethod
    def _safe(url: str) -> str:
        """The URL without its password, for messages."""
        try:
            return sa.engine.make_url(url).render_as_string(hide_password=True)
        except Exception:
            return "<unparsable URL>"

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- rows --------------------------------------------------------------------------
    def create(self, **row: Any) -> None:
        """Insert a new job row (``state`` defaults to ``queued``)."""
        row.setdefault("state", "queued")
        row.setdefault("progress", 0.0)
        row.setdefault("attempts", 0)
        row.setdefault("created_at", time.time())
        with self.engine.begin() as c:
            c.execute(jobs.insert().values(**row))

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job row as a dict, or None."""
        with self.engine.connect() as c:
            r = c.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        return dict(r) if r else None

    def list(self, *, limit: int = 50, offset: int = 0, state: str | None = None) -> list[dict[str, Any]]:
        """Jobs, newest first."""
        q = sa.select(jobs).order_by(jobs.c.created_at.desc()).limit(limit).offset(offset)
        if state:
            q = q.where(jobs.c.state == state)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    def count(self, state: str | None = None) -> int:
        """Number of jobs (in ``state``)."""
        q = sa.select(sa.func.count()).select_from(jobs)
        if state:
            q = q.where(jobs.c.state == state)
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    def claim(self, worker: str) -> dict[str, Any] | None:
        """Atomically move the oldest queued job to ``running`` and return it, or None."""
        for _ in range(8):  # another worker may win the race; try the next one
            with self.engine.begin() as c:
                job_id = c.execute(
                    sa.select(jobs.c.id).where(jobs.c.state == "queued")
                    .order_by(jobs.c.created_at).limit(1)
                ).scalar()
                if job_id is None:
                    return None
                now = time.time()
                res = c.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id, jobs.c.state == "queued")
                    .values(state="running", worker=worker, started_at=now, heartbeat_at=now,
                            attempts=jobs.c.attempts + 1, progress=0.0)  # a retry's reason stays
                )
                if res.rowcount == 1:
                    r = c.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
                    return dict(r) if r else None
        return None

    def heartbeat(self, job_id: str, worker: str, progress: float | None = None) -> bool:
        """Record that ``worker`` still runs the job; False if it is gone or not its own."""
        values: dict[str, Any] = {"heartbeat_at": time.time()}
        if progress is not None:
            values["progress"] = float(min(max(progress, 0.0), 1.0))
        return self._update_own_running(job_id, worker, values)

    def _update_own_running(self, job_id: str, worker: str, values: dict[str, Any]) -> bool:
        """Update a job only while it is running on ``worker``; False otherwise."""
        with self.engine.begin() as c:
            res = c.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.state == "running", jobs.c.worker == worker)
                .values(**values)
            )
        return res.rowcount == 1

    def finish(self, job_id: str, worker: str, state: str, **values: Any) -> bool:
        """Mark the job ``done`` or ``failed``; False if it was deleted or taken over."""
        if state not in TERMINAL:
            raise ValueError(f"finish() needs a terminal state, got {state!r}")
        values.update(state=state, finished_at=time.time())
        if state == "done":
            values["progress"] = 1.0
        return self._update_own_running(job_id, worker, values)

    def requeue(self, job_id: str, worker: str) -> bool:
        """Put a job this worker runs back in the queue, not counting the attempt."""
        return self._update_own_running(
            job_id, worker,
            {"state": "queued", "worker": None, "progress": 0.0, "attempts": jobs.c.attempts - 1},
        )

    def delete(self, job_id: str) -> bool:
        """Delete the row; False if there was none."""
        with self.engine.begin() as c:
            return c.execute(jobs.delete().where(jobs.c.id == job_id)).rowcount == 1

    # -- maintenance -------------------------------------------------------------------
    def recover(self, *, stale_after_s: float, max_attempts: int) -> list[tuple[str, str]]:
        """Deal with running jobs whose worker stopped writing heartbeats.

        A job with fewer than ``max_attempts`` starts goes back to ``queued`` (retried);
        the others become ``failed`` with a message saying why. Returns
        ``[(job id, "requeued" | "failed"), ...]``.
        """
        cutoff = time.time() - stale_after_s
        done: list[tuple[str, str]] = []
        with self.engine.begin() as c:
            rows = c.execute(
                sa.select(jobs.c.id, jobs.c.attempts, jobs.c.worker).where(
                    jobs.c.state == "running",
                    sa.or_(jobs.c.heartbeat_at.is_(None), jobs.c.heartbeat_at < cutoff),
                )
            ).all()
            for job_id, attempts, worker in rows:
                cond = (jobs.c.id == job_id, jobs.c.state == "running", jobs.c.worker == worker)
                if attempts < max_attempts:
                    res = c.execute(jobs.update().where(*cond).values(
                        state="queued", worker=None, progress=0.0,
                        error=f"attempt {attempts} was interrupted (the server stopped); retried"))
                    action = "requeued"
                else:
                    res = c.execute(jobs.update().where(*cond).values(
                        state="failed", finished_at=time.time(),
                        error=f"interrupted during attempt {attempts} of {max_attempts} "
                              "(server stopped while the job ran); not retried again"))
                    action = "failed"
                if res.rowcount == 1:
                    done.append((job_id, action))
        for job_id, action in done:
            log.warning("job %s was interrupted (its worker stopped): %s", job_id, action)
        return done

    def expired(self, before: float) -> list[str]:
        """Ids of finished or failed jobs that ended before ``before`` (unix seconds)."""
        with self.engine.connect() as c:
            return list(c.execute(
                sa.select(jobs.c.id).where(jobs.c.state.in_(TERMINAL), jobs.c.finished_at < before)
            ).scalars())

    def ids(self) -> set[str]:
        """Every job id in the table."""
        with self.engine.connect() as c:
            return set(c.execute(sa.select(jobs.c.id)).scalars())

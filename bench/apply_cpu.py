"""The CPU one sync push costs to apply, in this process: no HTTP, no server, no other thread.

    .venv/bin/python bench/apply_cpu.py [--phones 20] [--reps 6]

The demo data plus ``--phones`` onsite engineers, each with an accepted job per push, in a
temporary SQLite database (or, with ``FIELDOPS_DATABASE_URL`` set to a PostgreSQL URL, a
scratch database made beside that one, as ``bench/sync.py`` does). Then, alternating:

- every phone's 20-mutation push (on my way, check-in, 17 fix notes, done: ``bench/sync.py``'s
  batch) applied alone, ``apply_push`` (the fast path, one transaction each);
- every phone's next push applied in groups of 10, ``apply_group`` (what the inbox's
  applier does under a burst).

It prints the CPU time of this process per push for each repetition (``time.process_time``:
the host's stolen time and other processes do not count, so it moves less than wall
times on a shared machine), their minimum and median, and how many statements a push ran.
Figures, not assertions (testing.md).

``--instructions`` counts instead, under valgrind's callgrind (about 40× slower, a few
minutes): the machine instructions this process runs per push applied in a group, the
difference between a run with one grouped round and one with ``--reps`` of them (each
round also parses its pushes, as the server does). The count does not move with the
host's load: two runs of the same code agreed within 0.5 %, so it can tell a 2 % change
that the CPU times above, moving by 20 % from minute to minute here, cannot.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

import server.routes  # noqa: E402, F401 - the sync routes' models, with every mutation registered
from bench.sync import Server, add_phones, batch, database  # noqa: E402
from server.db import make_engine, utcnow  # noqa: E402
from server.models import Staff  # noqa: E402
from server.security import load_user  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.sync.apply import Queued, apply_group, apply_push  # noqa: E402
from server.sync.routes import PushBody, _incoming  # noqa: E402

GROUP = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phones", type=int, default=20)
    parser.add_argument("--reps", type=int, default=6, help="repetitions of each way")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per grouped push under callgrind")
    parser.add_argument("--groups-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        instructions(args.phones, args.reps)
        return
    with tempfile.TemporaryDirectory(prefix="fieldops-bench-apply-") as tmp, \
            database(Path(tmp)) as db_url:
        data = Path(tmp)
        server = Server(data, db_url)
        server.prepare()  # the demo data, migrated
        settings = Settings(data_dir=data,
                            database_url=server.env["FIELDOPS_DATABASE_URL"]).with_secrets()
        phones = add_phones(settings, args.phones, 2 * args.reps + 2)
        engine = make_engine(settings.db_url)
        with Session(engine) as db:
            users = [load_user(db, db.exec(select(Staff.id).where(Staff.username == u)).one())
                     for u, _, _ in phones]
        statements = [0]
        event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(
            0, statements[0] + 1))

        def pushes(k: int) -> list:
            out = []
            for _, jobs, where in phones:
                body = PushBody.model_validate({"client_id": "bench",
                                                "mutations": batch(jobs[k], where, 20)})
                out.append([_incoming(m) for m in body.mutations])
            return out

        gc.collect()
        gc.freeze()  # as the server does after start-up (server.heap)
        n = len(phones)
        alone: list[float] = []
        grouped: list[float] = []
        per_push = {"alone": 0.0, "grouped": 0.0}
        print(f"apply CPU bench: {engine.dialect.name}, {n} phones x 20 mutations, "
              f"{args.reps} repetitions")
        for k in range(2 * args.reps + 1):
            todo = pushes(k)
            statements[0] = 0
            t = time.process_time()
            if k % 2 == 0 and k and args.groups_only:
                continue
            if k % 2 == 0:  # k == 0: an untimed warm-up
                for i in range(n):
                    result = apply_push(engine, users[i], f"bench-{i}", todo[i], settings,
                                        durable=False)
                    assert all(r.status == "applied" for r in result.results), result.results[0]
                took = (time.process_time() - t) / n * 1000
                if k:
                    alone.append(took)
                    per_push["alone"] = statements[0] / n
            else:
                now = utcnow()
                queued = [Queued(users[i], f"bench-{i}", todo[i], now, None, {})
                          for i in range(n)]
                for j in range(0, n, GROUP):
                    assert apply_group(engine, queued[j:j + GROUP], settings) is not None
                took = (time.process_time() - t) / n * 1000
                grouped.append(took)
                per_push["grouped"] = statements[0] / n
            if k:
                print(f"  {'alone' if k % 2 == 0 else 'in groups of ' + str(GROUP)}: "
                      f"{took:.2f} ms of CPU per push")
        if args.groups_only:
            engine.dispose()
            return
        print(f"alone: min {min(alone):.2f} ms, median {statistics.median(alone):.2f} ms of CPU "
              f"per push, {per_push['alone']:.1f} statements a push")
        print(f"in groups of {GROUP}: min {min(grouped):.2f} ms, median "
              f"{statistics.median(grouped):.2f} ms of CPU per push, "
              f"{per_push['grouped']:.1f} statements a push")
        engine.dispose()


def instructions(phones: int, reps: int) -> None:
    """Instructions per grouped push: this script with one grouped round and with ``reps``
    (at least 2), each under callgrind, in a scratch database of its own."""
    reps = max(reps, 2)
    counts = {}
    for n in (1, reps):
        with tempfile.TemporaryDirectory(prefix="fieldops-callgrind-") as tmp:
            out = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
                 sys.executable, __file__, "--groups-only", "--reps", str(n),
                 "--phones", str(phones)],
                env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True,
                check=True)
        found = re.search(r"Collected : (\d+)", out.stderr)
        if found is None:
            raise SystemExit(out.stderr[-2000:])
        counts[n] = int(found.group(1))
    per_push = (counts[reps] - counts[1]) / ((reps - 1) * phones)
    print(f"instructions per push applied in a group of {GROUP} (callgrind, {phones} phones, "
          f"{reps - 1} rounds): {per_push / 1e6:.2f} million")


if __name__ == "__main__":
    main()

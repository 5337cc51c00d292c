"""The multi-process PostgreSQL deployment of docker-compose.yml, natively.

The same topology as ``docker-compose.yml`` runs here as plain processes on
loopback, from the same config file (``config/trytond-postgresql.conf``,
``[queue] worker = True``) plus an override file for the database URI and
the listening ports only:

* a fresh PostgreSQL database with ``party`` activated (``trytond-admin``),
* two ``trytond`` web processes on two free ports (sharing the database),
* one ``trytond-worker`` processing the ``ir.queue`` tasks,
* one ``trytond-cron`` running the due ``ir.cron`` tasks.

It checks that both web processes answer JSON-RPC and serve sao, that a
record written through one is read through the other, that a task queued by
another process is run by the worker, and that a due cron task is run by
trytond-cron; then it stops every process and drops the database.

It runs in the PostgreSQL pass of ``scripts/run_tests.py``
(``TRYTOND_DATABASE_URI=postgresql://...``) or when ``DEPLOYMENT_TEST=1``
(then on ``postgresql://127.0.0.1:5432/``), and is skipped when PostgreSQL
is unreachable.
"""
import datetime as dt
import json
import os
import time
import unittest
import urllib.request

from tests import support

DEFAULT_URI = 'postgresql://127.0.0.1:5432/'
MODULES = ['party']
WEB_PROCESSES = 2


def _deployment_uri():
    if support.is_postgresql():
        return support.database_uri()
    if os.environ.get('DEPLOYMENT_TEST') == '1':
        return DEFAULT_URI
    return None


def _wait(predicate, timeout, message, processes=()):
    "Poll predicate until it returns a true value; fail after timeout."
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(
                    f"{process.name} exited ({process.returncode}):\n"
                    + process.log_tail())
        if time.monotonic() > deadline:
            logs = '\n'.join(
                f'--- {p.name}\n{p.log_tail(2000)}' for p in processes)
            raise AssertionError(f"{message} after {timeout}s\n{logs}")
        time.sleep(0.2)


# Run by run_python in a child process configured like the deployment
# ([queue] worker = True): queue a write of the party's name; the task is
# only pushed to ir.queue (and NOTIFYed) at commit.
ENQUEUE = '''
from trytond.pool import Pool
from trytond.transaction import Transaction
Pool.start()
pool = Pool(DATABASE)
pool.init()
with Transaction().start(DATABASE, 0) as transaction:
    Party = pool.get('party.party')
    party = Party(int(ARGS[0]))
    Party.__queue__.write([party], {'name': ARGS[1]})
    transaction.commit()
'''


class DeploymentTest(unittest.TestCase):
    "2 trytond + trytond-worker + trytond-cron on one PostgreSQL database."

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        uri = _deployment_uri()
        if uri is None:
            raise unittest.SkipTest(
                "the deployment test runs in the PostgreSQL pass "
                "(TRYTOND_DATABASE_URI=postgresql://...) or with "
                "DEPLOYMENT_TEST=1")
        reason = support.postgresql_unavailable(uri)
        if reason:
            raise unittest.SkipTest(reason)
        started = time.monotonic()
        cls.site = support.Site(
            uri=uri, base_config=support.CONFIG_POSTGRESQL)
        cls.addClassCleanup(cls.site.cleanup)
        cls.database = f'deployment_{os.getpid()}'
        cls.site.drop(cls.database)
        cls.site.build_cached(cls.database, MODULES)
        cls.addClassCleanup(cls.site.drop, cls.database)
        cls._prepare_cron()

        # start everything at once; the web processes are waited for below
        cls.servers = []
        for i in range(WEB_PROCESSES):
            process, url = cls.site.start_server(
                cls.database, name=f'trytond-{i + 1}', wait=False)
            cls.addClassCleanup(process.stop)
            cls.servers.append((process, url))
        cls.worker = cls.site.start_worker(cls.database)
        cls.addClassCleanup(cls.worker.stop)
        cls.cron = cls.site.start_cron(cls.database, extra=['-n', '1'])
        cls.addClassCleanup(cls.cron.stop)
        cls.processes = [p for p, _ in cls.servers] + [cls.worker, cls.cron]
        for process, url in cls.servers:
            support.wait_for_rpc(url + '/rpc/', 120, process)
        cls.setup_seconds = time.monotonic() - started

    @classmethod
    def _sql(cls, query, params=()):
        "Run one query on the deployment's database; return all rows."
        import psycopg
        conninfo = support._pg_conninfo(cls.site.uri, cls.database)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else None

    @classmethod
    def _prepare_cron(cls):
        """Make the "Clean Task Queue" cron due, with an old finished task
        for it to delete ([queue] clean_days = 30 in the config)."""
        cls.cron_id, = cls._sql(
            "SELECT db_id FROM ir_model_data "
            "WHERE module = 'ir' AND fs_id = 'cron_queue_clean'")[0]
        past = dt.datetime.now() - dt.timedelta(hours=1)
        cls._sql(
            "UPDATE ir_cron SET next_call = %s, active = true, "
            "interval_number = 1, interval_type = 'minutes' WHERE id = %s",
            (past, cls.cron_id))
        old = dt.datetime.now() - dt.timedelta(days=60)
        data = json.dumps({
                'model': 'party.party', 'method': 'read', 'user': 0,
                'context': {}, 'instances': [], 'args': [], 'kwargs': {}})
        cls.old_task_id, = cls._sql(
            "INSERT INTO ir_queue (name, data, enqueued_at, dequeued_at, "
            "finished_at, create_uid, create_date) "
            "VALUES ('default', %s::jsonb, %s, %s, %s, 0, %s) RETURNING id",
            (data, old, old, old, old))[0]

    def _login(self, url):
        return support.login(url, self.database)

    def _call(self, url, method, params, session):
        return support.rpc(
            f'{url}/{self.database}/rpc/', method, params, session=session)

    def test_web_processes_answer(self):
        "Each web process answers JSON-RPC and serves the sao client"
        pids = set()
        for process, url in self.servers:
            with self.subTest(url=url):
                self.assertEqual(
                    support.rpc(url + '/rpc/', 'common.server.version'),
                    '8.0')
                # the database's own endpoint: the admin logs in
                self.assertTrue(self._login(url).startswith('Session '))
                with urllib.request.urlopen(url + '/', timeout=30) as page:
                    self.assertEqual(page.status, 200)
                    self.assertIn(b'tryton-sao', page.read())
                self.assertIsNone(process.poll())
                pids.add(process.pid)
        self.assertEqual(len(pids), WEB_PROCESSES)

    def test_shared_database(self):
        "A party created through one web process is read through the other"
        (_, first), (_, second) = self.servers[:2]
        party_id, = self._call(first, 'model.party.party.create',
            [[{'name': "Created on web 1"}], {}], self._login(first))
        session = self._login(second)
        party, = self._call(second, 'model.party.party.read',
            [[party_id], ['name'], {}], session)
        self.assertEqual(party['name'], "Created on web 1")
        # and the change made through the second is seen by the first
        self._call(second, 'model.party.party.write',
            [[party_id], {'name': "Renamed on web 2"}, {}], session)
        party, = self._call(first, 'model.party.party.read',
            [[party_id], ['name'], {}], self._login(first))
        self.assertEqual(party['name'], "Renamed on web 2")

    def test_queue_worker(self):
        "A task queued by another process is run by trytond-worker"
        _, url = self.servers[0]
        session = self._login(url)
        party_id, = self._call(url, 'model.party.party.create',
            [[{'name': "Before the worker"}], {}], session)
        support.run_python(
            self.site, self.database, ENQUEUE,
            str(party_id), "Renamed by the worker")
        task_id, = _wait(
            lambda: self._sql(
                "SELECT id FROM ir_queue WHERE finished_at IS NOT NULL "
                "AND data::text LIKE %s", ('%"Renamed by the worker"%',)),
            60, "the queued task was not run", self.processes)[0]
        self.assertNotEqual(task_id, self.old_task_id)
        party, = self._call(self.servers[1][1], 'model.party.party.read',
            [[party_id], ['name'], {}], self._login(self.servers[1][1]))
        self.assertEqual(party['name'], "Renamed by the worker")

    def test_cron(self):
        "The due cron task is run by trytond-cron"
        _wait(
            lambda: self._sql(
                "SELECT id FROM ir_cron_log WHERE cron = %s",
                (self.cron_id,)),
            60, "trytond-cron did not run the due task", self.processes)
        next_call, = self._sql(
            "SELECT next_call FROM ir_cron WHERE id = %s",
            (self.cron_id,))[0]
        self.assertGreater(next_call, dt.datetime.now() - dt.timedelta(
                minutes=1))
        # ir.queue|clean deleted the 60 days old finished task
        self.assertEqual(self._sql(
                "SELECT id FROM ir_queue WHERE id = %s",
                (self.old_task_id,)), [])

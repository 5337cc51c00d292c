"""The multi-process PostgreSQL deployment of docker-compose.yml, natively.

The same topology as ``docker-compose.yml`` runs here as plain processes on
loopback, from the same config files (``config/trytond-postgresql.conf``,
``[queue] worker = True``, and ``config/gunicorn.conf.py``) plus an override
file for the database URI only:

* a PostgreSQL database with the suite's five modules activated (the module
  set of ``tests/test_authorisation.py``, copied from its cache),
* trytond's WSGI application under ``gunicorn`` with two worker processes
  (the production web server), behind one proxy (``[web] num_proxies = 1``),
* one ``trytond-worker`` processing the ``ir.queue`` tasks,
* one ``trytond-cron`` running the due ``ir.cron`` tasks.

It checks that both gunicorn workers run and the server answers JSON-RPC
and serves sao, that a record written through it is read on new
connections (whichever worker takes them), that the portal's login page
and a portal user's pages are served (its cookies ``Secure`` behind an
HTTPS proxy), that a task queued by another process is run by the worker,
and that a due cron task is run by trytond-cron; then it stops every
process and drops the database.

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
import urllib.error
import urllib.parse
import urllib.request

from tests import support

DEFAULT_URI = 'postgresql://127.0.0.1:5432/'
MODULES = [
    'customer_status', 'customer_billing', 'customer_self_service',
    'customer_invoicing_run', 'customer_project']
WEB_WORKERS = 2
PORTAL_PASSWORD = 'Portal-Deploy-2026'


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

# Run by run_python: a registered customer with its portal user (the
# email's syntax checked, not its domain: the machine may have no DNS)
PORTAL_USER = '''
import email_validator
_validate = email_validator.validate_email
email_validator.validate_email = lambda email, **kw: _validate(
    email, **dict(kw, check_deliverability=False))
from trytond.pool import Pool
from trytond.transaction import Transaction
Pool.start()
pool = Pool(DATABASE)
pool.init()
with Transaction().start(DATABASE, 0) as transaction:
    Party = pool.get('party.party')
    WebUser = pool.get('web.user')
    Type = pool.get('customer.self_service.type')
    type_, = Type.search([('code', '=', 'standard')])
    party = Party(name="Deployed Customer", code='DEPLOY')
    party.save()
    user = WebUser(email='deploy@example.com', login='deploy',
        party=party, css_type=type_)
    user.save()
    with Transaction().set_context(css_self_password=True):
        WebUser.write([user], {'password': ARGS[0]})
    Party.write([party], {
            'css_status': 'registered', 'css_user': user.id,
            'css_type': type_.id, 'css_login': 'deploy',
            'css_email': user.email})
    transaction.commit()
'''


class DeploymentTest(unittest.TestCase):
    "gunicorn (2 workers) + trytond-worker + trytond-cron on PostgreSQL."

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

        support.run_python(
            cls.site, cls.database, PORTAL_USER, PORTAL_PASSWORD)

        # start everything at once; the web server is waited for below
        cls.web, cls.url = cls.site.start_gunicorn(
            cls.database, workers=WEB_WORKERS,
            overrides={'web': {'num_proxies': '1'}})
        cls.addClassCleanup(cls.web.stop)
        cls.worker = cls.site.start_worker(cls.database)
        cls.addClassCleanup(cls.worker.stop)
        cls.cron = cls.site.start_cron(cls.database, extra=['-n', '1'])
        cls.addClassCleanup(cls.cron.stop)
        cls.processes = [cls.web, cls.worker, cls.cron]
        support.wait_for_rpc(cls.url + '/rpc/', 120, cls.web)
        cls.setup_seconds = time.monotonic() - started

    @classmethod
    def _workers(cls):
        "Return the pids of the gunicorn workers (children of its master)"
        with open(f'/proc/{cls.web.pid}/task/{cls.web.pid}/children') as fd:
            return [int(pid) for pid in fd.read().split()]

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

    def test_web_workers_answer(self):
        "gunicorn runs its workers, answers JSON-RPC and serves sao"
        workers = _wait(
            lambda: len(self._workers()) == WEB_WORKERS and self._workers(),
            60, "gunicorn did not start its workers", self.processes)
        self.assertEqual(len(set(workers)), WEB_WORKERS)
        self.assertEqual(
            support.rpc(self.url + '/rpc/', 'common.server.version'), '8.0')
        # the database's own endpoint: the admin logs in
        self.assertTrue(self._login(self.url).startswith('Session '))
        with urllib.request.urlopen(self.url + '/', timeout=30) as page:
            self.assertEqual(page.status, 200)
            self.assertIn(b'tryton-sao', page.read())
        self.assertIsNone(self.web.poll())

    def test_shared_database(self):
        "A party written through one connection is read on new ones"
        url = self.url
        party_id, = self._call(url, 'model.party.party.create',
            [[{'name': "Created on web"}], {}], self._login(url))
        session = self._login(url)
        self._call(url, 'model.party.party.write',
            [[party_id], {'name': "Renamed on web"}, {}], session)
        # urllib opens a connection per request: both workers take some
        for _ in range(2 * WEB_WORKERS):
            party, = self._call(url, 'model.party.party.read',
                [[party_id], ['name'], {}], self._login(url))
            self.assertEqual(party['name'], "Renamed on web")

    def _portal(self, path, data=None, cookies=None, headers=None):
        "Return (status, headers, body) of the portal page, no redirect"
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        request = urllib.request.Request(
            f'{self.url}/{self.database}/customer_portal{path}',
            data=urllib.parse.urlencode(data).encode() if data else None,
            headers=dict(headers or {}))
        if cookies:
            request.add_header('Cookie', '; '.join(
                    f'{k}={v}' for k, v in cookies.items()))
        try:
            with opener.open(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    @staticmethod
    def _cookies(headers):
        return dict(c.split(';', 1)[0].split('=', 1)
            for c in headers.get_all('Set-Cookie') or [])

    def test_portal(self):
        "The portal's login and a portal user's pages through gunicorn"
        status, headers, body = self._portal('/login')
        self.assertEqual(status, 200, body)
        self.assertIn(b'name="password"', body)
        self.assertNotIn('Secure', headers.get('Set-Cookie'))
        cookies = self._cookies(headers)
        status, headers, body = self._portal('/login', data={
                'csrf': cookies['css_csrf'], 'login': 'deploy',
                'password': PORTAL_PASSWORD}, cookies=cookies)
        self.assertEqual(status, 303, body)
        cookies.update(self._cookies(headers))
        self.assertIn('css_session', cookies)
        for path, text in [('/', b'Deployed Customer'),
                ('/invoices', b'No invoice.')]:
            for _ in range(WEB_WORKERS):
                status, _, body = self._portal(path, cookies=cookies)
                self.assertEqual(status, 200, body)
                self.assertIn(text, body)

        # Behind the HTTPS proxy ([web] num_proxies = 1) the cookies are
        # Secure
        _, headers, _ = self._portal(
            '/login', headers={'X-Forwarded-Proto': 'https',
                'X-Forwarded-For': '203.0.113.7'})
        self.assertIn('Secure', headers.get('Set-Cookie'))

    def test_queue_worker(self):
        "A task queued by another process is run by trytond-worker"
        url = self.url
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
        party, = self._call(url, 'model.party.party.read',
            [[party_id], ['name'], {}], self._login(url))
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

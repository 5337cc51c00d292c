"""The customer portal under load, over real HTTP on loopback.

``scripts/bench-portal`` (``python -m bench.portal``) builds (or reuses) a
PostgreSQL database with the suite's five modules and ``--customers``
registered customers, each with its own portal user, three posted invoices
and a stock Tryton user (``res.user`` of the *Account* group) of its own;
then, for each number of gunicorn workers (``--workers``, default 1 and 4)
it starts trytond's WSGI application under gunicorn
(``config/gunicorn.conf.py``) and, for each number of concurrent customers
(``--clients``, default 20 and 100), drives them with httpx's async client
(``httpx``, pinned): every customer logs in to the portal, opens the
dashboard, the invoice list, downloads one invoice PDF and opens the
pending bills; then does the comparable job with stock Tryton: its JSON-RPC
login (``common.db.login``, the password hash of ``res.user``) and a read of
the same invoices (``model.account.invoice.search_read``).

Each customer repeats its sequence ``max(1, --requests // clients)`` times
and stops at ``--time-limit`` seconds per run: the run is bounded in count
and time.  One password hash is timed in a child process; the login rate is
reported as a fraction of its limit (cores / hash time).

The PDF of the downloaded invoice of every customer is converted once when
the database is built, by one LibreOffice process for all of them, and
stored as the portal stores it (``css_pdf_cache`` keyed on the digest of
the invoice report): the bench measures the downloads of stored PDFs, which
is what the portal serves after the first download.

The results are printed as a table and written to
``bench/results/portal-latest.json``; the filestore of the database (its
stored reports and PDFs) and the list of its customers are kept in
``var/bench/<database>/`` for ``--reuse``.
"""
import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests import support  # noqa: E402

MODULES = [
    'customer_status', 'customer_billing', 'customer_self_service',
    'customer_invoicing_run', 'customer_project']
# The password of the portal users of create_customer_invoices (the tests'
# helper), given to the stock users too
PASSWORD = 'Portal-Secret-42'
PAGES = ['login', 'dashboard', 'invoices', 'pdf', 'pending']
STOCK = ['stock login', 'stock invoices']
RESULTS = os.path.join(ROOT, 'bench', 'results')

# Run in a child configured for the site: create the customers
POPULATE = '''
import json
from bench.portal import populate
with open(ARGS[1], 'w') as fd:
    json.dump(populate(DATABASE, int(ARGS[0])), fd)
'''

HASH = '''
import json, time
from trytond.pool import Pool
from trytond.transaction import Transaction
Pool.start()
pool = Pool(DATABASE)
pool.init()
with Transaction().start(DATABASE, 0, readonly=True):
    WebUser = pool.get('web.user')
    hash_ = WebUser.hash_password(ARGS[0])
    times = []
    for _ in range(5):
        start = time.perf_counter()
        WebUser.check_password(ARGS[0], hash_)
        times.append(time.perf_counter() - start)
with open(ARGS[1], 'w') as fd:
    json.dump({'scheme': hash_.split('$')[1], 'seconds': min(times)}, fd)
'''


def _offline_email():
    "Check the syntax of the emails, not their domain (no DNS here)"
    import email_validator
    validate = email_validator.validate_email
    email_validator.validate_email = lambda email, **kw: validate(
        email, **dict(kw, check_deliverability=False))


def populate(database, customers):
    """Create the company, its ledger and the customers; return the
    customers as [{code, login, party, invoice}]"""
    _offline_email()
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(database)
    pool.init()
    from trytond.transaction import TransactionError
    extras = {}
    while True:
        # PostgreSQL: the singletons' table locks are asked for first
        with Transaction().start(database, 0, **extras) as transaction:
            try:
                rows = _customers(pool, customers)
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                continue
            transaction.commit()
            break
    with Transaction().start(database, 0) as transaction:
        _store_pdfs(pool, [r['invoice'] for r in rows])
        transaction.commit()
    return rows


def _customers(pool, customers):
    from decimal import Decimal

    from trytond.modules.company.tests import create_company, set_company
    from trytond.modules.customer_self_service.tests.test_routes import (
        create_customer_invoices, create_ledger)
    User = pool.get('res.user')
    Group = pool.get('res.group')
    ModelData = pool.get('ir.model.data')
    group = Group(ModelData.get_id('account', 'group_account'))
    company = create_company()
    rows = []
    with set_company(company):
        create_ledger(company)
        for i in range(customers):
            code = f'C{i:04d}'
            party, user, invoices = create_customer_invoices(
                company, f"Customer {i}", code,
                [(0, Decimal(100 + i)), (0, Decimal(50)), (0, Decimal(10))])
            User.create([{
                        'login': f'stock{i:04d}', 'name': f"Stock {i}",
                        'password': PASSWORD,
                        'companies': [('add', [company.id])],
                        'company': company.id,
                        'groups': [('add', [group.id])]}])
            rows.append({'code': code, 'login': code.lower(),
                    'stock': f'stock{i:04d}', 'party': party.id,
                    'invoice': invoices[0].id})
    return rows


def _store_pdfs(pool, ids):
    """Convert the invoice reports of ids to PDF with one LibreOffice
    process and store them as the portal's download does"""
    import hashlib
    import subprocess
    import tempfile
    Invoice = pool.get('account.invoice')
    InvoiceReport = pool.get('account.invoice', type='report')
    with tempfile.TemporaryDirectory() as directory:
        digests = {}
        for id_ in ids:
            format_, content, _, _ = InvoiceReport.execute([id_], {})
            content = bytes(content)
            digests[id_] = hashlib.sha256(content).hexdigest()
            with open(os.path.join(directory, f'{id_}.{format_}'),
                    'wb') as fd:
                fd.write(content)
        subprocess.run(['soffice', '--headless', '--convert-to', 'pdf',
                '--outdir', directory]
            + [os.path.join(directory, n) for n in sorted(os.listdir(
                        directory))],
            check=True, capture_output=True, timeout=1800,
            env=dict(os.environ, HOME=directory))
        for id_ in ids:
            with open(os.path.join(directory, f'{id_}.pdf'), 'rb') as fd:
                Invoice.write([Invoice(id_)], {
                        'css_pdf_cache': fd.read(),
                        'css_pdf_cache_key': digests[id_]})


class Stats:
    def __init__(self):
        self.times = {}
        self.errors = {}

    def add(self, page, seconds, ok):
        self.times.setdefault(page, []).append(seconds)
        if not ok:
            self.errors[page] = self.errors.get(page, 0) + 1


async def _timed(stats, page, coroutine, expect=200):
    start = time.perf_counter()
    try:
        response = await coroutine
        ok = response.status_code == expect
    except Exception:
        response, ok = None, False
    stats.add(page, time.perf_counter() - start, ok)
    return response if ok else None


async def _customer(client, base, database, row, rounds, deadline, stats):
    "Drive one customer's sequence rounds times (until the deadline)"
    import httpx
    portal = f'{base}/{database}/customer_portal'
    for _ in range(rounds):
        if time.monotonic() > deadline:
            return
        client.cookies.clear()
        page = await _timed(stats, 'login', _login(client, portal, row),
            expect=303)
        if page is not None:
            await _timed(stats, 'dashboard', client.get(portal + '/'))
            await _timed(stats, 'invoices', client.get(portal + '/invoices'))
            await _timed(stats, 'pdf', client.get(
                    f'{portal}/invoices/{row["invoice"]}/download'))
            await _timed(stats, 'pending', client.get(portal + '/pending'))
        # Stock Tryton: its login and a read of the same invoices
        rpc = f'{base}/{database}/rpc/'
        answer = await _timed(stats, 'stock login', client.post(rpc, json={
                    'id': 1, 'method': 'common.db.login',
                    'params': [row['stock'], {'password': PASSWORD}, 'en']}))
        if answer is None or 'result' not in answer.json():
            continue
        user_id, token = answer.json()['result'][:2]
        session = base64.b64encode(
            f'{row["stock"]}:{user_id}:{token}'.encode()).decode()
        await _timed(stats, 'stock invoices', client.post(rpc, json={
                    'id': 2, 'method': 'model.account.invoice.search_read',
                    'params': [[('party', '=', row['party']),
                            ('state', 'in', ['posted', 'paid'])], 0, 200,
                        [('invoice_date', 'DESC'), ('id', 'DESC')],
                        ['number', 'invoice_date', 'total_amount',
                            'amount_to_pay', 'customer_account.code'], {}]},
                headers={'Authorization': 'Session ' + session}))


async def _login(client, portal, row):
    page = await client.get(portal + '/login')
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    return await client.post(portal + '/login', data={
            'csrf': match.group(1) if match else '',
            'login': row['login'], 'password': PASSWORD})


async def drive(base, database, rows, clients, rounds, time_limit):
    import httpx
    stats = Stats()
    deadline = time.monotonic() + time_limit
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    timeout = httpx.Timeout(120)
    start = time.perf_counter()
    clients_ = [httpx.AsyncClient(limits=limits, timeout=timeout)
        for _ in range(clients)]
    try:
        await asyncio.gather(*(
                _customer(c, base, database, row, rounds, deadline, stats)
                for c, row in zip(clients_, rows)))
    finally:
        for client in clients_:
            await client.aclose()
    stats.elapsed = time.perf_counter() - start
    return stats


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def summary(stats):
    pages = {}
    for page in PAGES + STOCK:
        times = stats.times.get(page, [])
        if not times:
            continue
        pages[page] = {
            'count': len(times), 'errors': stats.errors.get(page, 0),
            'p50_ms': 1000 * statistics.median(times),
            'p95_ms': 1000 * _percentile(times, 0.95),
            'p99_ms': 1000 * _percentile(times, 0.99),
            }
    total = sum(p['count'] for p in pages.values())
    return {'elapsed': stats.elapsed, 'requests': total,
        'requests_per_s': total / stats.elapsed, 'pages': pages}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--database', default='bench_portal')
    parser.add_argument('--customers', type=int, default=100)
    parser.add_argument('--workers', default='1,4')
    parser.add_argument('--clients', default='20,100')
    parser.add_argument('--requests', type=int, default=60,
        help="sequences per run, shared by its customers (at least one "
        "each)")
    parser.add_argument('--time-limit', type=float, default=90)
    parser.add_argument('--reuse', action='store_true')
    parser.add_argument('--uri', default=os.environ.get(
            'TEST_POSTGRESQL_URI', 'postgresql://127.0.0.1:5432/'))
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(',')]
    if max(clients) > args.customers:
        parser.error("more clients than customers")
    # The filestore (the stored reports and PDFs) lives as long as the
    # database, not in the site's temporary directory
    filestore = os.path.join(ROOT, 'var', 'bench', args.database)
    os.makedirs(filestore, exist_ok=True)
    site = support.Site(uri=args.uri, base_config=support.CONFIG_POSTGRESQL,
        overrides={'session': {'max_attempt_ip_network': '100000'},
            'database': {'path': filestore}})
    state = os.path.join(filestore, 'customers.json')
    load = {'start': os.getloadavg()}
    built = None
    if not (args.reuse and site.exists(args.database)
            and os.path.exists(state)):
        started = time.monotonic()
        site.drop(args.database)
        site.build_cached(args.database, MODULES, cache='bench')
        support.run_python(site, args.database, POPULATE,
            str(args.customers), state, timeout=3600)
        built = time.monotonic() - started
        print(f"built {args.database} in {built:.0f} s", flush=True)
    with open(state) as fd:
        rows = json.load(fd)
    hash_file = os.path.join(site.directory, 'hash.json')
    support.run_python(site, args.database, HASH, PASSWORD, hash_file)
    with open(hash_file) as fd:
        hash_ = json.load(fd)
    cores = os.cpu_count()
    results = []
    for workers in [int(w) for w in args.workers.split(',')]:
        process, base = site.start_gunicorn(
            args.database, workers=workers, name=f'gunicorn-{workers}')
        try:
            support.wait_for_rpc(base + '/rpc/', 300, process)
            # every worker loaded its pool before it accepts (see
            # TRYTOND_DATABASE_NAMES); one sequence warms the caches
            asyncio.run(drive(base, args.database, rows, 1, 1, 60))
            for count in clients:
                rounds = max(1, args.requests // count)
                stats = asyncio.run(drive(
                        base, args.database, rows[:count], count, rounds,
                        args.time_limit))
                result = summary(stats)
                logins = result['pages'].get('login', {}).get('count', 0)
                result.update(workers=workers, clients=count,
                    rounds=rounds, load=os.getloadavg(),
                    login_rate=logins / stats.elapsed)
                results.append(result)
                print(format_result(result, hash_, cores), flush=True)
        finally:
            process.stop()
    load['end'] = os.getloadavg()
    report = {'date': time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()),
        'cores': cores, 'load': load, 'hash': hash_, 'built_seconds': built,
        'customers': args.customers, 'results': results}
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, 'portal-latest.json'), 'w') as fd:
        json.dump(report, fd, indent=1)
    print(markdown(report))
    # the logs of the processes stay after a failure
    site.cleanup()


def format_result(result, hash_, cores):
    limit = cores / hash_['seconds']
    pages = ', '.join(f"{p} {v['p95_ms']:.0f}" for p, v in
        result['pages'].items())
    return (f"{result['workers']} workers, {result['clients']} clients: "
        f"{result['requests_per_s']:.1f} req/s, p95 ms: {pages}; "
        f"logins {result['login_rate']:.1f}/s = "
        f"{result['login_rate'] / limit:.0%} of {limit:.0f}/s")


def markdown(report):
    "Return the tables of the report in Markdown"
    limit = report['cores'] / report['hash']['seconds']
    lines = [
        f"Run {report['date']}, {report['cores']} cores, load average "
        f"{'/'.join(f'{v:.1f}' for v in report['load']['start'])} at the "
        f"start and {'/'.join(f'{v:.1f}' for v in report['load']['end'])} "
        f"at the end; one password hash ({report['hash']['scheme']}) "
        f"{1000 * report['hash']['seconds']:.0f} ms, so at most "
        f"{limit:.0f} logins/s.", '',
        '| workers | clients | req/s | page | count | errors | p50 ms '
        '| p95 ms | p99 ms |',
        '|---|---|---|---|---|---|---|---|---|']
    for result in report['results']:
        first = True
        for page, values in result['pages'].items():
            head = (f"| {result['workers']} | {result['clients']} | "
                f"{result['requests_per_s']:.1f} |" if first else '| | | |')
            first = False
            lines.append(f"{head} {page} | {values['count']} | "
                f"{values['errors']} | {values['p50_ms']:.0f} | "
                f"{values['p95_ms']:.0f} | {values['p99_ms']:.0f} |")
    lines += ['', '| workers | clients | portal logins/s | of the limit '
        '| dashboard p95 ms | target 300 ms |', '|---|---|---|---|---|---|']
    for result in report['results']:
        p95 = result['pages'].get('dashboard', {}).get('p95_ms', 0)
        lines.append(f"| {result['workers']} | {result['clients']} | "
            f"{result['login_rate']:.1f} | "
            f"{result['login_rate'] / limit:.0%} | {p95:.0f} | "
            f"{'met' if p95 <= 300 else 'missed'} |")
    return '\n'.join(lines)


if __name__ == '__main__':
    main()

"""Customer portal under concurrent HTTP load (customer_self_service).

``customer_self_service.portal_load`` serves trytond's WSGI application on a
free loopback port (a threaded werkzeug server inside the benchmark process)
and drives it from a separate load generator process (a thread pool of
``CONNECTIONS`` clients, ``SECONDS`` seconds per variant; both can be set
with ``BENCH_PORTAL_CONNECTIONS`` and ``BENCH_PORTAL_SECONDS``):

* ``portal login + dashboard``: GET the login page (CSRF token), POST the
  login (web_user's rate limited authentication and a new web session) and
  GET the dashboard (balance, overdue and available credit in SQL);
* ``portal login``: the first two requests only;
* ``[stock]`` trytond's stock login endpoint: JSON-RPC ``common.db.login``
  of a ``res.user`` (web_user itself has no HTTP endpoint).

Each variant reports throughput (iterations per second) and the 95th
percentile latency of an iteration in its name and in the result JSON
(``rps``, ``p95_ms``, ``errors``); its ``time (s)`` is the time per
iteration at saturation (``1 / rps``) so that ``x stock`` is the throughput
ratio, and ``queries`` the SQL statements per iteration.

Both logins verify the password with Tryton's ``PASSWORD_HASH`` (argon2id
when available: about 0.8 s per verification on a loaded 2-core machine), so
login throughput is bound by hashing for the portal and the stock endpoint
alike; the dashboard adds its SQL aggregate and page rendering.

The portal users (one per connection, on generated customers) are created
before and deleted after the measure; the stock users (``bench-stock-N``,
which Tryton forbids to delete) are created or reactivated before and
deactivated after it.
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

from bench.harness import workload

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
PASSWORD = 'Bench-Portal-Secret-1'
STOCK_PREFIX = 'bench-stock-'
CONNECTIONS = int(os.environ.get('BENCH_PORTAL_CONNECTIONS', 20))
SECONDS = float(os.environ.get('BENCH_PORTAL_SECONDS', 20))


def _setup_users(ctx, count):
    "Create count portal users on customers and count res.user; return ids"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = ctx.pool
    Party = pool.get('party.party')
    WebUser = pool.get('web.user')
    User = pool.get('res.user')
    Type = pool.get('customer.self_service.type')
    Company = pool.get('company.company')
    with ctx.transaction(commit=True):
        # Leftovers of an interrupted run
        with Transaction().set_context(active_test=False):
            old = WebUser.search([('login', 'like', 'bench-portal-%')])
        Party.write([u.party for u in old if u.party] or [],
            {'css_status': 'not_requested'})
        WebUser.delete(old)
        companies = {c.party.id for c in Company.search([])}
        parties = [p for p in Party.search([
                    ('css_status', '=', 'not_requested'),
                    ], order=[('id', 'ASC')], limit=count + len(companies))
            if p.id not in companies][:count]
        if len(parties) < count:
            ctx.skip(f"needs {count} customers")
        type_, = Type.search([('code', '=', 'standard')], limit=1)
        # No DNS check of the emails: the benchmark machine has no resolver
        previous, Pool.test = Pool.test, True
        try:
            with Transaction().set_context(css_self_password=True):
                users = WebUser.create([{
                            'email': f'bench-portal-{i}@example.com',
                            'login': f'bench-portal-{i}',
                            'party': p.id, 'css_type': type_.id,
                            'password': PASSWORD,
                            } for i, p in enumerate(parties)])
        finally:
            Pool.test = previous
        Party.write(parties, {'css_status': 'registered'})
        # res.user can not be deleted: reuse those of a previous run
        logins = [f'{STOCK_PREFIX}{i}' for i in range(count)]
        with Transaction().set_context(active_test=False):
            stock = User.search([('login', 'in', logins)])
        missing = set(logins) - {u.login for u in stock}
        stock += User.create([{'login': l, 'name': l} for l in missing])
        User.write(stock, {'active': True, 'password': PASSWORD})
        return ([p.id for p in parties], [u.id for u in users],
            [u.id for u in stock])


def _cleanup(ctx, party_ids, user_ids, stock_ids):
    pool = ctx.pool
    Party = pool.get('party.party')
    WebUser = pool.get('web.user')
    User = pool.get('res.user')
    with ctx.transaction(commit=True):
        WebUser.delete(WebUser.browse(user_ids))
        Party.write(Party.browse(party_ids), {'css_status': 'not_requested'})
        User.write(User.browse(stock_ids), {'active': False})


def _serve(ctx):
    "Start trytond's WSGI app on a free loopback port; return (server, url)"
    from werkzeug.serving import WSGIRequestHandler, make_server

    import trytond.modules.customer_self_service.routes  # noqa: F401
    from trytond.wsgi import app

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass
    server = make_server('127.0.0.1', 0, app, threaded=True,
        request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f'http://127.0.0.1:{server.server_port}'


def _load(ctx, url, kind, logins):
    "Run the load generator process; return its statistics"
    args = [sys.executable, '-m', 'bench.workloads.customer_self_service',
        url, ctx.database, kind, str(SECONDS), json.dumps(logins)]
    output = subprocess.run(args, cwd=ROOT, check=True,
        capture_output=True, text=True, timeout=SECONDS + 120).stdout
    return json.loads(output.strip().splitlines()[-1])


@workload('customer_self_service.portal_load',
    modules=['customer_self_service'],
    description=f"portal login + dashboard, {CONNECTIONS} concurrent "
    f"clients for {SECONDS:.0f} s on loopback, vs stock JSON-RPC login")
def portal_load(ctx):
    party_ids, user_ids, stock_ids = _setup_users(ctx, CONNECTIONS)
    server, url = _serve(ctx)
    try:
        for name, kind, ids, baseline in [
                ('portal login + dashboard', 'portal', user_ids, None),
                ('portal login', 'portal-login', user_ids, None),
                ('JSON-RPC common.db.login', 'stock', stock_ids, 'stock'),
                ]:
            prefix = STOCK_PREFIX if kind == 'stock' else 'bench-portal-'
            logins = [f'{prefix}{i}' for i in range(len(ids))]
            stats = ctx.measure(name,
                lambda: _load(ctx, url, kind, logins), baseline, repeat=1)
            variant = ctx.variants[-1]
            iterations = max(stats['iterations'], 1)
            variant.update({
                    'variant': (f"{name}: {stats['rps']:.1f}/s, "
                        f"p95 {stats['p95_ms']:.0f} ms"),
                    'seconds': (1 / stats['rps'] if stats['rps']
                        else SECONDS),
                    'queries': round(variant['queries'] / iterations),
                    'rps': stats['rps'], 'p95_ms': stats['p95_ms'],
                    'iterations': stats['iterations'],
                    'errors': stats['errors'],
                    'first_error': stats['first_error'],
                    'connections': CONNECTIONS, 'duration': SECONDS,
                    })
            print(f"   {variant['variant']} ({stats['errors']} errors"
                f"{': ' + stats['first_error'] if stats['errors'] else ''})",
                file=sys.stderr, flush=True)
    finally:
        server.shutdown()
        _cleanup(ctx, party_ids, user_ids, stock_ids)


# The load generator (a separate process: no GIL shared with the server)


def _portal_iteration(http, base, login, dashboard=True):
    import urllib.parse
    status, body, cookies = http('GET', f'{base}/login')
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)
    form = urllib.parse.urlencode({
            'csrf': token, 'login': login, 'password': PASSWORD})
    status, body, cookies = http('POST', f'{base}/login', form, cookies,
        'application/x-www-form-urlencoded')
    if status != 303:
        raise RuntimeError(f'login {status}')
    if dashboard:
        status, body, _ = http('GET', f'{base}/', cookies=cookies)
        if status != 200 or 'class="num balance"' not in body:
            raise RuntimeError(f'dashboard {status}')


def _stock_iteration(http, url, login):
    body = json.dumps({'id': 1, 'method': 'common.db.login',
            'params': [login, {'password': PASSWORD}]})
    status, body, _ = http('POST', url, body, None, 'application/json')
    if status != 200 or not isinstance(
            json.loads(body).get('result'), list):
        raise RuntimeError(f'stock login {status} {body[:80]}')


def _http_client(netloc):
    import http.client

    def request(method, url, body=None, cookies=None, content_type=None):
        connection = http.client.HTTPConnection(netloc, timeout=60)
        headers = {}
        if cookies:
            headers['Cookie'] = '; '.join(
                f'{k}={v}' for k, v in cookies.items())
        if content_type:
            headers['Content-Type'] = content_type
        connection.request(method, url, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read().decode('utf-8', 'replace')
        jar = dict(cookies or {})
        for header in response.headers.get_all('Set-Cookie') or []:
            name, _, value = header.split(';', 1)[0].partition('=')
            jar[name.strip()] = value.strip()
        connection.close()
        return response.status, data, jar
    return request


def load_main(url, database, kind, seconds, logins):
    "Run len(logins) clients for seconds; print the statistics as JSON"
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit
    http = _http_client(urlsplit(url).netloc)
    base = f'/{database}/customer_portal'
    end = time.monotonic() + seconds
    latencies, errors = [], []

    def client(login):
        while time.monotonic() < end:
            start = time.perf_counter()
            try:
                if kind == 'stock':
                    _stock_iteration(http, f'/{database}/rpc/', login)
                else:
                    _portal_iteration(http, base, login,
                        dashboard=(kind == 'portal'))
            except Exception as exception:
                errors.append(str(exception))
                continue
            latencies.append(time.perf_counter() - start)
    started = time.monotonic()
    with ThreadPoolExecutor(len(logins)) as executor:
        list(executor.map(client, logins))
    elapsed = time.monotonic() - started
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0
    print(json.dumps({
                'iterations': len(latencies),
                'rps': len(latencies) / elapsed,
                'p95_ms': p95 * 1000,
                'errors': len(errors),
                'first_error': errors[0] if errors else None,
                }))


if __name__ == '__main__':
    load_main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]),
        json.loads(sys.argv[5]))

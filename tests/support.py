"""Shared helpers for the cross-module tests: databases and real processes.

Everything here runs the suite's real executables from ``.venv/bin``
(``trytond-admin``, ``trytond``, ``trytond-worker``, ``trytond-cron``) as
child processes, never trytond in-process, so a test's own trytond
configuration is left alone.

Configuration: the processes read the repository's config files
(``config/trytond.conf`` on SQLite, ``config/trytond-postgresql.conf`` on
PostgreSQL) followed by a small generated override file.  An override file
is needed because trytond applies ``TRYTOND_SECTION__OPTION`` environment
variables *before* the ``-c`` files, so a value set in a file always wins
over the environment.

API:

``database_uri()`` / ``is_postgresql(uri)``
    The database URI of this run: ``TRYTOND_DATABASE_URI`` (as set by
    ``scripts/run_tests.py`` for the PostgreSQL pass) or ``sqlite://``.
``postgresql_unavailable(uri)``
    ``None`` when a connection can be opened, otherwise the reason.
``Site(uri, directory)``
    A place for databases: writes the override config file, creates,
    copies and drops databases (SQLite files under ``directory`` or
    PostgreSQL databases) and activates modules with ``trytond-admin``.
``Process.start(name, argv, env, log)`` / ``process.stop()``
    A child process in its own process group, stopped with SIGTERM then
    SIGKILL; every process still running at interpreter exit is killed.
``wait_for_rpc(url, timeout)``
    Poll ``common.server.version`` on a JSON-RPC endpoint until it answers.
``rpc(url, method, params)``
    One JSON-RPC call (``/rpc/`` or ``/<db>/rpc/``), returns the result.
"""
import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import activate  # noqa: E402
import pg_tool  # noqa: E402
BIN = os.path.join(ROOT, '.venv', 'bin')
PYTHON = os.path.join(BIN, 'python')
SAO_ROOT = os.path.join(ROOT, '.cache', 'sao')
CONFIG_SQLITE = os.path.join(ROOT, 'config', 'trytond.conf')
CONFIG_POSTGRESQL = os.path.join(ROOT, 'config', 'trytond-postgresql.conf')
LOGGING_CONFIG = os.path.join(ROOT, 'config', 'logging.conf')
GUNICORN_CONFIG = os.path.join(ROOT, 'config', 'gunicorn.conf.py')
ARTIFACTS = os.path.join(ROOT, 'artifacts')
ADMIN_LOGIN = 'admin'
ADMIN_PASSWORD = 'admin-Secret-42'
ADMIN_EMAIL = 'admin@example.com'


def database_uri():
    return os.environ.get('TRYTOND_DATABASE_URI') or 'sqlite://'


def is_postgresql(uri=None):
    return urlsplit(uri or database_uri()).scheme.startswith('postgresql')


def _pg_conninfo(uri, dbname):
    return pg_tool.conninfo(uri, dbname)


def postgresql_unavailable(uri=None):
    "Return None when PostgreSQL answers at uri, else a reason."
    return pg_tool.unavailable(uri or database_uri())


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def modules_key(modules):
    return hashlib.sha1(
        ','.join(sorted(set(modules))).encode()).hexdigest()[:10]


def suite_modules(modules):
    """The suite's modules (under addons/) among modules and their
    depends/extras_depend, recursively."""
    import configparser
    addons = os.path.join(ROOT, 'addons')
    found, todo = set(), list(modules)
    while todo:
        name = todo.pop()
        cfg = os.path.join(addons, name, 'tryton.cfg')
        if name in found or not os.path.isfile(cfg):
            continue
        found.add(name)
        parser = configparser.ConfigParser()
        parser.read(cfg)
        for option in ('depends', 'extras_depend'):
            todo.extend(parser.get('tryton', option, fallback='').split())
    return sorted(found)


def source_key(modules):
    """Hash of the module set and of the sources of the suite's modules it
    involves (path, size, mtime under addons/<module>): a cached database
    is rebuilt after one of them changes."""
    digest = hashlib.sha1(','.join(sorted(set(modules))).encode())
    for module in suite_modules(modules):
        digest.update(_tree_signature(os.path.join(ROOT, 'addons', module)))
    return digest.hexdigest()[:12]


def _tree_signature(top):
    digest = hashlib.sha1()
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in {'__pycache__', 'tests'}
            and not d.endswith('.egg-info'))
        for filename in sorted(filenames):
            if filename.endswith(('.py', '.xml', '.cfg', '.po', '.fodt',
                        '.odt', '.html', '.txt')):
                stat = os.stat(os.path.join(dirpath, filename))
                digest.update(
                    f'{dirpath}/{filename}:{stat.st_size}:'
                    f'{stat.st_mtime_ns}\n'.encode())
    return digest.digest()


def cache_prefix():
    """Prefix of the PostgreSQL template databases build_cached keeps:
    TEST_DB_PREFIX (set by scripts/test for one run, which drops them at
    its end) followed by _cache, or suite_cache."""
    run = os.environ.get('TEST_DB_PREFIX')
    return f'{run}_cache' if run else 'suite_cache'


def rpc(url, method, params=(), timeout=30, session=None):
    "Call one JSON-RPC method at url and return its result."
    data = json.dumps({'id': 1, 'method': method, 'params': list(params)})
    request = urllib.request.Request(
        url, data=data.encode(), method='POST',
        headers={'Content-Type': 'application/json'})
    if session:
        request.add_header('Authorization', session)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    if answer.get('error'):
        raise RuntimeError(f"{method} at {url}: {answer['error']}")
    return answer['result']


def login(base_url, database, login=ADMIN_LOGIN, password=ADMIN_PASSWORD):
    """Log in with JSON-RPC and return the Authorization header value."""
    import base64
    user_id, token = rpc(
        f'{base_url}/{database}/rpc/', 'common.db.login',
        [login, {'password': password}, 'en'])[:2]
    credentials = f'{login}:{user_id}:{token}'
    return 'Session ' + base64.b64encode(credentials.encode()).decode()


def wait_for_rpc(url, timeout=60, process=None):
    "Poll common.server.version at url until it answers; return it."
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{process.name} exited with {process.returncode}:\n"
                + process.log_tail())
        try:
            return rpc(url, 'common.server.version', timeout=5)
        except (OSError, urllib.error.URLError, ValueError) as exception:
            last = exception
        time.sleep(0.1)
    tail = process.log_tail() if process is not None else ''
    raise TimeoutError(f"{url} did not answer in {timeout}s ({last})\n{tail}")


_RUNNING = set()


class Process:
    "A child process in its own process group with its output in a log."

    def __init__(self, name, popen, log):
        self.name = name
        self.popen = popen
        self.log = log

    @classmethod
    def start(cls, name, argv, env=None, log=None, cwd=ROOT):
        if log is None:
            fd, log = tempfile.mkstemp(prefix=f'{name}-', suffix='.log')
            os.close(fd)
        with open(log, 'ab') as output:
            popen = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)
        process = cls(name, popen, log)
        _RUNNING.add(process)
        return process

    @property
    def pid(self):
        return self.popen.pid

    @property
    def returncode(self):
        return self.popen.returncode

    def poll(self):
        return self.popen.poll()

    def log_tail(self, size=4000):
        try:
            with open(self.log, 'rb') as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - size))
                return log.read().decode(errors='replace')
        except OSError:
            return ''

    def _signal(self, signum):
        try:
            os.killpg(self.popen.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout=10):
        "SIGTERM the process group, SIGKILL it after timeout seconds."
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait(timeout)
        # children left in the group (e.g. worker pools)
        self._signal(signal.SIGKILL)
        _RUNNING.discard(self)
        return self.popen.returncode


@atexit.register
def _kill_leftovers():
    for process in list(_RUNNING):
        process.stop(timeout=5)


def run(argv, env=None, timeout=900, what=None, input=b''):
    "Run argv to completion; raise with its output when it fails."
    result = subprocess.run(
        argv, env=env, cwd=ROOT, input=input,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode:
        output = result.stdout.decode(errors='replace')[-6000:]
        raise RuntimeError(
            f"{what or argv[0]} failed ({result.returncode}):\n{output}")
    return result


@contextlib.contextmanager
def _cache_lock(what):
    "An exclusive lock between processes (TEST_LOCK_DIR or the temp dir)."
    directory = os.environ.get('TEST_LOCK_DIR') or tempfile.gettempdir()
    path = os.path.join(directory, 'support-cache-%s.lock'
        % hashlib.sha1(what.encode()).hexdigest()[:16])
    with open(path, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _tryton_cache_name(modules):
    """Tryton's DB_CACHE entry of a module set, as the test runner's
    children name it (``share_activations``: the sorted set joined by '-',
    hashed by ``test_tryton._db_cache_file``; PostgreSQL templates carry the
    run's prefix, see ``patch_template_names``): a file on SQLite, a
    template database name on PostgreSQL."""
    cache = os.environ.get('DB_CACHE', '')
    digest = hashlib.shake_128(
        '-'.join(sorted(set(modules))).encode()).hexdigest(20)
    if cache.startswith('postgresql://'):
        return f"{os.environ.get('TEST_DB_PREFIX') or 'test'}-{digest}"
    return os.path.join(cache, f'{digest}-sqlite.dump')


@contextlib.contextmanager
def _tryton_cache_lock(backend, modules):
    "The lock the runner's children take per DB_CACHE entry (lock_db_cache)."
    name = '-'.join(sorted(set(modules)))
    key = hashlib.sha1(f'{backend}:{name}'.encode()).hexdigest()
    with open(os.path.join(os.environ['TEST_LOCK_DIR'], key + '.lock'),
            'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


class Site:
    """Databases of one URI and the config files the processes read.

    ``directory`` holds the override config, the password file, the
    SQLite databases and the process logs.  ``config_files`` is the list
    given to every process with ``-c``.
    """

    def __init__(self, uri=None, directory=None, overrides=None,
            base_config=None):
        self.uri = uri or database_uri()
        self.postgresql = is_postgresql(self.uri)
        self.directory = directory or tempfile.mkdtemp(prefix='trytond-site-')
        os.makedirs(self.directory, exist_ok=True)
        self.db_path = os.path.join(self.directory, 'db')
        os.makedirs(self.db_path, exist_ok=True)
        self.passfile = os.path.join(self.directory, 'admin-password')
        with open(self.passfile, 'w') as fd:
            fd.write(ADMIN_PASSWORD + '\n')
        self.base_config = base_config or (
            CONFIG_POSTGRESQL if self.postgresql else CONFIG_SQLITE)
        self.overrides = {
            'database': {'uri': self.uri, 'path': self.db_path},
            'web': {'root': SAO_ROOT},
            }
        for section, values in (overrides or {}).items():
            self.overrides.setdefault(section, {}).update(values)
        self.config_files = [
            self.base_config, self.write_config('override.conf', {})]

    def write_config(self, name, extra):
        "Write the override file (plus extra sections); return its path."
        sections = {s: dict(v) for s, v in self.overrides.items()}
        for section, values in extra.items():
            sections.setdefault(section, {}).update(values)
        path = os.path.join(self.directory, name)
        with open(path, 'w') as fd:
            for section, values in sections.items():
                fd.write(f'[{section}]\n')
                for key, value in values.items():
                    fd.write(f'{key} = {value}\n')
                fd.write('\n')
        return path

    def env(self, **extra):
        env = dict(os.environ)
        # let the config files decide, not the test runner's environment
        for key in list(env):
            if key.startswith('TRYTOND_') and '__' in key:
                del env[key]
        env.pop('TRYTOND_CONFIG', None)
        env['TRYTONPASSFILE'] = self.passfile
        env['PYTHONPATH'] = os.pathsep.join(
            filter(None, [ROOT, os.environ.get('PYTHONPATH')]))
        env.update(extra)
        return env

    def log(self, name):
        return os.path.join(self.directory, name + '.log')

    # databases

    def sqlite_file(self, name):
        return os.path.join(self.db_path, name + '.sqlite')

    def exists(self, name):
        if self.postgresql:
            return pg_tool.exists(self.uri, name)
        return os.path.exists(self.sqlite_file(name))

    def create_empty(self, name):
        if self.postgresql:
            pg_tool.create(self.uri, name)
        else:
            open(self.sqlite_file(name), 'w').close()

    def copy(self, source, target):
        "Copy database source to target (which must not exist)."
        if self.postgresql:
            pg_tool.copy(self.uri, source, target)
        else:
            shutil.copyfile(self.sqlite_file(source), self.sqlite_file(target))

    def import_sqlite(self, path, name):
        shutil.copyfile(path, self.sqlite_file(name))

    def drop(self, name):
        if self.postgresql:
            pg_tool.drop(self.uri, name)
        else:
            try:
                os.remove(self.sqlite_file(name))
            except FileNotFoundError:
                pass

    def admin(self, name, *args, timeout=900):
        "Run trytond-admin on database name with args; return its output."
        return activate.admin(self.config_files, name, *args,
            env=self.env(), timeout=timeout)

    def build(self, name, modules):
        """Create database name with modules activated and the admin user
        (the module configuration wizard marked done)."""
        for attempt in range(2):
            self.create_empty(name)
            try:
                activate.activate(
                    self.config_files, name, modules, env=self.env())
                self.finish_config_wizard(name)
                return
            except RuntimeError as exception:
                self.drop(name)
                # a shared PostgreSQL under load (lock table full,
                # deadlock with another run's DDL): try once more
                if attempt or not any(m in str(exception) for m in (
                            'out of shared memory', 'deadlock detected')):
                    raise
            except BaseException:
                self.drop(name)
                raise

    def from_tryton_cache(self, name, modules):
        """In a child of scripts/run_tests.py: create database name from
        Tryton's DB_CACHE entry of modules (the one the module tests and
        scenarios of the same set use; activated first, by a child process
        under the runner's lock, when missing), then set the admin password
        and mark the configuration wizard done.  False outside the runner
        or when the run's database server is not this site's."""
        cache = os.environ.get('DB_CACHE')
        if not cache or not os.environ.get('TEST_LOCK_DIR'):
            return False
        if self.postgresql != cache.startswith('postgresql://') or (
                self.postgresql and urlsplit(self.uri).netloc != urlsplit(
                    os.environ.get('TRYTOND_DATABASE_URI', '')).netloc):
            return False
        backend = 'postgresql' if self.postgresql else 'sqlite'
        entry = _tryton_cache_name(modules)
        for attempt in range(2):
            with _tryton_cache_lock(backend, modules):
                if self.postgresql:
                    found = pg_tool.exists(self.uri, entry)
                    if found:
                        self.copy(entry, name)
                else:
                    found = os.path.exists(entry)
                    if found:
                        self.import_sqlite(entry, name)
            if found:
                break
            if attempt:
                return False
            # activate the set into Tryton's cache (lock taken there)
            env = dict(os.environ)
            if self.postgresql:
                env['DB_NAME'] = f"{env.get('DB_NAME', 'test')}_tc"
            else:
                env['DB_NAME'] = ':memory:'
            run([PYTHON, os.path.join(ROOT, 'scripts', 'run_tests.py'),
                    '--tryton-cache', ','.join(sorted(set(modules)))],
                env=env, timeout=1800, what='module activation')
        self.finish_config_wizard(name, set_password=True)
        return True

    def finish_config_wizard(self, name, set_password=False):
        """Mark the module configuration wizard done: sao would open it
        (and, with set_password, give admin the site's password)."""
        run_python(self, name, (
            'from trytond.pool import Pool\n'
            'from trytond.transaction import Transaction\n'
            'Pool.start()\n'
            'pool = Pool(DATABASE)\n'
            'pool.init()\n'
            'with Transaction().start(DATABASE, 0) as transaction:\n'
            '    if ARGS:\n'
            '        User = pool.get("res.user")\n'
            '        admin, = User.search([("login", "=", "admin")])\n'
            '        admin.password = open(ARGS[0]).read().splitlines()[0]\n'
            '        admin.save()\n'
            '    Item = pool.get("ir.module.config_wizard.item")\n'
            '    Item.write(Item.search([]), {"state": "done"})\n'
            '    transaction.commit()\n'),
            *([self.passfile] if set_password else []))

    def build_cached(self, name, modules, cache=None):
        """Like build, but copied from a cache when DB_CACHE is set: a
        file DB_CACHE/suite-<key>.sqlite on SQLite, a template database
        suite_cache_<key> on PostgreSQL; key hashes the module set and
        the sources under addons/ (see source_key), so a change rebuilds.
        Return True when the database came from the cache."""
        cache = cache if cache is not None else os.environ.get('DB_CACHE')
        if not cache:
            self.build(name, modules)
            return False
        # one process builds a module set, the others wait and copy it
        with _cache_lock(f'{self.postgresql}:{cache}:{sorted(modules)}'):
            return self._build_cached(name, modules, cache)

    def _build_cached(self, name, modules, cache):
        key = source_key(modules)
        if self.postgresql:
            prefix = f'{cache_prefix()}_{modules_key(modules)}_'
            template = prefix + key
            if self.exists(template):
                self.copy(template, name)
                return True
            if not self.from_tryton_cache(name, modules):
                self.build(name, modules)
            # drop the stale caches of this module set, keep this one
            for old in pg_tool.names_with_prefix(self.uri, prefix):
                self.drop(old)
            try:
                self.copy(name, template)
            except Exception:
                # another run created it meanwhile
                pass
            return False
        os.makedirs(cache, exist_ok=True)
        cached = os.path.join(cache, f'suite-{key}.sqlite')
        if os.path.exists(cached):
            self.import_sqlite(cached, name)
            return True
        if not self.from_tryton_cache(name, modules):
            self.build(name, modules)
        tmp = f'{cached}.{os.getpid()}.tmp'
        shutil.copyfile(self.sqlite_file(name), tmp)
        os.replace(tmp, cached)
        return False

    def cleanup(self):
        shutil.rmtree(self.directory, ignore_errors=True)

    # processes

    def _process(self, name, command, database, extra, log=None):
        argv = [os.path.join(BIN, command), '-c', *self.config_files]
        if database:
            argv += ['-d', database]
        argv += ['--logconf', LOGGING_CONFIG, *extra]
        return Process.start(
            name, argv, env=self.env(), log=log or self.log(name))

    def start_server(self, database, port=None, name='trytond',
            wait=True, timeout=90):
        """Start trytond on a free loopback port serving sao.

        Return (process, base_url)."""
        for attempt in range(3):
            port = port or free_port()
            config = self.write_config(
                f'{name}.conf', {'web': {'listen': f'127.0.0.1:{port}'}})
            argv = [os.path.join(BIN, 'trytond'), '-c',
                *self.config_files[:1], config]
            if database:
                argv += ['-d', database]
            argv += ['--logconf', LOGGING_CONFIG]
            process = Process.start(
                name, argv, env=self.env(), log=self.log(name))
            base_url = f'http://127.0.0.1:{port}'
            if not wait:
                return process, base_url
            try:
                wait_for_rpc(base_url + '/rpc/', timeout, process)
            except RuntimeError:
                process.stop()
                if 'Address already in use' in process.log_tail():
                    port = None
                    continue
                raise
            except BaseException:
                process.stop()
                raise
            return process, base_url
        raise RuntimeError("no free port for trytond")

    def start_gunicorn(self, database, workers=2, name='gunicorn',
            extra=(), overrides=None):
        """Start trytond's WSGI application under gunicorn
        (config/gunicorn.conf.py) with workers processes on a free loopback
        port, not waiting for it.  Return (process, base_url)."""
        port = free_port()
        config = self.write_config(f'{name}.conf', overrides or {})
        argv = [os.path.join(BIN, 'gunicorn'), '-c', GUNICORN_CONFIG,
            '-w', str(workers), '-b', f'127.0.0.1:{port}', *extra]
        env = self.env(
            TRYTOND_CONFIG=os.pathsep.join(self.config_files[:1] + [config]),
            TRYTOND_DATABASE_NAMES=database,
            TRYTOND_LOGGING_CONFIG=LOGGING_CONFIG)
        process = Process.start(name, argv, env=env, log=self.log(name))
        return process, f'http://127.0.0.1:{port}'

    def start_worker(self, database, name='trytond-worker', processes=1,
            extra=()):
        return self._process(
            name, 'trytond-worker', database,
            ['-n', str(processes), *extra])

    def start_cron(self, database, name='trytond-cron', extra=()):
        return self._process(name, 'trytond-cron', database, list(extra))


def run_python(site, database, code, *args, timeout=600):
    """Run a Python snippet in a child with trytond configured for site.

    The snippet sees ``DATABASE``, ``CONFIG_FILES`` and ``ARGS``."""
    prelude = (
        'import sys, json\n'
        f'DATABASE = {database!r}\n'
        f'CONFIG_FILES = {site.config_files!r}\n'
        'ARGS = sys.argv[1:]\n'
        'from trytond import config as _c\n'
        '_c.update_etc(CONFIG_FILES)\n')
    return run([PYTHON, '-c', prelude + code, *args], env=site.env(),
        timeout=timeout, what='python snippet')


def main():
    "python -m tests.support ... is used by browser.py to run setup hooks."
    import importlib
    database, configs, hook = sys.argv[1], sys.argv[2], sys.argv[3]
    configs = json.loads(configs)
    module, _, qualname = hook.partition(':')
    func = importlib.import_module(module)
    for part in qualname.split('.'):
        func = getattr(func, part)
    from proteus import config as pconfig
    conf = pconfig.set_trytond(database, config_file=configs)
    func(conf)


if __name__ == '__main__':
    main()

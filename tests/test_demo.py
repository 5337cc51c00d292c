"""scripts/demo stops every process it started on Ctrl-C and on SIGTERM.

On a small database already built (``party`` activated, marked built by the
demo's stamp file in a state directory of its own, ``DEMO_VAR``), the script
serves: the mail catcher, ``trytond-cron`` and ``trytond``, each in a
session of its own.  Once the server answers, the signal goes to the script
as a terminal (Ctrl-C, to the foreground process group) or ``kill`` (SIGTERM,
to the script) sends it; the script must exit with 128 + the signal number
and no process whose command line names the state directory may remain.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from tests import support

DEMO = os.path.join(support.ROOT, 'scripts', 'demo')
READY = b"Ctrl-C stops"


def demo_processes(directory):
    "Return the pids of the live processes whose command line names directory"
    pids = []
    for name in os.listdir('/proc'):
        try:
            with open(f'/proc/{name}/cmdline', 'rb') as fd:
                cmdline = fd.read()
        except (OSError, ValueError):
            continue
        if name.isdigit() and directory.encode() in cmdline:
            pids.append(int(name))
    return pids


def _new_session():
    # a shell started in the background inherits SIGINT ignored, and bash
    # cannot trap a signal ignored at its start: a terminal's is not
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class DemoShutdownTest(unittest.TestCase):
    "scripts/demo in serve mode, stopped by SIGINT and by SIGTERM"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if support.is_postgresql():
            raise unittest.SkipTest("the demo's default is SQLite")
        if not shutil.which('soffice'):
            raise unittest.SkipTest(
                "scripts/demo would install LibreOffice first")
        cls.directory = tempfile.mkdtemp(prefix='demo-test-')
        cls.addClassCleanup(shutil.rmtree, cls.directory, True)
        site = support.Site(directory=os.path.join(cls.directory, 'site'))
        site.build_cached('demo', ['party'])
        cls.var = os.path.join(cls.directory, 'var')
        os.makedirs(os.path.join(cls.var, 'db'))
        shutil.copyfile(site.sqlite_file('demo'),
            os.path.join(cls.var, 'db', 'demo.sqlite'))
        # what a finished build leaves: the next run serves at once
        open(os.path.join(cls.var, 'db', '.demo-sqlite.ready'), 'w').close()
        cls.env = site.env(DEMO_VAR=cls.var,
            DEMO_PORT=str(support.free_port()),
            DEMO_SMTP_PORT=str(support.free_port()))

    def _serve(self):
        "Start scripts/demo; return its process once everything answers"
        log = open(os.path.join(self.directory, 'demo.log'), 'w+b')
        self.addCleanup(log.close)
        process = subprocess.Popen([DEMO], env=self.env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_new_session)
        self.addCleanup(self._kill, process)
        deadline = time.monotonic() + 120
        while True:
            log.seek(0)
            output = log.read()
            if READY in output:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                self.fail(f"scripts/demo did not start:\n{output.decode()}")
            time.sleep(0.2)
        url = f"http://127.0.0.1:{self.env['DEMO_PORT']}/rpc/"
        support.wait_for_rpc(url, 60)
        # the mail catcher, trytond-cron and trytond at least
        self.assertGreaterEqual(len(demo_processes(self.var)), 3)
        return process

    def _kill(self, process):
        "After a failure: leave nothing behind"
        for pid in demo_processes(self.var):
            os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _assert_stopped(self, process, signum):
        self.assertEqual(process.wait(timeout=60), 128 + signum)
        # the script waits for its process groups before it exits
        self.assertEqual(demo_processes(self.var), [])

    def test_ctrl_c(self):
        "Ctrl-C (SIGINT to the foreground group) stops every process"
        process = self._serve()
        os.killpg(process.pid, signal.SIGINT)
        self._assert_stopped(process, signal.SIGINT)

    def test_sigterm(self):
        "SIGTERM to the script stops every process"
        process = self._serve()
        process.terminate()
        self._assert_stopped(process, signal.SIGTERM)

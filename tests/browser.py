"""Browser tests: a real ``trytond`` serving sao, driven by headless Chromium.

Write a browser test as a subclass of ``BrowserTestCase``::

    from tests.browser import BrowserTestCase

    def create_customer(config):            # runs once, in a child process,
        from proteus import Model           # with a proteus config on the DB
        Party = Model.get('party.party')
        party = Party(name="Ada Lovelace"); party.save()
        return {'party': party.id}          # JSON-able -> cls.setup_data

    class CustomerBrowserTest(BrowserTestCase):
        modules = ['party']                 # activated with dependencies
        setup_hook = create_customer        # or 'package.module:function'

        def test_open_customer(self):
            b = self.browser                # already logged in as admin
            b.open_model('party.party', self.setup_data['party'])
            b.assert_text("Ada Lovelace")
            b.screenshot('customer-form')   # artifacts/screenshots/<name>.png

What happens (``setUpClass``):

* a *base database* with ``modules`` activated (``trytond-admin --all`` then
  ``-u MODULES --activate-dependencies``) is built once per module set per
  test run and copied for each test class; SQLite by default, PostgreSQL
  when ``TRYTOND_DATABASE_URI`` is ``postgresql://...`` (as
  ``scripts/run_tests.py`` does for its second pass).  With ``DB_CACHE``
  set, base databases are kept between runs (``DB_CACHE/suite-<key>.sqlite``
  or PostgreSQL template ``suite_cache_<modules>_<key>``), the key hashing
  the module set and the size/mtime of the files of the suite's modules it
  involves (``addons/<module>``), so an edited module is rebuilt.  The
  module configuration wizard is marked done; the user ``admin`` has the
  password ``ADMIN_PASSWORD``.
* ``setup_hook(config)`` runs in a child process with a proteus
  ``config`` on the class's database (use ``proteus.Model``, or
  ``trytond.transaction.Transaction`` directly); its return value, if
  JSON-able, becomes ``cls.setup_data``.  (The server runs outside test
  mode: an email address, e.g. a contact mechanism, is checked in DNS,
  which is unreachable here, so avoid emails in browser fixtures.)
* one ``trytond`` process (``.venv/bin/trytond``, the repository's config
  file plus an override for the port/database) serves sao on a free
  loopback port (``cls.base_url``) for the whole class;
* one headless Chromium (Debian's ``/usr/bin/chromium`` and
  ``/usr/bin/chromedriver``) is started and, when ``login = True`` (the
  default), logged in as admin: ``cls.browser``.
Everything is stopped in class cleanups, even when ``setUpClass`` fails,
and leftover processes are killed at exit.  The class is skipped (with the
reason) when chromium, chromedriver, selenium, the sao client or (on the
PostgreSQL pass) PostgreSQL are missing.  On a test failure a screenshot
``<TestClass>.<test>-failure.png`` is saved.

``Browser`` (``self.browser``) methods:

``login(user='admin', password=ADMIN_PASSWORD)``
    Fill sao's login dialog (database, user name) and the password dialog.
``open_url(fragment)``
    Go to ``<base_url>/#<fragment>`` (sao's URL scheme, e.g.
    ``'<db>/model/party.party/3'``) and wait until idle.
``open_model(model, res_id=None, **params)``
    Open a model's list, or the form of ``res_id``; ``params`` are sao URL
    parameters (``views``, ``domain``, ``context``, ...; JSON-encoded).
``open_action(xml_id)`` / ``open_menu(*path)``
    Open the window action by XML id (``'party.act_party_form'``), or the
    menu entry whose names are ``path`` (``'Parties', 'Parties'``).
``wait_idle(timeout=30)``
    Wait until no request is pending and the busy indicator is hidden.
``field(name)`` / ``fill(name, value)`` / ``value(name)``
    The visible form widget of field ``name`` (in the active tab or the
    open dialog) / wait until it is editable, type into it and send TAB
    (on_change runs), or choose the option of a selection / its value.
``fill_many2one(name, text)``
    Type text into a many2one and pick the record (from sao's search
    dialog when several match).
``click_button(label)``
    Click the visible button (form button, dialog button or toolbar
    button) whose text, title or aria-label is ``label`` (ignoring case
    and surrounding blanks; a dialog's buttons first).
``save()``
    Save the current record (Ctrl+S) and wait idle.
``text()`` / ``assert_text(text)`` / ``wait_text(text)``
    The visible text of the page / assert it contains text (waiting for
    it up to a few seconds).
``screenshot(name)``
    Save ``artifacts/screenshots/<name>.png`` and return its path.
``driver``
    The underlying selenium WebDriver for anything else.

Also: ``run_setup_hook(cls.site, cls.database, hook)`` runs another hook
later; ``tests.support`` has ``login(base_url, db)`` and ``rpc(url,
method, params, session=...)`` to check outcomes through JSON-RPC.
"""
import atexit
import importlib.util
import json
import os
import shutil
import tempfile
import time
import unittest

from tests import support

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('CHROMEDRIVER', '/usr/bin/chromedriver')
SCREENSHOTS = os.path.join(support.ARTIFACTS, 'screenshots')
ADMIN_LOGIN = support.ADMIN_LOGIN
ADMIN_PASSWORD = support.ADMIN_PASSWORD
CHROMIUM_FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    '--window-size=1440,1200',
    ]

__all__ = ['BrowserTestCase', 'Browser', 'browser_unavailable',
    'ADMIN_LOGIN', 'ADMIN_PASSWORD', 'SCREENSHOTS']


def browser_unavailable():
    "Return None when browser tests can run, else the reason to skip."
    for path, what in [
            (CHROMIUM, "Debian chromium"),
            (CHROMEDRIVER, "chromedriver (Debian chromium-driver)")]:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return (f"{what} not found at {path}: "
                "run scripts/setup --browser")
    if importlib.util.find_spec('selenium') is None:
        return "selenium is not installed in this Python"
    if not os.path.isfile(os.path.join(support.SAO_ROOT, 'index.html')):
        return f"sao web client not found in {support.SAO_ROOT}: " \
            "run scripts/setup"
    if support.is_postgresql():
        # The browser tests exercise the web client, not the backend: they
        # run in the SQLite pass of scripts/test, which keeps the PostgreSQL
        # pass from building a database per module set with trytond-admin.
        if os.environ.get('BROWSER_TEST_POSTGRESQL') != '1':
            return ("browser tests run in the SQLite pass "
                "(BROWSER_TEST_POSTGRESQL=1 runs them on PostgreSQL)")
        return support.postgresql_unavailable()
    return None


# one site (directory, config, databases) per process and URI
_SITES = {}
_BASES = {}


def _site():
    uri = support.database_uri()
    if uri not in _SITES:
        # no database list: on a shared PostgreSQL, listing (and testing)
        # every database makes sao's login dialog wait; the URL names it
        site = support.Site(uri=uri, overrides={'database': {'list': 'False'}})
        _SITES[uri] = site
        atexit.register(_drop_site, site)
    return _SITES[uri]


def _drop_site(site):
    for key, name in list(_BASES.items()):
        if key[0] == site.uri:
            try:
                site.drop(name)
            except Exception:
                pass
            del _BASES[key]
    site.cleanup()


def base_database(modules):
    """Name of a database with modules activated, built once per run (and
    copied from DB_CACHE when set, see support.Site.build_cached)."""
    site = _site()
    key = (site.uri, support.modules_key(modules))
    if key not in _BASES:
        name = f'browser_base_{key[1]}_{os.getpid()}'
        site.drop(name)
        site.build_cached(name, modules)
        _BASES[key] = name
    return _BASES[key]


def _hook_name(hook):
    "'module:qualname' (or '/path/file.py:qualname' for a script's hook)"
    if isinstance(hook, str):
        return hook
    module = hook.__module__
    if module == '__main__':
        import __main__
        module = os.path.abspath(__main__.__file__)
    return f'{module}:{hook.__qualname__}'


def run_setup_hook(site, database, hook):
    "Run hook(proteus_config) in a child process; return its JSON result."
    fd, result = tempfile.mkstemp(suffix='.json', dir=site.directory)
    os.close(fd)
    code = (
        'import json, importlib\n'
        'from proteus import config as pconfig\n'
        'module, _, qualname = ARGS[0].rpartition(":")\n'
        'if module.endswith(".py"):\n'
        '    import importlib.util\n'
        '    spec = importlib.util.spec_from_file_location("hook", module)\n'
        '    func = importlib.util.module_from_spec(spec)\n'
        '    spec.loader.exec_module(func)\n'
        'else:\n'
        '    func = importlib.import_module(module)\n'
        'for part in qualname.split("."): func = getattr(func, part)\n'
        'conf = pconfig.set_trytond(DATABASE, config_file=CONFIG_FILES)\n'
        'value = func(conf)\n'
        'try:\n'
        '    data = json.dumps(value)\n'
        'except TypeError:\n'
        '    data = "null"\n'
        'open(ARGS[1], "w").write(data)\n')
    try:
        support.run_python(site, database, code, _hook_name(hook), result)
        with open(result) as fd:
            return json.loads(fd.read() or 'null')
    finally:
        os.remove(result)


class Browser:
    "A headless Chromium on sao at base_url for database."

    def __init__(self, base_url, database, screenshots=SCREENSHOTS):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.base_url = base_url
        self.database = database
        self.screenshots = screenshots
        self.profile = tempfile.mkdtemp(prefix='chromium-profile-')
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f'--user-data-dir={self.profile}')
        service = Service(
            executable_path=CHROMEDRIVER,
            log_output=os.path.join(self.profile, 'chromedriver.log'))
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
        except BaseException:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(60)

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # waiting

    def _until(self, predicate, timeout, message):
        from selenium.common.exceptions import WebDriverException
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = predicate()
                if value:
                    return value
            except WebDriverException as exception:
                last = exception
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{message} (after {timeout}s) {last or ''}")
            time.sleep(0.05)

    def _busy(self):
        return self.driver.execute_script(
            "if (typeof jQuery === 'undefined' || typeof Sao === 'undefined')"
            "  { return true; }"
            "if (document.readyState !== 'complete') { return true; }"
            "if (jQuery.active > 0) { return true; }"
            "return jQuery('#processing').is(':visible');")

    def wait_idle(self, timeout=30, settle=0.15):
        """Wait until sao has no request pending and shows no busy sign.

        Idle must hold for ``settle`` seconds (sao chains requests)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while True:
            if self._busy():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= settle:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"sao still busy after {timeout}s")
            time.sleep(0.05)

    # navigation

    def _visible(self, css, root=None):
        root = root or self.driver
        return [e for e in root.find_elements('css selector', css)
            if e.is_displayed()]

    def login(self, user=ADMIN_LOGIN, password=ADMIN_PASSWORD, timeout=60):
        "Log in through sao's login and password dialogs."
        from selenium.webdriver.common.keys import Keys
        self.driver.get(f'{self.base_url}/#{self.database}')
        login = self._until(
            lambda: self._visible('.login-dialog #login'), timeout,
            "sao login dialog did not appear")[0]
        self.wait_idle(timeout)
        for database in self._visible('.login-dialog #database'):
            if database.tag_name == 'select':
                from selenium.webdriver.support.select import Select
                Select(database).select_by_value(self.database)
            elif (not database.get_attribute('readonly')
                    and database.get_attribute('value') != self.database):
                database.clear()
                database.send_keys(self.database)
        login.clear()
        login.send_keys(user, Keys.ENTER)
        entry = self._until(
            lambda: self._visible('#ask-dialog-entry[type=password]'),
            timeout, "sao password dialog did not appear")[0]
        entry.send_keys(password)
        dialog = entry.find_element(
            'xpath', './ancestor::*[contains(@class, "modal-content")]')
        dialog.find_element('css selector', '.btn-primary').click()
        self._until(
            lambda: (not self._visible('.login-dialog')
                and not self._visible('#ask-dialog-entry')
                and self._visible('#menu tr')),
            timeout, "sao main window did not appear after login")
        self.wait_idle(timeout)

    def open_url(self, fragment, timeout=30):
        "Go to base_url/#fragment and wait until sao is idle."
        url = f'{self.base_url}/#{fragment}'
        if self.driver.current_url.split('#')[0].rstrip('/') == \
                self.base_url.rstrip('/'):
            # same document: sao opens the tab on hashchange
            self.driver.execute_script(
                'window.location.hash = arguments[0];', fragment)
        else:
            self.driver.get(url)
        self.wait_idle(timeout)

    def open_model(self, model, res_id=None, timeout=30, **params):
        """Open model's list (or the form of res_id) by sao URL.

        params: sao URL parameters (views, domain, context, name,
        search_value, ...), JSON-encoded here."""
        from urllib.parse import quote
        fragment = f'{self.database}/model/{model}'
        if res_id is not None:
            fragment += f'/{int(res_id)}'
        if params:
            fragment += ';' + '&'.join(
                f'{k}={quote(json.dumps(v), safe="")}'
                for k, v in params.items())
        before = self._active_tab_id()
        self.open_url(fragment, timeout)
        self._wait_tab(before, model, timeout)

    def open_action(self, xml_id, timeout=30):
        "Open the window action of XML id 'module.fs_id' (a tab)."
        before = self._active_tab_id()
        error = self.driver.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "var session = Sao.Session.current_session;"
            "Sao.rpc({'method': 'model.ir.action.act_window.get',"
            "  'params': [arguments[0], {}]}, session)"
            ".then(function(action) {"
            "  Sao.Action.exec_action(action, {}, session.context);"
            "  done(null); }, function(e) { done(String(e)); });",
            xml_id)
        if error:
            raise AssertionError(f"cannot open action {xml_id}: {error}")
        self._wait_tab(before, xml_id, timeout)

    def open_menu(self, *path, timeout=30):
        """Open the menu entry whose names (from the top) are path,
        e.g. open_menu('Parties', 'Parties')."""
        self._until(lambda: self._visible('#menu tr'), timeout, "no menu")
        before = self._active_tab_id()
        parent = None
        for depth, name in enumerate(path):
            def row():
                rows = self._visible('#menu tbody tr')
                start = rows.index(parent) + 1 if parent in rows else 0
                for tr in rows[start:]:
                    for cell in tr.find_elements(
                            'css selector', '.column-char'):
                        if cell.text.strip() == name:
                            return tr, cell
            parent, cell = self._until(
                row, timeout, f"menu entry {name!r} not found in {path}")
            if depth < len(path) - 1:
                child = path[depth + 1]
                rows = self._visible('#menu tbody tr')
                shown = any(
                    c.text.strip() == child
                    for tr in rows[rows.index(parent) + 1:]
                    for c in tr.find_elements('css selector', '.column-char'))
                expander = parent.find_elements('css selector', '.expander')
                if expander and not shown:
                    expander[0].click()
            else:
                # sao's menu runs the action on a single click (a double
                # click would run it three times)
                cell.click()
            self.wait_idle(timeout)
        self._wait_tab(before, path, timeout)

    def _current_tab(self):
        return self._visible('#tabcontent > .tab-pane.active')

    def _active_tab_id(self):
        tabs = self._current_tab()
        return tabs[0].get_attribute('id') if tabs else None

    def _wait_tab(self, before, what, timeout):
        """Wait for a tab other than before to be active (sao may also
        just show a tab already open on the same thing: then after 3 s
        any active tab will do)."""
        try:
            self._until(
                lambda: self._active_tab_id() not in {None, before},
                min(3, timeout), '')
        except TimeoutError:
            self._until(
                self._current_tab, timeout, f"no tab opened for {what}")
        self.wait_idle(timeout)

    # forms

    def field(self, name, timeout=10):
        "The visible widget (input, select, textarea) of field name."
        css = ', '.join(
            f'#tabcontent .tab-pane.active {tag}[name="{name}"]'
            for tag in ('input', 'select', 'textarea'))
        css += ', ' + ', '.join(
            f'.modal.in {tag}[name="{name}"]'
            for tag in ('input', 'select', 'textarea'))

        def find():
            found = self._visible(css)
            return found[-1] if found else None
        return self._until(find, timeout, f"no visible field {name!r}")

    def editable_field(self, name, timeout=10):
        "The widget of field name once sao lets it be edited."
        def find():
            widget = self.field(name, timeout)
            if widget.is_enabled() and not widget.get_attribute('readonly'):
                return widget
        return self._until(find, timeout, f"field {name!r} is read-only")

    def value(self, name):
        return self.field(name).get_attribute('value')

    def fill(self, name, value, tab=True):
        """Type value into field name (then TAB to leave it, firing
        on_change) and wait idle."""
        from selenium.webdriver.common.keys import Keys
        widget = self.editable_field(name)
        if widget.tag_name == 'select':
            from selenium.webdriver.support.select import Select
            Select(widget).select_by_visible_text(str(value))
        else:
            widget.clear()
            widget.send_keys(str(value))
            if tab:
                widget.send_keys(Keys.TAB)
        self.wait_idle()
        return widget

    def fill_many2one(self, name, text, timeout=10):
        """Type text into many2one field name and pick the matching record:
        sao sets it when one record matches, else its search dialog opens
        and the first row showing text is chosen."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        widget = self.editable_field(name)
        modals = len(self._visible('.modal.in'))
        widget.clear()
        widget.send_keys(text)
        time.sleep(0.4)  # sao's completion starts 300 ms after typing
        self.wait_idle()
        dropdown = widget.find_elements(
            'xpath', './ancestor::div[contains(@class, "dropdown")][1]')
        menu = dropdown[0] if dropdown else widget

        def visible(css):
            return [e for e in menu.find_elements('css selector', css)
                if e.is_displayed()]
        matches = [a for a in visible('li.completion a') if text in a.text]
        if matches:
            matches[0].click()
        elif visible('li.action-search a'):
            # the completion is open without a match: search instead
            visible('li.action-search a')[0].click()
        else:
            widget.send_keys(Keys.TAB)
        self.wait_idle()
        dialogs = self._visible('.modal.in')
        # a search dialog opened (the field itself may be in a dialog)
        if len(dialogs) > modals:
            def cell():
                for td in self._visible('tbody tr td', dialogs[-1]):
                    if text in td.text:
                        return td
            td = self._until(cell, timeout, f"no {text!r} to choose")
            ActionChains(self.driver).double_click(td).perform()
            self.wait_idle()
        return widget

    def click_button(self, label, timeout=10):
        "Click the visible button whose text, title or aria-label is label."
        from selenium.common.exceptions import (
            ElementClickInterceptedException)

        def find():
            candidates = []
            # the topmost dialog first, then the page
            for modal in reversed(self._visible('.modal.in')):
                candidates += self._visible('button, a.btn', modal)
            candidates += self._visible(
                'button, a.btn, a[role=button], [role=button]')
            wanted = ' '.join(label.split()).casefold()
            for element in candidates:
                # .text is as rendered (CSS may upper-case it), textContent
                # as written
                names = {' '.join((value or '').split()).casefold()
                    for value in [element.text,
                        element.get_attribute('textContent'),
                        element.get_attribute('title'),
                        element.get_attribute('aria-label')]}
                if wanted in names:
                    try:
                        element.click()
                    except ElementClickInterceptedException:
                        continue  # covered (e.g. by a dialog): next one
                    return element
        button = self._until(find, timeout, f"no visible button {label!r}")
        self.wait_idle()
        return button

    def save(self):
        "Save the current record (sao's Ctrl+S) and wait until idle."
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        (ActionChains(self.driver).key_down(Keys.CONTROL).send_keys('s')
            .key_up(Keys.CONTROL).perform())
        self.wait_idle()

    # reading

    def text(self):
        "The visible text of the page (all tabs' hidden parts excluded)."
        return self.driver.find_element('tag name', 'body').text

    def wait_text(self, text, timeout=10):
        return self._until(
            lambda: text in self.text() or self._value_shown(text),
            timeout, f"text {text!r} not visible")

    def _value_shown(self, text):
        "Is text the value of a visible input (form fields show values so)?"
        return self.driver.execute_script(
            "var text = arguments[0];"
            "return jQuery('input:visible, textarea:visible').filter("
            "function() { return (this.value || '').indexOf(text) >= 0; })"
            ".length > 0;", text)

    def assert_text(self, text, timeout=10):
        "Fail unless text is visible (as page text or a field value)."
        try:
            self.wait_text(text, timeout)
        except TimeoutError:
            raise AssertionError(
                f"{text!r} is not visible in the web client") from None

    def screenshot(self, name):
        "Save artifacts/screenshots/<name>.png; return its path."
        os.makedirs(self.screenshots, exist_ok=True)
        path = os.path.join(self.screenshots, f'{name}.png')
        self.driver.save_screenshot(path)
        return path


class BrowserTestCase(unittest.TestCase):
    """One trytond + one headless Chromium per class (see module doc)."""
    modules = ['party']
    setup_hook = None
    login = True
    setup_data = None
    browser = None
    server = None
    base_url = None
    database = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reason = browser_unavailable()
        if reason:
            raise unittest.SkipTest(reason)
        site = _site()
        cls.site = site
        base = base_database(cls.modules)
        cls.database = f'browser_{cls.__name__.lower()}_{os.getpid()}'
        site.drop(cls.database)
        site.copy(base, cls.database)
        cls.addClassCleanup(site.drop, cls.database)
        if cls.setup_hook:
            hook = cls.__dict__.get('setup_hook', cls.setup_hook)
            if isinstance(hook, staticmethod):
                hook = hook.__func__
            cls.setup_data = run_setup_hook(site, cls.database, hook)
        cls.server, cls.base_url = site.start_server(
            cls.database, name=f'trytond-{cls.__name__}')
        cls.addClassCleanup(cls.server.stop)
        cls.browser = Browser(cls.base_url, cls.database)
        cls.addClassCleanup(cls.browser.quit)
        if cls.login:
            cls.browser.login()

    def _failed(self):
        "Has this test failed so far? (read in tearDown)"
        result = getattr(getattr(self, '_outcome', None), 'result', None)
        for test, _ in (getattr(result, 'errors', [])
                + getattr(result, 'failures', [])):
            if test is self:
                return True
        return False

    def tearDown(self):
        if self.browser is not None and self._failed():
            try:
                self.browser.screenshot(f'{self.id()}-failure')
            except Exception:
                pass
        super().tearDown()

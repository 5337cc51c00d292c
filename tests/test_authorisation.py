"""The authorisation matrix of the suite, asserted over JSON-RPC.

One database with the five modules, one real trytond HTTP server, one user
of each kind created once.  As each user, like a client would, the test
calls for every model of the suite (the models the five modules define)
``search`` (read), ``create([])``, ``write([], {})`` and ``delete([])``:
the server checks the model access before it looks at the records, so
each call answers whether the user may do it.  It also calls every button
of those models and every button the modules add to the models they extend
(``project.work``, ``party.party`` ...) with no record (the button's groups
are checked first; every one of them has a group),
and writes every workflow and audit field that must never be written
through RPC (``ir.model.field.access``), as each user and as the admin.

The expected answers are the table ``tests/authorisation_matrix.json``
(model -> user kind -> letters of the allowed operations among ``crwd``;
``model.button`` -> the kinds allowed to click): a change of access rights
must change this table, which the modules' ``doc/design.rst`` describe.
``AUTHORISATION_WRITE=1`` rewrites the table from the server's answers
(review the diff).  A portal user (``web.user``) cannot log in to RPC.
"""
import glob
import json
import os
import unittest
import urllib.error
import xml.etree.ElementTree as ET

from tests import support

MODULES = [
    'customer_status', 'customer_billing', 'customer_self_service',
    'customer_invoicing_run', 'customer_project']
MATRIX = os.path.join(os.path.dirname(__file__), 'authorisation_matrix.json')
PASSWORD = 'Kind-Pass-2026!'
# user kind -> names of its groups (ir.model.data is not served by RPC)
KINDS = {
    'none': [],
    'sales': ["Sales"],
    'accounting': ["Accounting"],
    'credit_manager': ["Credit Manager"],
    'change_approver': ["Party Change Approver"],
    'billing_clerk': ["Customer Invoicing Run"],
    'project_manager': ["Customer Projects"],
    }
# fields only the server's workflow writes, whoever calls
PROTECTED = {
    'party.change.request': [
        'state', 'submitted_by', 'approved_by', 'applied_date', 'before',
        'after', 'origin'],
    'customer.protest': ['state', 'withdrawal_date'],
    'sale.sale': ['credit_override_by', 'credit_override_date'],
    'customer.invoicing.run': ['state'],
    'customer.invoicing.run.item': [
        'state', 'active_source', 'error', 'date', 'group_key'],
    'project.billing.request': ['state'],
    'project.billing.request.line': [
        'settled', 'invoice_line', 'origin', 'unit_price', 'project'],
    }


def module_buttons():
    """Return the (model, name) of the buttons the five modules declare,
    on their own models and on the models they extend"""
    addons = os.path.join(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__))), 'addons')
    buttons = set()
    for module in MODULES:
        for path in glob.glob(os.path.join(addons, module, '*.xml')):
            for record in ET.parse(path).iter('record'):
                if record.get('model') != 'ir.model.button':
                    continue
                values = {f.get('name'): f.text for f in record.iter('field')}
                buttons.add((values['model'], values['name']))
    return buttons


class AuthorisationMatrixTestCase(unittest.TestCase):
    "Test who may do what on every model of the suite over JSON-RPC"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site = support.Site()
        cls.addClassCleanup(cls.site.cleanup)
        # not Tryton's test DB_NAME, which may be ':memory:' on SQLite
        cls.database = os.environ.get('TEST_DB_PREFIX', 'test') + (
            '_authorisation')
        if cls.site.postgresql:
            reason = support.postgresql_unavailable(cls.site.uri)
            if reason:
                raise unittest.SkipTest(reason)
            cls.database = cls.database.replace('-', '_')
        cls.site.drop(cls.database)
        cls.addClassCleanup(cls.site.drop, cls.database)
        cls.site.build_cached(cls.database, MODULES)
        cls.server, cls.url = cls.site.start_server(cls.database)
        cls.addClassCleanup(cls.server.stop)
        cls.admin = support.login(cls.url, cls.database)
        cls.sessions = {'admin': cls.admin}
        for kind, groups in KINDS.items():
            ids = cls.call(
                'model.res.group.search', [['name', 'in', groups]],
                0, None, None, {})
            assert len(ids) == len(groups), groups
            cls.call('model.res.user.create', [{
                        'login': kind, 'name': kind, 'password': PASSWORD,
                        'groups': [['add', ids]]}], {})
            cls.sessions[kind] = support.login(
                cls.url, cls.database, kind, PASSWORD)
        cls.models = sorted(m['name'] for m in cls.call(
                'model.ir.model.search_read',
                [['module', 'in', MODULES]], 0, None, None, ['name'], {}))
        cls.buttons = sorted(module_buttons() | {
                (b['model'], b['name']) for b in cls.call(
                    'model.ir.model.button.search_read',
                    [['model', 'in', cls.models]], 0, None, None,
                    ['model', 'name'], {})})

    @classmethod
    def call(cls, method, *params, session=None):
        return support.rpc(
            f'{cls.url}/{cls.database}/rpc/', method, params,
            session=session or cls.admin)

    def attempt(self, kind, method, *params):
        """Return True when the call is allowed, False when refused with a
        UserError (access errors are), None when RPC does not serve it"""
        try:
            self.call(method, *params, session=self.sessions[kind])
        except urllib.error.HTTPError as exception:
            self.assertEqual(exception.code, 403, f"{method} as {kind}")
            return None
        except RuntimeError as exception:
            message = str(exception)
            # a table_query model refuses create, write and delete so
            if 'On table_query' not in message:
                self.assertIn('UserError', message, f"{method} as {kind}")
            return False
        return True

    def operations(self, kind, model):
        "Return the letters of the operations kind may do on model"
        prefix = f'model.{model}.'
        allowed = ''
        for letter, method, params in [
                ('c', 'create', [[], {}]),
                ('r', 'search', [[], 0, 1, None, {}]),
                ('w', 'write', [[], {}, {}]),
                ('d', 'delete', [[], {}]),
                ]:
            if self.attempt(kind, prefix + method, *params):
                allowed += letter
        return allowed

    def server_matrix(self):
        storage = [m for m in self.models if self.is_storage(m)]
        matrix = {m: {k: self.operations(k, m) for k in KINDS}
            for m in storage}
        for model, name in self.buttons:
            matrix[f'{model}.{name}'] = [
                k for k in ['admin', *KINDS]
                if self.attempt(k, f'model.{model}.{name}', [], {})
                is not False]
        return matrix

    def is_storage(self, model):
        "Tell if RPC serves search on model (ModelStorage)"
        return self.attempt(
            'admin', f'model.{model}.search', [], 0, 1, None, {}) is not None

    def test_matrix(self):
        "Every model and button answers as the matrix says"
        matrix = self.server_matrix()
        if os.environ.get('AUTHORISATION_WRITE'):
            with open(MATRIX, 'w') as fd:
                json.dump(matrix, fd, indent=1, sort_keys=True)
                fd.write('\n')
        with open(MATRIX) as fd:
            expected = json.load(fd)
        for model in self.models:
            if self.is_storage(model):
                with self.subTest(model=model):
                    self.assertIn(model, expected)
        for key, value in matrix.items():
            with self.subTest(key=key):
                self.assertEqual(value, expected.get(key))

    def test_buttons_have_groups(self):
        "No button of the suite is open to a user without groups"
        for model, name in self.buttons:
            with self.subTest(button=f'{model}.{name}'):
                self.assertFalse(self.attempt(
                        'none', f'model.{model}.{name}', [], {}))

    def test_four_eyes_buttons(self):
        "Only change approvers (and the admin) approve and apply requests"
        for button in ['approve', 'reject', 'apply']:
            for kind in KINDS:
                with self.subTest(button=button, kind=kind):
                    self.assertEqual(
                        self.attempt(
                            kind, f'model.party.change.request.{button}',
                            [], {}),
                        kind == 'change_approver')

    def test_protected_fields(self):
        "No one writes a workflow or audit field through RPC"
        for model, names in PROTECTED.items():
            for name in names:
                for kind in ['admin', *KINDS]:
                    with self.subTest(model=model, field=name, kind=kind):
                        self.assertFalse(self.attempt(
                                kind, f'model.{model}.write', [],
                                {name: None}, {}))
                        self.assertFalse(self.attempt(
                                kind, f'model.{model}.create',
                                [{name: None}], {}))

    def test_portal_user_no_rpc(self):
        "A portal user's credentials do not open an RPC session"
        # the machine has no DNS: email validation passes only in test mode
        support.run_python(self.site, self.database, (
                'from trytond.pool import Pool\n'
                'from trytond.transaction import Transaction\n'
                'Pool.start()\n'
                'Pool.test = True\n'
                'pool = Pool(DATABASE)\n'
                'pool.init()\n'
                'with Transaction().start(DATABASE, 0) as transaction:\n'
                '    pool.get("web.user").create([{\n'
                '        "email": "portal@example.com",\n'
                f'        "password": {PASSWORD!r}}}])\n'
                '    transaction.commit()\n'))
        with self.assertRaises(urllib.error.HTTPError) as context:
            support.login(
                self.url, self.database, 'portal@example.com', PASSWORD)
        self.assertEqual(context.exception.code, 401)

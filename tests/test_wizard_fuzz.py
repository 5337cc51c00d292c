"""Every wizard of the suite refuses any start values a client may send.

A client sends the values of a wizard's start form with ``execute``:
nothing guarantees they went through the form.  For each wizard the five
modules define, Hypothesis draws the start values (out-of-range dates,
empty and missing values, huge ids, wrong types) and the record the wizard
runs on; each run either succeeds or raises a translated ``UserError`` (or
``UserWarning``), never another exception, and a refused run writes
nothing.  The customer status is a tab whose context form a client fills:
its values are fuzzed the same way through a search and read of the tab
(its own cases are in customer_status's ``test_status_input``).
"""
import datetime as dt
import unittest
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.exceptions import UserError, UserWarning
from trytond.modules.customer_status.tests.tools import (
    create_chart, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

from .test_suite_together import SUITE

BAD_IDS = st.one_of(
    st.none(), st.integers(), st.text(max_size=5), st.booleans(),
    st.just(2 ** 31), st.just(2 ** 63), st.just(-1), st.just(10 ** 6),
    st.floats(allow_nan=True))
BAD_DATES = st.one_of(
    st.none(), st.dates(), st.datetimes(), st.text(max_size=10),
    st.integers(), st.just(dt.date(1000, 1, 1)),
    st.just(dt.date(9999, 12, 31)), st.just(dt.date(1, 1, 1)))
BAD_TEXTS = st.one_of(
    st.none(), st.just(''), st.just('  '), st.text(max_size=20),
    st.integers(), st.lists(st.text(max_size=3), max_size=2))
BAD_BOOLEANS = st.one_of(
    st.booleans(), st.none(), st.text(max_size=3), st.integers())


def bad_lists(good):
    return st.one_of(
        st.just(good), st.just([]), st.lists(BAD_IDS, max_size=3), BAD_IDS)


def csv_files(project, unit_type):
    "Draw service unit files: good and bad cells, bad encodings, no file"
    cells = {
        'project': st.one_of(
            st.just(project), st.text(max_size=6), st.just('²'),
            st.just(str(2 ** 40))),
        'type': st.one_of(st.just(unit_type), st.text(max_size=4)),
        'date': st.one_of(
            st.just('2026-03-02'), st.just('1000-01-01'),
            st.just('9999-12-31'), st.text(max_size=10),
            st.dates().map(str)),
        'quantity': st.one_of(
            st.just('3'), st.just('nan'), st.just('inf'), st.just('-1'),
            st.just('1e400'), st.text(max_size=5)),
        }
    row = st.fixed_dictionaries(cells).map(
        lambda r: ','.join(r[c].replace(',', ' ').replace('\n', ' ')
            .replace('\r', ' ').replace('"', ' ') for c in cells))
    text = st.lists(row, max_size=4).map(
        lambda rows: '\n'.join(['project,type,date,quantity', *rows]))
    return st.one_of(
        text, text.map(str.encode), st.just(b'\xff\xfe\x00'),
        st.binary(max_size=20), BAD_TEXTS, st.integers())


class WizardFuzzTestCase(unittest.TestCase):
    "Fuzz the start values of every wizard of the suite"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module(SUITE)
        cls.addClassCleanup(drop_db)

    def _setup(self):
        pool = Pool()
        Party = pool.get('party.party')
        Work = pool.get('project.work')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        UnitType = pool.get('project.service.unit.type')
        User = pool.get('res.user')
        company = create_company()
        # the admin runs the wizards: it has every group of the suite
        User.write([User(1)], {
                'companies': [('add', [company.id])], 'company': company.id})
        with set_company(company):
            create_chart(company)
            party, = Party.create([{'name': "Customer"}])
            project, = Work.create([{
                        'name': "Website", 'type': 'project',
                        'company': company.id, 'party': party.id,
                        'start_date': dt.date(2026, 1, 5),
                        }])
            template, = Template.create([{
                        'name': "API Call", 'type': 'service',
                        'default_uom': Uom.search(
                            [('name', '=', "Unit")])[0].id,
                        'products': [('create', [{}])],
                        }])
            unit_type, = UnitType.create([{
                        'name': "API Call", 'code': 'API',
                        'company': company.id,
                        'product': template.products[0].id,
                        'unit_price': Decimal('0.05'),
                        'base_quantity': 0,
                        }])
        return company, party, project, unit_type

    def _counts(self):
        "Return the number of records of the models the wizards write"
        pool = Pool()
        return {name: pool.get(name).search([], count=True)
            for name in ['project.work', 'project.service.unit',
                'customer.status.snapshot', 'ir.note']}

    def _run(self, company, name, state, start, active_id=None):
        """Run wizard name from its start to state as the admin through RPC
        (access checked), on the project.work active_id"""
        Wizard = Pool().get(name, type='wizard')
        context = {
            'company': company.id, 'companies': [company.id],
            '_check_access': True,
            }
        if active_id is not None:
            context.update(
                active_model='project.work',
                active_id=active_id, active_ids=[active_id])
        with Transaction().set_user(1), \
                Transaction().set_context(context):
            session_id, _, _ = Wizard.create()
            return Wizard.execute(session_id, {'start': start}, state)

    def _fuzz(self, company, name, state, starts, active_ids=st.none(),
            max_examples=40):
        "Run wizard name on each drawn start, check the outcome"
        @settings(
            max_examples=max_examples, deadline=None, database=None,
            suppress_health_check=list(HealthCheck))
        @given(start=starts, active_id=active_ids)
        def check(start, active_id):
            before = self._counts()
            try:
                self._run(company, name, state, start, active_id)
            except (UserError, UserWarning):
                self.assertEqual(self._counts(), before, start)
        check()

    @with_transaction()
    def test_every_wizard_fuzzed(self):
        "The suite defines exactly the wizards fuzzed here"
        pool = Pool()
        defined = set()
        for name, Wizard in pool.iterobject(type='wizard'):
            owners = [c for c in Wizard.__mro__
                if vars(c).get('__name__') == name
                and c.__module__.startswith('trytond.modules.')]
            if owners and owners[-1].__module__.startswith(
                    'trytond.modules.customer_'):
                defined.add(name)
        self.assertEqual(defined, set(FUZZED))

    def _read_status(self, company, values):
        """Search and read the status tab as the admin through RPC (access
        checked) with values as its context form (customer.status.context)"""
        Status = Pool().get('customer.status')
        context = {
            'company': company.id, '_check_access': True,
            'context_model': 'customer.status.context',
            }
        context.update(values)
        with Transaction().set_user(1), \
                Transaction().set_context(context):
            statuses = Status.search([])
            return Status.read([s.id for s in statuses],
                ['party', 'balance', 'second_balance'])

    @with_transaction()
    def test_status(self):
        "Status tab: any customer, companies and period in its context form"
        company, party, project, unit_type = self._setup()
        rows = self._read_status(company, {
                'party': party.id, 'companies': [company.id],
                'from_date': dt.date(2026, 1, 1),
                'to_date': dt.date(2026, 12, 31)})
        self.assertEqual([r['party'] for r in rows], [party.id])

        @settings(
            max_examples=25, deadline=None, database=None,
            suppress_health_check=list(HealthCheck))
        @given(values=st.fixed_dictionaries({}, optional={
                    'party': st.one_of(st.just(party.id), BAD_IDS),
                    'companies': bad_lists([company.id]),
                    'from_date': BAD_DATES, 'to_date': BAD_DATES,
                    'second_currency': BAD_IDS,
                    }))
        def check(values):
            before = self._counts()
            try:
                self._read_status(company, values)
            except (UserError, UserWarning):
                self.assertEqual(self._counts(), before, values)
        check()

    @with_transaction()
    def test_recalculate(self):
        "Recalculate: any customers, companies and the all switch"
        pool = Pool()
        Snapshot = pool.get('customer.status.snapshot')
        company, party, project, unit_type = self._setup()
        self._run(company, 'customer.status.recalculate', 'recalculate', {
                'all_customers': False, 'parties': [party.id],
                'companies': [company.id]})
        self.assertEqual(Snapshot.search([], count=True), 1)
        for start, message in [
                ({'all_customers': True, 'companies': []}, 'company'),
                ({'all_customers': False, 'parties': [],
                        'companies': [company.id]}, 'customer'),
                ({'all_customers': True, 'companies': [2 ** 40]},
                    'not valid'),
                ({'all_customers': True, 'companies': [10 ** 6]},
                    'does not exist'),
                ]:
            with self.subTest(start=start), \
                    self.assertRaisesRegex(UserError, message):
                self._run(company, 'customer.status.recalculate',
                    'recalculate', start)
        self._fuzz(company, 'customer.status.recalculate', 'recalculate',
            st.fixed_dictionaries({}, optional={
                    'all_customers': BAD_BOOLEANS,
                    'parties': bad_lists([party.id]),
                    'companies': bad_lists([company.id]),
                    }))

    @with_transaction()
    def test_copy(self):
        "Copy: any name, start date and options, on any record"
        pool = Pool()
        Work = pool.get('project.work')
        company, party, project, unit_type = self._setup()
        good = {
            'project': project.id, 'name': "Website 2",
            'start_date': dt.date(2027, 1, 4), 'work_packages': True,
            'planning': True, 'staffing': False, 'billing_plan': True}
        self._run(company, 'project.work.customer_copy', 'copy', good,
            project.id)
        copy, = Work.search([('name', '=', "Website 2")])
        self.assertEqual(copy.start_date, dt.date(2027, 1, 4))
        for name, value, message in [
                ('start_date', dt.date(1000, 1, 1), 'not valid'),
                ('start_date', dt.date(9999, 12, 31), 'not valid'),
                ('start_date', None, 'required'),
                ('name', '  ', 'required'),
                ('planning', 'yes', 'not valid'),
                ]:
            with self.subTest(name=name, value=value), \
                    self.assertRaisesRegex(UserError, message):
                self._run(company, 'project.work.customer_copy', 'copy',
                    {**good, name: value}, project.id)
        self._fuzz(company, 'project.work.customer_copy', 'copy',
            st.fixed_dictionaries({}, optional={
                    'project': st.one_of(st.just(project.id), BAD_IDS),
                    'name': st.one_of(st.just("Copy"), BAD_TEXTS),
                    'start_date': st.one_of(
                        st.just(dt.date(2027, 1, 4)), BAD_DATES),
                    'work_packages': BAD_BOOLEANS,
                    'planning': BAD_BOOLEANS, 'staffing': BAD_BOOLEANS,
                    'billing_plan': BAD_BOOLEANS,
                    }),
            active_ids=st.one_of(
                st.just(project.id), st.just(10 ** 6), st.just(2 ** 31)),
            max_examples=30)

    @with_transaction()
    def test_reopen(self):
        "Reopen: any reason, on any record"
        company, party, project, unit_type = self._setup()
        with self.assertRaisesRegex(UserError, 'required'):
            self._run(company, 'project.work.customer_reopen', 'reopen',
                {'reason': ''}, project.id)
        self._fuzz(company, 'project.work.customer_reopen', 'reopen',
            st.fixed_dictionaries({}, optional={
                    'reason': st.one_of(st.just("Client asked"), BAD_TEXTS),
                    }),
            active_ids=st.one_of(
                st.just(project.id), st.just(10 ** 6), st.just(2 ** 31)),
            max_examples=25)

    @with_transaction()
    def test_service_unit_import(self):
        "Import: any file, with any cells"
        pool = Pool()
        Unit = pool.get('project.service.unit')
        company, party, project, unit_type = self._setup()
        self._run(company, 'project.service.unit.import', 'check', {
                'file': b'project,type,date,quantity\n'
                b'%d,API,2026-03-02,200\n' % project.id})
        unit, = Unit.search([])
        self.assertEqual((unit.date, unit.quantity),
            (dt.date(2026, 3, 2), 200))
        # a date out of range is a row error, shown before anything is saved
        result = self._run(company, 'project.service.unit.import', 'check', {
                'file': b'project,type,date,quantity\n'
                b'%d,API,1000-01-01,1\n' % project.id})
        # (the date in the user's language: en, month/day/year)
        self.assertIn('01/01/1000',
            result['view']['defaults']['errors'])
        self.assertEqual(Unit.search([], count=True), 1)
        self._fuzz(company, 'project.service.unit.import', 'check',
            st.fixed_dictionaries({}, optional={
                    'file': csv_files(str(project.id), 'API'),
                    }))


FUZZED = {
    'customer.status.recalculate',
    'project.work.customer_copy', 'project.work.customer_reopen',
    'project.service.unit.import',
    }

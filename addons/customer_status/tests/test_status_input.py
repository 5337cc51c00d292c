# This file is part of the customer_status module.
"""The status tab refuses any context values a client may send.

The client sends the values of the tab's context form
(``customer.status.context``) in the context of its ``search`` and
``read``: nothing guarantees they went through the form.  Each value either
gives the status or a translated UserError, never a traceback."""
import datetime as dt
import unittest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.exceptions import UserError
from trytond.modules.account.tests import create_chart
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)
from trytond.transaction import Transaction

BAD_IDS = st.one_of(
    st.none(), st.integers(), st.text(max_size=5),
    st.just(2 ** 31), st.just(-1), st.floats(allow_nan=True))
BAD_DATES = st.one_of(
    st.none(), st.dates(), st.datetimes(), st.text(max_size=10),
    st.integers(), st.just(dt.date(1000, 1, 1)))


class StatusInputTestCase(unittest.TestCase):
    "Test the status tab against the context values of a hostile client"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('customer_status')
        cls.addClassCleanup(drop_db)

    def _setup(self):
        pool = Pool()
        User = pool.get('res.user')
        Party = pool.get('party.party')
        ModelData = pool.get('ir.model.data')
        company = create_company()
        accounting = ModelData.get_id('account', 'group_account')
        user, = User.create([{
                    'login': 'clerk', 'name': "Clerk",
                    'groups': [('add', [accounting])],
                    'companies': [('add', [company.id])],
                    'company': company.id}])
        with set_company(company):
            create_chart(company)
            party, = Party.create([{'name': "C"}])
        return company, user, party

    def _execute(self, user, company, start):
        "Search and read the status as user with the context values start"
        Status = Pool().get('customer.status')
        transaction = Transaction()
        with transaction.set_user(user.id), transaction.set_context(
                company=company.id, companies=[company.id],
                context_model='customer.status.context'), \
                transaction.set_context(start):
            ids = [s.id for s in Status.search([])]
            return Status.read(ids, ['party', 'balance', 'second_balance'])

    @with_transaction()
    def test_reported_values(self):
        "A from-date of 1000-01-01, an unknown customer or company: refused"
        company, user, party = self._setup()
        good = {
            'party': party.id, 'companies': [company.id],
            'from_date': dt.date(2025, 1, 1),
            'to_date': dt.date(2025, 12, 31)}
        status, = self._execute(user, company, good)
        self.assertEqual(status['party'], party.id)
        self.assertEqual(status['balance'], 0)
        # no company chosen: the user's current company
        status, = self._execute(user, company, {**good, 'companies': []})
        self.assertEqual(status['party'], party.id)
        for name, value, message in [
                ('from_date', dt.date(1000, 1, 1), 'between'),
                ('to_date', dt.date(9999, 12, 31), 'between'),
                ('from_date', None, 'between'),
                ('party', 2 ** 31, 'not valid'),
                ('party', 10 ** 6, 'does not exist'),
                ('companies', [2 ** 40], 'not valid'),
                ('companies', 'x', 'not valid'),
                ]:
            with self.subTest(name=name, value=value):
                with self.assertRaisesRegex(UserError, message):
                    self._execute(user, company, {**good, name: value})

    @with_transaction()
    def test_fuzz_context(self):
        "Any context values give the status or a UserError"
        company, user, party = self._setup()

        @settings(
            max_examples=80, deadline=None, database=None,
            suppress_health_check=list(HealthCheck))
        @given(
            party=st.one_of(st.just(party.id), BAD_IDS),
            companies=st.one_of(
                st.just([company.id]), st.lists(BAD_IDS, max_size=3),
                BAD_IDS),
            from_date=BAD_DATES, to_date=BAD_DATES,
            second_currency=st.one_of(st.just(company.currency.id), BAD_IDS))
        def check(**start):
            try:
                self._execute(user, company, start)
            except UserError:
                pass
        check()


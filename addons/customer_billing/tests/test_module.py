# This file is part of Tryton.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.customer_billing.exceptions import (
    AccountNotBillableError, ChangeRequestError, ThirdPartyError)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class CustomerBillingTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Billing module"
    module = 'customer_billing'
    extras = ['sale_subscription', 'project_invoice']

    @with_transaction()
    def test_profile_cycle_start(self):
        "Test the first day of billing cycles"
        pool = Pool()
        Profile = pool.get('customer.billing.profile')
        date = dt.date(2026, 11, 27)  # a Friday
        for cycle, day, start in [
                ('immediate', None, date),
                ('weekly', 0, dt.date(2026, 11, 23)),  # previous Monday
                ('weekly', 4, date),  # the Friday itself
                ('weekly', 5, dt.date(2026, 11, 21)),  # previous Saturday
                ('monthly', 1, dt.date(2026, 11, 1)),
                ('monthly', 28, dt.date(2026, 10, 28)),
                ]:
            with self.subTest(cycle=cycle, day=day):
                profile = Profile(cycle=cycle, cycle_day=day)
                self.assertEqual(profile.get_cycle_start(date), start)

    @with_transaction()
    def test_account_default_and_billable(self):
        "Test default account, billable states and invoice party"
        pool = Pool()
        Party = pool.get('party.party')
        Profile = pool.get('customer.billing.profile')
        Account = pool.get('customer.account')
        company = create_company()
        with set_company(company):
            hq, branch, payer = Party.create([
                    {'name': "HQ"}, {'name': "Branch"}, {'name': "Payer"}])
            profile, = Profile.create([{
                        'code': 'HQ', 'name': "HQ", 'bill_to': 'headquarter',
                        'grouping': 'headquarter', 'cycle': 'monthly',
                        'cycle_day': 5}])
            account, = Account.create([{
                        'code': 'B', 'party': branch.id,
                        'profile': profile.id,
                        'start_date': dt.date(2026, 1, 1),
                        'end_date': dt.date(2026, 12, 31)}])
            self.assertEqual(Account.get_default(branch), account)
            self.assertIsNone(Account.get_default(hq))
            self.assertEqual(account.get_invoice_party(), branch)
            Party.write([branch], {'headquarter': hq.id})
            self.assertEqual(account.get_invoice_party(), hq)
            self.assertEqual(
                account._get_grouping_key(hq, dt.date(2026, 3, 4)),
                account._get_grouping_key(hq, dt.date(2026, 2, 5)))
            self.assertNotEqual(
                account._get_grouping_key(hq, dt.date(2026, 3, 5)),
                account._get_grouping_key(hq, dt.date(2026, 3, 4)))

            account.check_billable(dt.date(2026, 6, 1))
            with self.assertRaises(AccountNotBillableError):
                account.check_billable(dt.date(2027, 1, 1))
            Account.write([account], {'state': 'closed'})
            with self.assertRaises(AccountNotBillableError):
                account.check_billable(dt.date(2026, 6, 1))
            with self.assertRaises(ThirdPartyError):
                account.get_invoice_party(payer, dt.date(2026, 6, 1))

    @with_transaction()
    def test_propose_modification(self):
        "Test proposing a modification from code"
        pool = Pool()
        Party = pool.get('party.party')
        Request = pool.get('party.change.request')
        company = create_company()
        with set_company(company):
            party, = Party.create([{'name': "ACME"}])
            request = Request.propose_modification(
                party, {'email': 'info@acme.example', 'city': 'Liège'},
                origin=party)
            self.assertEqual(request.state, 'submitted')
            self.assertEqual(request.kind, 'modify')
            self.assertEqual(request.party, party)
            self.assertEqual(request.origin, party)
            # nothing is written before approval
            self.assertEqual(party.email, '')
            with self.assertRaises(ChangeRequestError):
                Request.propose_modification(party, {'colour': 'red'})


del ModuleTestCase

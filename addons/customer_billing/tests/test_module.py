# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
from decimal import Decimal

from trytond.modules.account.tests.test_module import create_chart
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.customer_billing.exceptions import (
    AccountNotBillableError, ChangeRequestError, ThirdPartyError)
from trytond.model.exceptions import RequiredValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


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
    def test_profile_cycle_weekday(self):
        "Test a weekly profile's weekday is its cycle day"
        pool = Pool()
        Profile = pool.get('customer.billing.profile')
        Day = pool.get('ir.calendar.day')
        company = create_company()
        with set_company(company):
            friday, = Day.search([('index', '=', 4)])
            weekly, monthly = Profile.create([
                    {'code': 'W', 'name': "Weekly", 'cycle': 'weekly',
                        'cycle_day': 0, 'cycle_weekday': friday.id},
                    {'code': 'M', 'name': "Monthly", 'cycle': 'monthly',
                        'cycle_day': 4}])
            self.assertEqual(weekly.cycle_day, 4)
            self.assertEqual(weekly.cycle_weekday, friday)
            # the day of a monthly cycle is no weekday
            self.assertIsNone(monthly.cycle_weekday)
            # choosing weekly starts on Monday, then the chosen weekday
            profile = Profile(cycle='weekly')
            profile.on_change_cycle()
            self.assertEqual(
                (profile.cycle_day, profile.cycle_weekday.index), (0, 0))
            profile.cycle_weekday = friday
            profile.on_change_cycle_weekday()
            self.assertEqual(profile.cycle_day, 4)

    @with_transaction()
    def test_account_default_and_billable(self):
        "Test default account, billable states and invoice party"
        pool = Pool()
        Party = pool.get('party.party')
        Profile = pool.get('customer.billing.profile')
        Account = pool.get('customer.account')
        Procedure = pool.get('account.dunning.procedure')
        company = create_company()
        with set_company(company):
            hq, branch, payer = Party.create([
                    {'name': "HQ"}, {'name': "Branch"}, {'name': "Payer"}])
            procedure, = Procedure.create([{'name': "Reminders"}])
            profile, = Profile.create([{
                        'code': 'HQ', 'name': "HQ", 'bill_to': 'headquarter',
                        'grouping': 'headquarter', 'cycle': 'monthly',
                        'cycle_day': 5, 'dunning_procedure': procedure.id}])
            account, = Account.create([{
                        'code': 'B', 'party': branch.id,
                        'profile': profile.id,
                        'start_date': dt.date(2026, 1, 1),
                        'end_date': dt.date(2026, 12, 31)}])
            self.assertEqual(Account.get_default(branch), account)
            self.assertEqual(Party(branch.id).dunning_procedure, procedure)
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
    def test_third_party_billed_amounts(self):
        "Test the cumulative amount billed under third-party authorisations"
        pool = Pool()
        Party = pool.get('party.party')
        Authorization = pool.get('customer.third_party.authorization')
        Invoice = pool.get('account.invoice')
        Account = pool.get('account.account')
        Journal = pool.get('account.journal')
        company = create_company()
        with set_company(company):
            create_chart(company)
            receivable, = Account.search([
                    ('type.receivable', '=', True)], limit=1)
            revenue, = Account.search([
                    ('type.revenue', '=', True), ('closed', '=', False),
                    ], limit=1)
            journal, = Journal.search([('type', '=', 'revenue')], limit=1)
            customer, other, payer = Party.create([
                    {'name': "Customer"}, {'name': "Other"},
                    {'name': "Payer", 'addresses': [('create', [{}])]}])
            march, open_ = Authorization.create([{
                        'customer': customer.id, 'third_party': payer.id,
                        'start_date': dt.date(2026, 3, 1),
                        'end_date': dt.date(2026, 3, 31),
                        'max_amount': Decimal(100),
                        }, {
                        'customer': other.id, 'third_party': payer.id,
                        }])

            def invoice(date, state, lines, origin=customer):
                return {
                    'state': state,
                    'type': 'out', 'company': company.id,
                    'party': payer.id, 'originating_customer': origin.id,
                    'invoice_address': payer.addresses[0].id,
                    'account': receivable.id, 'journal': journal.id,
                    'currency': company.currency.id,
                    'invoice_date': date,
                    'lines': [('create', [{
                                    'account': revenue.id,
                                    'quantity': q,
                                    'unit_price': Decimal(p),
                                    'originating_customer': c.id,
                                    } for q, p, c in lines])],
                    }
            d = dt.date
            invoices = [
                    invoice(d(2026, 3, 10), 'posted', [(2, '30', customer)]),
                    invoice(d(2026, 3, 20), 'paid', [(1, '15.50', customer)]),
                    # a credit note subtracts
                    invoice(d(2026, 3, 25), 'posted', [(-1, '10', customer)]),
                    # drafts, cancelled and out of the window do not count
                    invoice(d(2026, 3, 15), 'draft', [(5, '10', customer)]),
                    invoice(
                        d(2026, 3, 15), 'cancelled', [(5, '10', customer)]),
                    invoice(d(2026, 4, 1), 'posted', [(3, '10', customer)]),
                    invoice(d(2026, 2, 28), 'posted', [(3, '10', customer)]),
                    # another customer, on the invoice or on a line
                    invoice(d(2026, 3, 12), 'posted', [(7, '10', other)],
                        origin=other),
                    invoice(d(2026, 3, 5), 'validated',
                        [(1, '5', customer), (2, '5', other)]),
                    ]
            # the lines are added in draft, then the states are set
            states = [i.pop('state') for i in invoices]
            records = Invoice.create(invoices)
            for record, state in zip(records, states):
                Invoice.write([record], {'state': state})
            counted = records[0]
            # march: 2 x 30 + 15.50 - 10 + 1 x 5 = 70.50
            # open (any date): 7 x 10 + 2 x 5 = 80
            self.assertEqual(
                Authorization.get_billed_amounts([march, open_]),
                {march.id: Decimal('70.50'), open_.id: Decimal('80.00')})
            self.assertEqual(march.billed_amount, Decimal('70.50'))
            # without the first invoice: 70.50 - 60 = 10.50
            self.assertEqual(
                Authorization.get_billed_amounts([march], exclude=[counted]),
                {march.id: Decimal('10.50')})

            # 70.50 + 29.50 = 100 is allowed, 70.50 + 29.51 is not
            customer.check_third_party(
                payer, amount=Decimal('29.50'), date=d(2026, 3, 31))
            with self.assertRaises(ThirdPartyError):
                customer.check_third_party(
                    payer, amount=Decimal('29.51'), date=d(2026, 3, 31))
            customer.check_third_party(
                payer, amount=Decimal('89.50'), date=d(2026, 3, 31),
                exclude=[counted])
            # no maximum for the other customer
            other.check_third_party(payer, amount=Decimal(10 ** 6))

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

            # several addresses, contacts and bank accounts as lists of values
            request = Request.propose_creation({
                    'name': "Initech",
                    'addresses': [{'city': 'Austin'}, {'city': 'Dallas'}],
                    'contact_mechanisms': [
                        {'type': 'email', 'value': 'a@initech.example'},
                        {'type': 'phone', 'value': '+3222345678'}],
                    'bank_accounts': [{'number': 'gb82west12345698765432'}],
                    })
            self.assertEqual(
                [a.city for a in request.addresses], ['Austin', 'Dallas'])
            self.assertEqual(len(request.contact_mechanisms), 2)
            self.assertEqual(
                request.bank_accounts[0].number,
                'GB82 WEST 1234 5698 7654 32')
            with self.assertRaises(ChangeRequestError):
                Request.propose_creation({
                        'name': "Bad Bank",
                        'bank_accounts': [{'number': 'GB00WEST1234'}],
                        })

    @with_transaction()
    def test_account_code_sequence(self):
        "Test a new account left without code is numbered by the sequence"
        pool = Pool()
        Party = pool.get('party.party')
        Profile = pool.get('customer.billing.profile')
        Account = pool.get('customer.account')
        Configuration = pool.get('party.configuration')
        company = create_company()
        with set_company(company):
            party, = Party.create([{'name': "Customer"}])
            profile, = Profile.create([{'code': 'STD', 'name': "Standard"}])
            first, given, second = Account.create([
                    {'party': party.id, 'profile': profile.id},
                    {'party': party.id, 'profile': profile.id,
                        'code': 'MINE'},
                    {'party': party.id, 'profile': profile.id,
                        'code': ''}])
            # prefix CA, 6 digits, from 1; a given code is kept and does
            # not consume a number
            self.assertEqual(
                [first.code, given.code, second.code],
                ['CA000001', 'MINE', 'CA000002'])
            # without a sequence the code is required
            configuration = Configuration(1)
            configuration.customer_account_sequence = None
            configuration.save()
            with self.assertRaises(RequiredValidationError):
                Account.create([{'party': party.id, 'profile': profile.id}])

    @with_transaction()
    def test_change_request_review(self):
        "Test the reviewer reads current values, changes and the submitter"
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        Request = pool.get('party.change.request')
        company = create_company()
        with set_company(company):
            party, = Party.create([{'name': "ACME", 'addresses': [
                            ('create', [{'city': 'Liège'}])]}])
            # the origins offered are the models a request comes from
            self.assertIn(('party.party', 'Party'), Request.get_origins())
            self.assertNotIn('ir.model', dict(Request.get_origins()))
            # submitted by root (user 0: the system, e.g. the portal): no
            # user, the origin says who
            with Transaction().set_user(0):
                request = Request.propose_modification(
                    party, {'city': 'Namur'}, origin=party)
            self.assertIsNone(request.submitted_by)
            self.assertEqual(request.submitter, "ACME")
            self.assertIn('City: Liège', request.current.splitlines())
            self.assertIsNone(request.changes)
            approver, = User.create([{'login': 'approver',
                        'name': "Approver",
                        'companies': [('add', [company.id])],
                        'company': company.id}])
            with Transaction().set_user(approver.id):
                Request.approve([request])
                Request.apply([request])
            request = Request(request.id)
            # the city of the (only) address changed, accents as typed;
            # keys in alphabetical order
            self.assertEqual(request.changes.splitlines(), [
                    'Addresses: Liège → Namur',
                    'City: Liège → Namur'])
            self.assertIn('"city": "Namur"', request.after)
            self.assertIsNone(request.current)

    @with_transaction()
    def test_obligations_third_party_invoice(self):
        "Test subscriptions and projects bill an authorised third party"
        pool = Pool()
        Party = pool.get('party.party')
        Profile = pool.get('customer.billing.profile')
        Account = pool.get('customer.account')
        Authorization = pool.get('customer.third_party.authorization')
        Invoice = pool.get('account.invoice')
        Subscription = pool.get('sale.subscription')
        Work = pool.get('project.work')
        company = create_company()
        date = dt.date(2026, 6, 1)
        with set_company(company):
            create_chart(company)
            customer, payer, stranger = Party.create([
                    {'name': "Customer"}, {'name': "Payer"},
                    {'name': "Stranger"}])
            profile, = Profile.create([{'code': 'STD', 'name': "Standard"}])
            account, = Account.create([{
                        'code': 'C', 'party': customer.id,
                        'profile': profile.id}])
            Authorization.create([{
                        'customer': customer.id, 'third_party': payer.id,
                        'end_date': dt.date(2026, 12, 31)}])
            for Model in [Subscription, Work]:
                with self.subTest(model=Model.__name__):
                    obligation = Model(
                        company=company, party=customer,
                        customer_account=account, third_party=payer)
                    invoice = Invoice(
                        company=company, type='out', party=customer)
                    obligation._set_billing_invoice(invoice, date)
                    self.assertEqual(invoice.party, payer)
                    self.assertEqual(invoice.originating_customer, customer)
                    self.assertEqual(invoice.customer_account, account)
                    self.assertTrue(invoice.bill_to_third_party)

                    obligation.third_party = stranger
                    with self.assertRaises(ThirdPartyError):
                        obligation._set_billing_invoice(
                            Invoice(company=company, type='out',
                                party=customer), date)
                    obligation.third_party = payer
                    with self.assertRaises(ThirdPartyError):
                        # the authorisation has expired
                        obligation._set_billing_invoice(
                            Invoice(company=company, type='out',
                                party=customer), dt.date(2027, 1, 1))


del ModuleTestCase

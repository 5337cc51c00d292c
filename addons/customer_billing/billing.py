# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
from collections import defaultdict

from sql.conditionals import Coalesce

from trytond.i18n import gettext
from trytond.model import (
    Check, DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, Id, If
from trytond.transaction import Transaction

from .exceptions import AccountNotBillableError

EDOCUMENT_FORMATS = [
    ('pdf', "PDF Only"),
    ('ubl', "UBL 2.x"),
    ('peppol', "Peppol BIS Billing 3.0"),
    ('facturx', "Factur-X"),
    ]


class BillingProfile(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'customer.billing.profile'

    code = fields.Char("Code", required=True, strip=True)
    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    payment_term = fields.Many2One(
        'account.invoice.payment_term', "Payment Term", ondelete='RESTRICT')
    grouping = fields.Selection([
            ('order', "One Invoice per Order"),
            ('account', "Per Customer Account per Cycle"),
            ('headquarter', "Per Headquarter per Cycle"),
            ], "Invoice Grouping", required=True)
    cycle = fields.Selection([
            ('immediate', "Immediate"),
            ('weekly', "Weekly"),
            ('monthly', "Monthly"),
            ], "Billing Cycle", required=True)
    cycle_day = fields.Integer(
        "Cycle Day",
        states={
            'invisible': Eval('cycle') != 'monthly',
            'required': Eval('cycle') != 'immediate',
            },
        help="The day of the month (1 to 28) a monthly cycle starts on.\n"
        "For weekly cycles it stores the weekday (0 = Monday).")
    cycle_weekday = fields.Function(fields.Many2One(
            'ir.calendar.day', "Cycle Weekday",
            states={
                'invisible': Eval('cycle') != 'weekly',
                'required': Eval('cycle') == 'weekly',
                },
            help="The weekday a weekly cycle starts on."),
        'get_cycle_weekday', setter='set_cycle_weekday')
    channel = fields.Selection([
            ('print', "Print"),
            ('email', "Email to the Invoice Contact"),
            ('ubl', "E-Invoice Attachment"),
            ], "Delivery Channel", required=True,
        help="Print: store the invoice report.\n"
        "Email: send the invoice report and the e-invoice.\n"
        "E-Invoice Attachment: store the e-invoice on the invoice.")
    edocument_format = fields.Selection(
        EDOCUMENT_FORMATS, "E-Invoice Format", required=True,
        help="The structured document produced for the invoices, "
        "validated against its schema before it is delivered.\n"
        "The E-Invoice Attachment channel stores UBL when it is PDF only.")
    bill_to = fields.Selection([
            ('customer', "The Customer"),
            ('headquarter', "Its Headquarter"),
            ('third_party', "A Third Party"),
            ], "Bill To", required=True)
    dunning_procedure = fields.Many2One(
        'account.dunning.procedure', "Dunning Procedure",
        ondelete='RESTRICT')
    currency = fields.Many2One(
        'currency.currency', "Currency", ondelete='RESTRICT')
    accounts = fields.One2Many(
        'customer.account', 'profile', "Customer Accounts", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.company, t.code),
                'customer_billing.msg_profile_code_unique'),
            ('cycle_day', Check(t,
                    ((t.cycle == 'immediate')
                        | ((t.cycle == 'weekly')
                            & (t.cycle_day >= 0) & (t.cycle_day <= 6))
                        | ((t.cycle == 'monthly')
                            & (t.cycle_day >= 1) & (t.cycle_day <= 28)))),
                'customer_billing.msg_profile_cycle_day'),
            ]
        cls._order.insert(0, ('code', 'ASC'))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_grouping(cls):
        return 'order'

    @classmethod
    def default_cycle(cls):
        return 'immediate'

    @classmethod
    def default_channel(cls):
        return 'print'

    @classmethod
    def default_bill_to(cls):
        return 'customer'

    @classmethod
    def default_edocument_format(cls):
        return 'pdf'

    @fields.depends('cycle', 'cycle_day', 'cycle_weekday')
    def on_change_cycle(self):
        if self.cycle == 'immediate':
            self.cycle_day = None
        elif self.cycle == 'monthly' and not self.cycle_day:
            self.cycle_day = 1
        elif self.cycle == 'weekly' and (
                self.cycle_day is None or self.cycle_day > 6):
            self.cycle_day = 0
        self.cycle_weekday = self._weekday(self.cycle, self.cycle_day)

    @fields.depends('cycle_weekday')
    def on_change_cycle_weekday(self):
        if self.cycle_weekday:
            self.cycle_day = self.cycle_weekday.index

    @staticmethod
    def _weekday(cycle, day):
        pool = Pool()
        Day = pool.get('ir.calendar.day')
        if cycle == 'weekly' and day is not None:
            days = Day.search([('index', '=', day)], limit=1)
            return days[0] if days else None

    def get_cycle_weekday(self, name):
        day = self._weekday(self.cycle, self.cycle_day)
        return day.id if day else None

    @classmethod
    def set_cycle_weekday(cls, profiles, name, value):
        pool = Pool()
        Day = pool.get('ir.calendar.day')
        weekly = [p for p in profiles if p.cycle == 'weekly']
        if value is not None and weekly:
            cls.write(weekly, {'cycle_day': Day(value).index})

    def get_rec_name(self, name):
        return f'[{self.code}] {self.name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('code', *clause[1:]),
            ('name', *clause[1:]),
            ]

    def get_cycle_start(self, date):
        "Return the first day of the billing cycle containing date"
        if self.cycle == 'weekly':
            return date - dt.timedelta(
                days=(date.weekday() - self.cycle_day) % 7)
        elif self.cycle == 'monthly':
            if date.day >= self.cycle_day:
                return date.replace(day=self.cycle_day)
            previous = date.replace(day=1) - dt.timedelta(days=1)
            return previous.replace(day=self.cycle_day)
        return date


class Configuration(metaclass=PoolMeta):
    __name__ = 'party.configuration'

    customer_account_sequence = fields.Many2One(
        'ir.sequence', "Customer Account Sequence",
        domain=[
            ('sequence_type', '=',
                Id('customer_billing', 'sequence_type_customer_account')),
            ],
        help="Used to number the customer accounts created without a code.")

    @classmethod
    def default_customer_account_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id(
                'customer_billing', 'sequence_customer_account')
        except KeyError:
            return None


class CustomerAccount(ModelSQL, ModelView):
    __name__ = 'customer.account'
    _rec_name = 'code'

    code = fields.Char("Code", required=True, strip=True,
        states={
            # a new account gets its code from the sequence when left empty
            'required': Eval('id', -1) >= 0,
            },
        help="Leave empty on a new account to take the next number of the "
        "customer account sequence of the party configuration.")
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='RESTRICT',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    profile = fields.Many2One(
        'customer.billing.profile', "Billing Profile", required=True,
        ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ])
    company = fields.Many2One('company.company', "Company", required=True)
    start_date = fields.Date(
        "Start Date",
        domain=[
            If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')),
                ()),
            ])
    end_date = fields.Date(
        "End Date",
        domain=[
            If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')),
                ()),
            ])
    state = fields.Selection([
            ('active', "Active"),
            ('suspended', "Suspended"),
            ('closed', "Closed"),
            ], "State", required=True, sort=False)
    invoice_contact = fields.Many2One(
        'party.contact_mechanism', "Invoice Contact", ondelete='SET NULL',
        domain=[
            ('type', '=', 'email'),
            ],
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The email the invoices are sent to "
        "when the profile delivers by email "
        "and the contact belongs to the invoiced party.\n"
        "Leave empty to use the invoice email of the invoiced party.")
    edocument_format = fields.Selection(
        [(None, "")] + EDOCUMENT_FORMATS, "E-Invoice Format",
        help="Leave empty to use the format of the billing profile.")
    bill_to = fields.Function(fields.Selection(
            'get_bill_to_selection', "Bill To"), 'on_change_with_bill_to')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.company, t.code),
                'customer_billing.msg_account_code_unique'),
            ('dates', Check(t, Coalesce(t.start_date, dt.date.min)
                    <= Coalesce(t.end_date, dt.date.max)),
                'customer_billing.msg_account_dates'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range()),
                    where=t.state == 'active'),
                })
        cls._order.insert(0, ('code', 'ASC'))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'active'

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('code'):
            code = cls._new_code()
            if code:
                values['code'] = code
        return values

    @classmethod
    def _new_code(cls):
        "Return the next code of the configured sequence or None"
        pool = Pool()
        Configuration = pool.get('party.configuration')
        sequence = Configuration(1).customer_account_sequence
        if sequence:
            return sequence.get()

    @classmethod
    def get_bill_to_selection(cls):
        pool = Pool()
        Profile = pool.get('customer.billing.profile')
        return Profile.fields_get(['bill_to'])['bill_to']['selection']

    @fields.depends('profile')
    def on_change_with_bill_to(self, name=None):
        if self.profile:
            return self.profile.bill_to

    def get_rec_name(self, name):
        return f'{self.code} - {self.party.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('code', *clause[1:]),
            ('party.rec_name', *clause[1:]),
            ]

    @classmethod
    def validate_fields(cls, accounts, field_names):
        pool = Pool()
        Party = pool.get('party.party')
        super().validate_fields(accounts, field_names)
        if field_names & {'profile', 'company'}:
            cls._check_profile_company(accounts)
        if field_names & {'party', 'company'}:
            parties = {a.party for a in accounts}
            parties |= {p.headquarter for p in parties if p.headquarter}
            parties |= {b for p in list(parties) for b in p.branches}
            Party._check_headquarter_company(list(parties))

    @classmethod
    def on_modification(cls, mode, accounts, field_names=None):
        super().on_modification(mode, accounts, field_names=field_names)
        if mode == 'create' or (
                mode == 'write' and field_names & {'party', 'profile'}):
            cls._apply_profile(accounts)

    @classmethod
    def _apply_profile(cls, accounts):
        "Set the dunning procedure of the profile on the parties"
        pool = Pool()
        Party = pool.get('party.party')
        to_write = defaultdict(lambda: defaultdict(list))
        for account in accounts:
            procedure = account.profile.dunning_procedure
            if procedure:
                to_write[account.company.id][procedure.id].append(
                    account.party)
        for company_id, procedures in to_write.items():
            with Transaction().set_context(company=company_id):
                args = []
                for procedure_id, parties in procedures.items():
                    args.extend([Party.browse(parties),
                            {'dunning_procedure': procedure_id}])
                Party.write(*args)

    @classmethod
    def _check_profile_company(cls, accounts):
        for account in accounts:
            if account.profile.company != account.company:
                raise ValidationError(gettext(
                        'customer_billing.msg_account_profile_company',
                        account=account.rec_name,
                        profile=account.profile.rec_name))

    def is_billable(self, date=None):
        "Return True if the obligations can be billed through the account"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            with Transaction().set_context(company=self.company.id):
                date = Date.today()
        return (self.state == 'active'
            and (not self.start_date or self.start_date <= date)
            and (not self.end_date or date <= self.end_date))

    def check_billable(self, date=None):
        "Raise AccountNotBillableError if the account cannot be billed"
        pool = Pool()
        Date = pool.get('ir.date')
        Account = pool.get('customer.account')
        if date is None:
            with Transaction().set_context(company=self.company.id):
                date = Date.today()
        if self.state != 'active':
            state = dict(Account.fields_get(
                    ['state'])['state']['selection'])[self.state]
            raise AccountNotBillableError(gettext(
                    'customer_billing.msg_account_not_active',
                    account=self.rec_name, state=state))
        if not self.is_billable(date):
            lang = Pool().get('ir.lang').get()
            raise AccountNotBillableError(gettext(
                    'customer_billing.msg_account_not_valid',
                    account=self.rec_name, date=lang.strftime(date),
                    start_date=lang.strftime(self.start_date)
                    if self.start_date else '',
                    end_date=lang.strftime(self.end_date)
                    if self.end_date else ''))

    def get_invoice_party(self, third_party=None, date=None):
        """Return the party to invoice for an obligation of the account
        (the third party is checked at date)"""
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        party = InvoiceLine.get_billing_party(
            self.party, account=self, third_party=third_party)
        if party == third_party:
            self.party.check_third_party(third_party, date=date)
        return party

    @classmethod
    def get_default(cls, party, company=None, date=None):
        "Return the only active account of the party or None"
        if not party:
            return None
        if company is None:
            company = Transaction().context.get('company')
        domain = [
            ('party', '=', party.id if hasattr(party, 'id') else party),
            ('state', '=', 'active'),
            ]
        if company is not None:
            domain.append(('company', '=', int(company)))
        accounts = [a for a in cls.search(domain, limit=10)
            if date is None or a.is_billable(date)]
        if len(accounts) == 1:
            return accounts[0]

    def _get_grouping_key(self, invoice_party, date):
        "Return the key grouping the invoices of a cycle"
        profile = self.profile
        if profile.grouping == 'order':
            return None
        key = (
            ('company', self.company.id),
            ('party', invoice_party.id),
            ('grouping', profile.grouping),
            ('cycle_start', profile.get_cycle_start(date).isoformat()),
            ('payment_term',
                profile.payment_term.id if profile.payment_term else None),
            )
        if profile.grouping == 'account':
            key += (('account', self.id),)
        return key

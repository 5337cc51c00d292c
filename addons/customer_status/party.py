# This file is part of the customer_status module.
from sql import Union

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.party.exceptions import EraseError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import GroupLimitError
from .snapshot import _queue_refresh


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    credit_limit_date = fields.MultiValue(fields.Date(
            "Credit Limit Due Date",
            help="The date until which the credit limit is granted; "
            "after it the limit counts as zero."))
    secondary_credit_limit_amount = fields.MultiValue(Monetary(
            "Secondary Credit Limit", currency='currency',
            digits='currency'))
    credit_limit_group = fields.MultiValue(fields.Boolean(
            "Group Credit Limit",
            help="The credit limit covers the exposure of the headquarter "
            "and all its branches."))
    salesperson = fields.Many2One(
        'company.employee', "Salesperson", ondelete='SET NULL')
    customer_references = fields.One2Many(
        'customer.reference', 'party', "Customer References")
    customer_status_customer = fields.Function(fields.Boolean(
            "Customer Status Customer",
            help="Neither a company nor an employee."),
        'get_customer_status_customer',
        searcher='search_customer_status_customer')

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in {'credit_limit_date', 'secondary_credit_limit_amount',
                'credit_limit_group'}:
            return pool.get('party.party.credit_limit_amount')
        return super().multivalue_model(field)

    @classmethod
    def _not_customer_query(cls):
        "Return the query of the parties of the companies and employees"
        pool = Pool()
        Company = pool.get('company.company')
        Employee = pool.get('company.employee')
        company = Company.__table__()
        employee = Employee.__table__()
        return Union(
            company.select(company.party.as_('party')),
            employee.select(employee.party.as_('party')))

    @classmethod
    def get_customer_status_customer(cls, parties, name):
        cursor = Transaction().connection.cursor()
        query = cls._not_customer_query()
        cursor.execute(*query.select(query.party))
        excluded = {p for p, in cursor}
        return {p.id: p.id not in excluded for p in parties}

    @classmethod
    def search_customer_status_customer(cls, name, clause):
        _, operator, value = clause[:3]
        query = cls._not_customer_query()
        query = query.select(query.party)
        positive = (operator == '=') == bool(value)
        return [('id', 'not in' if positive else 'in', query)]

    def customer_status_headquarter(self):
        "Tell if the party heads a group of branches (customer_billing)"
        return False

    def _credit_limit_parties(self, company):
        "Return the parties whose credit limit a sale of the party checks"
        return [self]

    @classmethod
    def customer_status_refresh(cls, parties, companies=None):
        "Refresh the status snapshots of the parties (queue entry point)"
        pool = Pool()
        Company = pool.get('company.company')
        Snapshot = pool.get('customer.status.snapshot')
        if companies is not None:
            companies = Company.browse(companies)
        Snapshot.refresh(parties, companies=companies)


class PartyCreditLimitAmount(metaclass=PoolMeta):
    __name__ = 'party.party.credit_limit_amount'

    credit_limit_date = fields.Date("Credit Limit Due Date")
    secondary_credit_limit_amount = Monetary(
        "Secondary Credit Limit", currency='currency', digits='currency')
    credit_limit_group = fields.Boolean("Group Credit Limit")

    @classmethod
    def default_credit_limit_group(cls):
        return False

    @classmethod
    def validate_fields(cls, limits, field_names):
        super().validate_fields(limits, field_names)
        if field_names is None or {'credit_limit_group', 'party'} & set(
                field_names):
            cls.check_group_limit(limits)

    @classmethod
    def check_group_limit(cls, limits):
        "A group limit is only for a headquarter"
        for limit in limits:
            if (limit.credit_limit_group
                    and not limit.party.customer_status_headquarter()):
                raise GroupLimitError(gettext(
                        'customer_status.msg_group_limit_not_headquarter',
                        party=limit.party.rec_name))

    @classmethod
    def on_modification(cls, mode, limits, field_names=None):
        super().on_modification(mode, limits, field_names=field_names)
        # the limit, its due date and the secondary limit are figures
        companies = {l.company for l in limits}
        if None in companies:
            companies = None  # a limit of every company
        _queue_refresh({l.party for l in limits}, companies)


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('customer.returned_check', 'party'),
            ('customer.protest', 'party'),
            ('customer.reference', 'party'),
            ('customer.contact_log', 'party'),
            ('customer.status.risk.override', 'party'),
            ('customer.status.risk.history', 'party'),
            ('customer.status.snapshot', 'party'),
            ('customer.status.snapshot', 'group_headquarter'),
            ]

    def transition_replace(self):
        pool = Pool()
        Snapshot = pool.get('customer.status.snapshot')
        source, destination = self.ask.source, self.ask.destination
        # One snapshot per customer and company: the source's figures are
        # recomputed into the destination's once the lines have moved
        snapshots = Snapshot.search([
                ('party', 'in', [source.id, destination.id]),
                ])
        companies = {s.company for s in snapshots}
        Snapshot.delete([s for s in snapshots if s.party == source
                    and any(o.company == s.company and o.party == destination
                        for o in snapshots)])
        state = super().transition_replace()
        if companies:
            Snapshot.refresh([destination], companies=list(companies))
        return state


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def check_erase_company(self, party, company):
        pool = Pool()
        Protest = pool.get('customer.protest')
        super().check_erase_company(party, company)
        if Protest.search([
                    ('party', '=', party.id),
                    ('company', '=', company.id),
                    ('state', '=', 'protested'),
                    ], limit=1):
            raise EraseError(gettext(
                    'customer_status.msg_erase_party_open_protest',
                    party=party.rec_name, company=company.rec_name))

    def to_erase(self, party_id):
        pool = Pool()
        Reference = pool.get('customer.reference')
        ContactLog = pool.get('customer.contact_log')
        Override = pool.get('customer.status.risk.override')
        History = pool.get('customer.status.risk.history')
        of_party = [('party', '=', party_id)]
        return super().to_erase(party_id) + [
            (Reference, of_party, True,
                ['name', 'contact', 'phone', 'email', 'bank_account',
                    'notes'],
                ['****', None, None, None, None, None]),
            (ContactLog, of_party, True,
                ['contact', 'next_action', 'notes'], [None] * 3),
            (Override, of_party, True, ['reason'], ['****']),
            (History, of_party, True, ['reason'], [None]),
            ]

# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Sum
from sql.conditionals import Coalesce

from trytond.i18n import gettext
from trytond.model import Check, Index, ModelSQL, ModelView, fields
from trytond.modules.party.exceptions import EraseError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import HeadquarterError, ThirdPartyError


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    headquarter = fields.Many2One(
        'party.party', "Headquarter", ondelete='RESTRICT',
        states={
            'readonly': Bool(Eval('branches', [0])),
            },
        help="The party that receives the invoices of this branch "
        "when its billing profile bills the headquarter.")
    branches = fields.One2Many(
        'party.party', 'headquarter', "Branches", readonly=True)
    customer_accounts = fields.One2Many(
        'customer.account', 'party', "Customer Accounts")
    third_party_authorizations = fields.One2Many(
        'customer.third_party.authorization', 'customer',
        "Third-Party Authorizations",
        help="The parties authorised to be billed on behalf of this one.")
    billed_for = fields.One2Many(
        'customer.third_party.authorization', 'third_party',
        "Billed for", readonly=True,
        help="The customers for which this party may be billed.")
    owed_through_headquarter = fields.Function(fields.Numeric(
            "Owed through Headquarter",
            digits=(16, Eval('owed_through_headquarter_digits', 2)),
            help="The amount (taxes included) of the posted invoices "
            "issued to another party for obligations of this customer."),
        'get_owed_through_headquarter')
    owed_through_headquarter_digits = fields.Function(
        fields.Integer("Owed through Headquarter Digits"),
        'get_owed_through_headquarter')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.headquarter, Index.Range()),
                where=t.headquarter != Null))

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('customer_accounts', None)
        default.setdefault('branches', None)
        return super().copy(parties, default=default)

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        if 'headquarter' in field_names:
            cls._check_headquarter(parties)
            cls._check_headquarter_company(parties)

    @classmethod
    def _check_headquarter(cls, parties):
        for party in parties:
            headquarter = party.headquarter
            if not headquarter:
                continue
            if headquarter == party:
                raise HeadquarterError(gettext(
                        'customer_billing.msg_headquarter_cycle',
                        party=party.rec_name))
            if headquarter.headquarter or party.branches:
                raise HeadquarterError(gettext(
                        'customer_billing.msg_headquarter_level',
                        party=party.rec_name,
                        headquarter=headquarter.rec_name))

    @classmethod
    def _check_headquarter_company(cls, parties):
        "Check branches bill in the companies of their headquarter"
        pool = Pool()
        Account = pool.get('customer.account')
        branches = [p for p in parties if p.headquarter]
        if not branches:
            return
        companies = defaultdict(set)
        party_ids = {p.id for p in branches} | {
            p.headquarter.id for p in branches}
        with without_check_access():
            for sub_ids in grouped_slice(list(party_ids), 500):
                for account in Account.search([
                            ('party', 'in', list(sub_ids)),
                            ]):
                    companies[account.party.id].add(account.company.id)
        for party in branches:
            own = companies[party.id]
            other = companies[party.headquarter.id]
            if own and other and not own <= other:
                raise HeadquarterError(gettext(
                        'customer_billing.msg_headquarter_company',
                        party=party.rec_name,
                        headquarter=party.headquarter.rec_name))

    def check_third_party(
            self, third_party, amount=None, date=None, exclude=None):
        """Raise ThirdPartyError unless third_party may be billed for self

        amount is added to the amount already billed to third_party for self
        within the validity of each authorisation (the invoices of exclude
        are not counted) and compared with its maximum."""
        pool = Pool()
        Date = pool.get('ir.date')
        Authorization = pool.get('customer.third_party.authorization')
        if date is None:
            date = Date.today()
        authorizations = [a for a in self.third_party_authorizations
            if a.third_party == third_party and a.is_valid(date)]
        lang = pool.get('ir.lang').get()
        if not authorizations:
            raise ThirdPartyError(gettext(
                    'customer_billing.msg_third_party_not_authorized',
                    third_party=third_party.rec_name,
                    party=self.rec_name, date=lang.strftime(date)))
        limited = [a for a in authorizations if a.max_amount is not None]
        if amount is None or len(limited) < len(authorizations):
            return
        billed = Authorization.get_billed_amounts(limited, exclude=exclude)
        if all(billed[a.id] + amount > a.max_amount for a in limited):
            authorization = max(
                limited, key=lambda a: a.max_amount - billed[a.id])
            # the amounts of the authorisations have 2 digits
            raise ThirdPartyError(gettext(
                    'customer_billing.msg_third_party_max_amount',
                    amount=lang.format_number(amount, digits=2),
                    billed=lang.format_number(
                        billed[authorization.id], digits=2),
                    max_amount=lang.format_number(
                        authorization.max_amount, digits=2),
                    third_party=third_party.rec_name,
                    party=self.rec_name))

    @classmethod
    def get_owed_through_headquarter(cls, parties, names):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        User = pool.get('res.user')
        cursor = Transaction().connection.cursor()
        invoice = Invoice.__table__()
        line = InvoiceLine.__table__()

        amounts = {p.id: Decimal(0) for p in parties}
        digits = {p.id: None for p in parties}
        company_id = Transaction().context.get('company')
        if company_id is None:
            user = User(Transaction().user)
            company_id = user.company.id if user.company else None
        if company_id is not None:
            Company = pool.get('company.company')
            currency = Company(company_id).currency
            digits = {p.id: currency.digits for p in parties}
            # share of each posted invoice total owed for the line
            amount = Sum(
                line.quantity * line.unit_price
                * Coalesce(invoice.total_amount_cache, 0)
                / invoice.untaxed_amount_cache)
            for sub_ids in grouped_slice([p.id for p in parties], 500):
                cursor.execute(*line.join(
                        invoice, condition=line.invoice == invoice.id
                        ).select(line.originating_customer, amount,
                        where=fields.SQL_OPERATORS['in'](
                            line.originating_customer, sub_ids)
                        & (invoice.party != line.originating_customer)
                        & (invoice.state == 'posted')
                        & (invoice.type == 'out')
                        & (invoice.company == company_id)
                        & (invoice.untaxed_amount_cache != 0),
                        group_by=line.originating_customer))
                for party_id, value in cursor:
                    if value is not None:
                        amounts[party_id] = currency.round(
                            Decimal(str(value)))
        result = {}
        if 'owed_through_headquarter' in names:
            result['owed_through_headquarter'] = amounts
        if 'owed_through_headquarter_digits' in names:
            result['owed_through_headquarter_digits'] = digits
        return result


class ThirdPartyAuthorization(ModelSQL, ModelView):
    __name__ = 'customer.third_party.authorization'

    customer = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')
    third_party = fields.Many2One(
        'party.party', "Third Party", required=True, ondelete='RESTRICT',
        domain=[
            ('id', '!=', Eval('customer', -1)),
            ])
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
    max_amount = fields.Numeric(
        "Maximum Amount", digits=(16, 2),
        help="The maximum untaxed amount billed to the third party "
        "for the customer within the validity dates.\n"
        "Leave empty for no limit.")
    billed_amount = fields.Function(fields.Numeric(
            "Billed Amount", digits=(16, 2),
            help="The untaxed amount of the validated and posted invoices "
            "issued to the third party for the customer "
            "within the validity dates."),
        'get_billed_amount')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('dates', Check(t, Coalesce(t.start_date, dt.date.min)
                    <= Coalesce(t.end_date, dt.date.max)),
                'customer_billing.msg_third_party_dates'),
            ('not_self', Check(t, t.customer != t.third_party),
                'customer_billing.msg_third_party_self'),
            ('max_amount_positive', Check(t,
                    (t.max_amount == Null) | (t.max_amount >= 0)),
                'customer_billing.msg_third_party_max_amount_positive'),
            ]
        cls._sql_indexes.add(Index(t, (t.third_party, Index.Range())))

    def get_rec_name(self, name):
        return f'{self.customer.rec_name} → {self.third_party.rec_name}'

    @classmethod
    def get_billed_amount(cls, authorizations, name):
        return cls.get_billed_amounts(authorizations)

    @classmethod
    def get_billed_amounts(cls, authorizations, exclude=None):
        """Return the untaxed amount billed under each authorisation

        It sums the lines of the validated, posted and paid customer invoices
        (credit notes subtract) issued to the third party with the customer
        as originating customer and dated within the validity dates."""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        cursor = Transaction().connection.cursor()
        authorization = cls.__table__()
        invoice = Invoice.__table__()
        line = InvoiceLine.__table__()

        amounts = {a.id: Decimal(0) for a in authorizations}
        where = (invoice.type == 'out') & invoice.state.in_(
            ['validated', 'posted', 'paid'])
        if exclude:
            where &= ~invoice.id.in_([int(i) for i in exclude])
        query = authorization.join(invoice, condition=(
                invoice.party == authorization.third_party)
            & (invoice.invoice_date >= Coalesce(
                    authorization.start_date, dt.date.min))
            & (invoice.invoice_date <= Coalesce(
                    authorization.end_date, dt.date.max))
            ).join(line, condition=(line.invoice == invoice.id)
            & (Coalesce(line.originating_customer,
                    invoice.originating_customer)
                == authorization.customer)
            & (line.type == 'line'))
        for sub_ids in grouped_slice(list(amounts), 500):
            cursor.execute(*query.select(
                    authorization.id, Sum(line.quantity * line.unit_price),
                    where=where & fields.SQL_OPERATORS['in'](
                        authorization.id, sub_ids),
                    group_by=authorization.id))
            for authorization_id, amount in cursor:
                if amount is not None:
                    amounts[authorization_id] = Decimal(str(amount)
                        ).quantize(Decimal('0.01'))
        return amounts

    def is_valid(self, date):
        return ((not self.start_date or self.start_date <= date)
            and (not self.end_date or date <= self.end_date))


class HeadquarterStatement(Report):
    __name__ = 'customer_billing.headquarter_statement'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['statements'] = cls._get_statements(records)
        return context

    @classmethod
    def _get_statements(cls, parties):
        "Return for each party its open items grouped by branch"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Company = pool.get('company.company')
        company_id = Transaction().context.get('company')
        currency = Company(company_id).currency if company_id else None
        statements = {}
        invoices = Invoice.search([
                ('party', 'in', [p.id for p in parties]),
                ('type', '=', 'out'),
                ('state', '=', 'posted'),
                ('company', '=', company_id),
                ], order=[('invoice_date', 'ASC'), ('id', 'ASC')])
        items = defaultdict(lambda: defaultdict(list))
        for invoice in invoices:
            for customer, amount in cls._split_invoice(invoice).items():
                items[invoice.party.id][customer].append({
                        'invoice': invoice,
                        'amount': amount,
                        })
        for party in parties:
            branches = []
            for customer, lines in sorted(items[party.id].items(),
                    key=lambda i: i[0].rec_name):
                branches.append({
                        'customer': customer,
                        'items': lines,
                        'total': sum(l['amount'] for l in lines),
                        })
            statements[party.id] = {
                'branches': branches,
                'total': sum(b['total'] for b in branches),
                'currency': currency,
                }
        return statements

    @classmethod
    def _split_invoice(cls, invoice):
        "Return the amount to pay of invoice per originating customer"
        untaxed = defaultdict(Decimal)
        for line in invoice.line_lines:
            customer = (line.originating_customer
                or invoice.originating_customer or invoice.party)
            untaxed[customer] += line.amount
        total = sum(untaxed.values())
        to_pay = invoice.amount_to_pay
        if not total:
            return {invoice.originating_customer or invoice.party: to_pay}
        amounts = {c: invoice.currency.round(to_pay * a / total)
            for c, a in untaxed.items()}
        # put the rounding difference on the largest share
        largest = max(amounts, key=lambda c: abs(amounts[c]))
        amounts[largest] += to_pay - sum(amounts.values())
        return amounts


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        pool = Pool()
        fields_ = [
            ('party.party', 'headquarter'),
            ('customer.account', 'party'),
            ('customer.third_party.authorization', 'customer'),
            ('customer.third_party.authorization', 'third_party'),
            ('account.invoice', 'originating_customer'),
            ('account.invoice.line', 'originating_customer'),
            ('party.change.request', 'party'),
            ('sale.sale', 'third_party'),
            ]
        # obligations registered only with their optional module
        for model in ['sale.subscription', 'project.work']:
            try:
                Model = pool.get(model)
            except KeyError:
                continue
            if 'third_party' in Model._fields:
                fields_.append((model, 'third_party'))
        return super().fields_to_replace() + fields_


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def check_erase_company(self, party, company):
        pool = Pool()
        Account = pool.get('customer.account')
        Request = pool.get('party.change.request')
        super().check_erase_company(party, company)
        if Account.search([
                    ('party', '=', party.id),
                    ('company', '=', company.id),
                    ('state', '!=', 'closed'),
                    ], limit=1):
            raise EraseError(gettext(
                    'customer_billing.msg_erase_party_open_account',
                    party=party.rec_name, company=company.rec_name))
        if Request.search([
                    ('party', '=', party.id),
                    ('company', '=', company.id),
                    ('state', 'in', ['draft', 'submitted', 'approved']),
                    ], limit=1):
            raise EraseError(gettext(
                    'customer_billing.msg_erase_party_pending_request',
                    party=party.rec_name, company=company.rec_name))

    def to_erase(self, party_id):
        pool = Pool()
        Request = pool.get('party.change.request')
        Address = pool.get('party.change.request.address')
        Mechanism = pool.get('party.change.request.contact_mechanism')
        BankAccount = pool.get('party.change.request.bank_account')
        Email = pool.get('ir.email')
        EmailAddress = pool.get('ir.email.address')
        Delivery = pool.get('customer.email.delivery')
        of_party = [('request.party', '=', party_id)]
        emails = self._emails_to_erase(party_id)
        of_emails = [('email', 'where', emails)]
        return super().to_erase(party_id) + [
            (Email, emails, True,
                ['recipients', 'recipients_secondary', 'recipients_hidden',
                    'subject', 'body', 'customer_message'],
                [None] * 6),
            (EmailAddress, of_emails, False, ['address'], ['****']),
            (Delivery, of_emails, False, ['address', 'error'],
                ['****', None]),
            (Request, [('party', '=', party_id)], True,
                ['name', 'email', 'phone', 'website', 'street',
                    'postal_code', 'city', 'country', 'tax_identifier',
                    'before', 'after'],
                [None] * 8 + ['****', None, None]),
            (Address, of_party, True,
                ['street', 'postal_code', 'city', 'country'],
                [None] * 4),
            (Mechanism, of_party, True, ['value'], ['****']),
            (BankAccount, of_party, True, ['number'], ['****']),
            ]

    def _emails_to_erase(self, party_id):
        "Return the domain of the emails (ir.email) sent about the party"
        return ['OR',
            ('resource', '=', f'party.party,{party_id}'),
            ('resource.party', '=', party_id, 'account.invoice'),
            ]

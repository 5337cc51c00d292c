# This file is part of the customer_status module.  See doc/ for the
# definition of every figure.
import copy
import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql import Literal, Null, Window
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Function, RowNumber
from sql.operators import Concat, Like

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.exceptions import RateError
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice, sqlite_apply_types
from trytond.transaction import Transaction

from .exceptions import (
    CompanyAccessError, MissingRateError, NoReceivableAccountError,
    PeriodError, StatusInputError)

_in = fields.SQL_OPERATORS['in']

AGEING_FIGURES = [
    'ageing_not_due', 'ageing_1', 'ageing_2', 'ageing_3', 'ageing_older']
MONETARY_FIGURES = [
    'credit_limit', 'credit_limit_available',
    'secondary_credit_limit', 'secondary_credit_limit_available',
    'balance', 'overdue', 'largest_purchase', 'highest_balance',
    'revenue', 'previous_revenue', 'billed_through',
    'exposure_moves', 'exposure_sales', 'exposure_invoices', 'exposure',
    'exposure_available', 'group_credit_limit', 'group_exposure',
    'group_exposure_available',
    ] + AGEING_FIGURES


class JulianDay(Function):
    __slots__ = ()
    _function = 'JULIANDAY'


def days_between(end, start):
    "Return the SQL expression of the number of days from start to end"
    if backend.name == 'sqlite':
        return JulianDay(end) - JulianDay(start)
    return end - start


def _numeric(query, types):
    if backend.name == 'sqlite':
        sqlite_apply_types(query, types)
    return query


def _date(value):
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


def _valid_id(value):
    return (isinstance(value, int) and not isinstance(value, bool)
        and 0 < value < 2 ** 31)


def _valid_value(field, value):
    "Tell if value has the type of field (the range is checked later)"
    if field._type == 'many2one':
        return value is None or _valid_id(value)
    elif field._type == 'many2many':
        return isinstance(value, (list, tuple)) and all(
            _valid_id(v) for v in value)
    elif field._type == 'date':
        return value is None or (
            isinstance(value, dt.date) and not isinstance(value, dt.datetime))
    return True


class StatusMixin:
    "Figures of the credit position of a customer"
    __slots__ = ()

    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    second_currency = fields.Many2One(
        'currency.currency', "Second Currency", readonly=True)

    credit_limit = Monetary(
        "Credit Limit", currency='currency', digits='currency', readonly=True)
    credit_limit_date = fields.Date("Credit Limit Due Date", readonly=True)
    credit_limit_expired = fields.Boolean(
        "Credit Limit Expired", readonly=True)
    credit_limit_available = Monetary(
        "Available on Credit Limit", currency='currency', digits='currency',
        readonly=True)
    secondary_credit_limit = Monetary(
        "Secondary Credit Limit", currency='currency', digits='currency',
        readonly=True)
    secondary_credit_limit_available = Monetary(
        "Available on Secondary Limit", currency='currency',
        digits='currency', readonly=True)
    balance = Monetary(
        "Current Balance", currency='currency', digits='currency',
        readonly=True)
    overdue = Monetary(
        "Overdue", currency='currency', digits='currency', readonly=True)
    oldest_overdue_date = fields.Date("Oldest Overdue Maturity", readonly=True)
    largest_purchase = Monetary(
        "Largest Purchase", currency='currency', digits='currency',
        readonly=True)
    largest_purchase_date = fields.Date("Largest Purchase Date", readonly=True)
    largest_purchase_invoice = fields.Many2One(
        'account.invoice', "Largest Purchase Invoice", readonly=True)
    highest_balance = Monetary(
        "Highest Balance", currency='currency', digits='currency',
        readonly=True)
    highest_balance_date = fields.Date("Highest Balance Date", readonly=True)
    first_purchase_date = fields.Date("First Purchase", readonly=True)
    first_purchase_invoice = fields.Many2One(
        'account.invoice', "First Purchase Invoice", readonly=True)
    last_purchase_date = fields.Date("Last Purchase", readonly=True)
    last_purchase_invoice = fields.Many2One(
        'account.invoice', "Last Purchase Invoice", readonly=True)
    longest_delay = fields.Integer(
        "Longest Delay (days)", readonly=True)
    average_delay = fields.Numeric(
        "Average Delay (days)", digits=(16, 1), readonly=True,
        help="Weighted by amount.")
    revenue = Monetary(
        "Revenue", currency='currency', digits='currency', readonly=True)
    billed_through = Monetary(
        "Owed Through Headquarter", currency='currency', digits='currency',
        readonly=True,
        help="Open amount of the invoices of the customer billed to another "
        "party (its headquarter), when customer_billing is activated.")
    previous_revenue = Monetary(
        "Previous Revenue", currency='currency', digits='currency',
        readonly=True)
    trend = fields.Numeric(
        "Trend (%)", digits=(16, 1), readonly=True,
        help="Revenue change against the previous period.")
    overdue_ratio = fields.Numeric(
        "Overdue Ratio (%)", digits=(16, 1), readonly=True,
        help="Overdue part of the balance.")
    exposure_moves = Monetary(
        "Moves Not Posted", currency='currency', digits='currency',
        readonly=True,
        help="Receivable amount of the moves not yet posted.")
    exposure_sales = Monetary(
        "Sales Not Invoiced", currency='currency', digits='currency',
        readonly=True,
        help="Untaxed amount not yet invoiced (posted) of the confirmed "
        "and processing sales.")
    exposure_invoices = Monetary(
        "Invoices Not Posted", currency='currency', digits='currency',
        readonly=True,
        help="Untaxed amount of the draft and validated customer invoices "
        "that do not come from a sale.")
    exposure = Monetary(
        "Exposure", currency='currency', digits='currency', readonly=True,
        help="Current balance, moves not posted, sales not invoiced and "
        "invoices not posted.")
    exposure_available = Monetary(
        "Available Credit", currency='currency', digits='currency',
        readonly=True, help="Credit limit minus the exposure.")
    group_headquarter = fields.Many2One(
        'party.party', "Group Headquarter", readonly=True,
        help="The headquarter whose group credit limit covers the customer, "
        "when customer_billing is activated.")
    group_credit_limit = Monetary(
        "Group Credit Limit", currency='currency', digits='currency',
        readonly=True)
    group_exposure = Monetary(
        "Group Exposure", currency='currency', digits='currency',
        readonly=True,
        help="The exposure of the headquarter and all its branches.")
    group_exposure_available = Monetary(
        "Available Group Credit", currency='currency', digits='currency',
        readonly=True)
    ageing_not_due = Monetary(
        "Not Due", currency='currency', digits='currency', readonly=True,
        help="Open receivable amount not due yet at the to date.")
    ageing_1 = Monetary(
        "First Ageing Period", currency='currency', digits='currency',
        readonly=True,
        help="Open receivable amount due since 1 day up to the end of the "
        "first ageing period of the configuration (30 days by default).")
    ageing_2 = Monetary(
        "Second Ageing Period", currency='currency', digits='currency',
        readonly=True,
        help="Open receivable amount due within the second ageing period "
        "of the configuration (31 to 60 days by default).")
    ageing_3 = Monetary(
        "Third Ageing Period", currency='currency', digits='currency',
        readonly=True,
        help="Open receivable amount due within the third ageing period "
        "of the configuration (61 to 90 days by default).")
    ageing_older = Monetary(
        "Older", currency='currency', digits='currency', readonly=True,
        help="Open receivable amount due for longer than the third ageing "
        "period (over 90 days by default).")
    limit_usage = fields.Numeric(
        "Limit Usage (%)", digits=(16, 1), readonly=True,
        help="Balance against the credit limit.")
    returned_checks = fields.Integer("Checks Returned", readonly=True)
    last_returned_check_date = fields.Date(
        "Last Returned Check", readonly=True)
    protests = fields.Integer("Bills Protested", readonly=True)
    last_protest_date = fields.Date("Last Protest", readonly=True)
    risk_class = fields.Many2One(
        'customer.status.risk.class', "Risk Class", readonly=True)
    computed_risk_class = fields.Many2One(
        'customer.status.risk.class', "Computed Risk Class", readonly=True)
    risk_overridden = fields.Boolean("Risk Overridden", readonly=True)


class ClientValuesMixin:
    "Check the types of the values a client sends for a form"
    __slots__ = ()

    @classmethod
    def check_client_values(cls, values):
        "Check the types of the start values a client sent"
        if not isinstance(values, dict):
            values = {None: values}
        for name, value in values.items():
            field = cls._fields.get(name)
            if name != 'id' and (
                    field is None or not _valid_value(field, value)):
                raise StatusInputError(gettext(
                        'customer_status.msg_status_value_invalid',
                        field=name))


class CustomerStatusContext(ClientValuesMixin, ModelView):
    "Customer, period, companies and currency of the customer status"
    __name__ = 'customer.status.context'

    party = fields.Many2One(
        'party.party', "Customer",
        domain=[('customer_status_customer', '=', True)],
        help="Leave empty to list every customer of the companies.")
    from_date = fields.Date(
        "From Date", required=True,
        domain=[
            If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')),
                ()),
            ])
    to_date = fields.Date("To Date", required=True)
    companies = fields.Many2Many(
        'company.company', None, None, "Companies", required=True,
        help="The figures of these companies are added together.")
    second_currency = fields.Many2One(
        'currency.currency', "Second Currency",
        help="Also show the figures in this currency "
        "at the rate of the period's end date.")

    @classmethod
    def default_party(cls):
        return Transaction().context.get('party')

    @classmethod
    def default_to_date(cls):
        return Transaction().context.get('to_date') or (
            Pool().get('ir.date').today())

    @classmethod
    def default_from_date(cls):
        from_date = Transaction().context.get('from_date')
        if from_date:
            return from_date
        return cls.default_to_date() - relativedelta(years=1) + (
            dt.timedelta(days=1))

    @classmethod
    def default_companies(cls):
        company = Transaction().context.get('company')
        return [company] if company is not None else []

    @classmethod
    def default_second_currency(cls):
        return None

    @classmethod
    def get_context_values(cls):
        """Return the values of the context model from the transaction
        context (its defaults when the client did not send them)"""
        context = Transaction().context
        names = ['party', 'from_date', 'to_date', 'companies',
            'second_currency']
        if context.get('context_model') == cls.__name__:
            values = {n: context.get(n) for n in names}
        else:
            values = {n: getattr(cls, 'default_' + n)() for n in names}
        cls.check_client_values(values)
        if not values['companies']:
            # no company chosen (a new tab, before its form has its
            # defaults): the user's current company
            values['companies'] = cls.default_companies()
        return values


def _status_field(field):
    "Return field computed from the context of the status"
    field = copy.deepcopy(field)
    return fields.Function(field, 'get_status_values')


class CustomerStatus(ModelSQL, ModelView):
    """Credit position of each customer for the period of the context

    One row per customer (the party id); the figures are computed when read
    (get_figures), for the customer, period and companies of the context
    model customer.status.context."""
    __name__ = 'customer.status'

    party = fields.Many2One('party.party', "Customer", readonly=True)
    from_date = _status_field(fields.Date("From Date", readonly=True))
    to_date = _status_field(fields.Date("To Date", readonly=True))
    companies = _status_field(fields.Many2Many(
            'company.company', None, None, "Companies", readonly=True))

    for _name, _field in StatusMixin.__dict__.items():
        if isinstance(_field, fields.Field):
            locals()[_name] = _status_field(_field)
    for _name in MONETARY_FIGURES:
        locals()['second_' + _name] = _status_field(Monetary(
                "%s (Second Currency)" % StatusMixin.__dict__[_name].string,
                currency='second_currency', digits='second_currency',
                readonly=True,
                states={
                    'invisible': ~Eval('second_currency'),
                    }))
    del _name, _field

    # Each batch scans the receivable lines a few times (hash joins on the
    # parties), so large batches: 10,000 customers and 1.1M lines take 67 s
    # in one batch against 146 s in ten batches of 1000 (bench/README.md)
    _batch_size = 10000

    # the figures compare with the period before from_date, as long again:
    # dates out of this range would leave the calendar (year 1 to 9999)
    _date_range = (dt.date(1900, 1, 1), dt.date(2999, 12, 31))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('party', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        "One row per customer of the context (the party id as id)"
        pool = Pool()
        Party = pool.get('party.party')
        party, companies = cls.get_parameters()[:2]
        if party and companies:
            table = Party.__table__()
            return table.select(
                table.id.as_('id'), table.id.as_('party'),
                where=table.id == party.id)
        query = cls._customers_query([c.id for c in companies])
        return query.select(query.party.as_('id'), query.party.as_('party'))

    @classmethod
    def get_parameters(cls):
        """Return the customer, companies, from date, to date and second
        currency of the context, checked"""
        pool = Pool()
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        Party = pool.get('party.party')
        Context = pool.get('customer.status.context')
        values = Context.get_context_values()
        party = Party(values['party']) if values['party'] else None
        companies = Company.browse(values['companies'] or [])
        second_currency = (Currency(values['second_currency'])
            if values['second_currency'] else None)
        from_date, to_date = values['from_date'], values['to_date']
        if (not companies
                and Transaction().context.get('context_model')
                != Context.__name__):
            # no context form and no company: no customer
            return party, companies, from_date, to_date, second_currency
        cls.check_input(
            party, companies, from_date, to_date, second_currency,
            party_required=False)
        cls.check_period(from_date, to_date)
        cls.check_companies(companies)
        return party, companies, from_date, to_date, second_currency

    @classmethod
    def _customers_query(cls, company_ids):
        "Return the query of the parties with receivable lines in companies"
        pool = Pool()
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        MoveLine = pool.get('account.move.line')
        line = MoveLine.__table__()
        account = Account.__table__()
        type_ = AccountType.__table__()
        return (line
            .join(account, condition=line.account == account.id)
            .join(type_, condition=account.type == type_.id)
            .select(line.party.as_('party'),
                where=type_.receivable
                & (_in(account.company, company_ids) if company_ids
                    else Literal(False))
                & (line.party != Null),
                group_by=[line.party]))

    def get_rec_name(self, name):
        return self.party.rec_name if self.party else str(self.id)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name',) + tuple(clause[1:])]

    @classmethod
    def get_status_values(cls, statuses, names):
        "Return the figures of the statuses for the context"
        ids = [s.id for s in statuses]
        values = cls.get_values(ids, *cls.get_parameters()[1:])
        return {n: {i: values[i].get(n) for i in ids} for n in names}

    @classmethod
    def check_input(
            cls, party, companies, from_date, to_date, second_currency=None,
            party_required=True):
        "Check the values a client sent for a status"
        pool = Pool()
        if not party and party_required:
            raise StatusInputError(gettext(
                    'customer_status.msg_status_party_required'))
        if not companies:
            raise StatusInputError(gettext(
                    'customer_status.msg_status_companies_required'))
        start, end = cls._date_range
        for value in [from_date, to_date]:
            if (not isinstance(value, dt.date)
                    or isinstance(value, dt.datetime)
                    or not start <= value <= end):
                lang = pool.get('ir.lang').get()
                if isinstance(value, dt.date):
                    value = lang.strftime(value)
                raise StatusInputError(gettext(
                        'customer_status.msg_status_date_invalid',
                        date=value, start=lang.strftime(start),
                        end=lang.strftime(end)))
        for name, records in [
                ('party.party', [party] * bool(party)),
                ('company.company', companies),
                ('currency.currency', [second_currency] * bool(
                        second_currency))]:
            cls.check_records(pool.get(name), records)

    @classmethod
    def check_records(cls, Model, records):
        "Raise unless the user sees each of records of Model"
        ids = {r.id for r in records}
        if ids and len(Model.search([('id', 'in', list(ids))])) < len(ids):
            raise StatusInputError(gettext(
                    'customer_status.msg_status_record_missing',
                    model=Model.__names__()['model']))

    @classmethod
    def check_period(cls, from_date, to_date):
        if from_date and to_date and from_date > to_date:
            lang = Pool().get('ir.lang').get()
            raise PeriodError(gettext('customer_status.msg_period_invalid',
                    from_date=lang.strftime(from_date),
                    to_date=lang.strftime(to_date)))

    @classmethod
    def check_companies(cls, companies):
        pool = Pool()
        User = pool.get('res.user')
        user_id = Transaction().user
        if not user_id:
            return
        user = User(user_id)
        allowed = set(user.companies)
        for company in companies:
            if company not in allowed:
                raise CompanyAccessError(gettext(
                        'customer_status.msg_company_not_allowed',
                        company=company.rec_name))

    @classmethod
    def check_party(cls, party, company):
        with Transaction().set_context(company=company.id):
            if not party.account_receivable_used:
                raise NoReceivableAccountError(gettext(
                        'customer_status.msg_no_receivable_account',
                        party=party.rec_name))

    @classmethod
    def get_rate(cls, from_currency, to_currency, date):
        "Return the rate to convert from_currency into to_currency at date"
        pool = Pool()
        Currency = pool.get('currency.currency')
        if from_currency == to_currency:
            return Decimal(1)
        try:
            with Transaction().set_context(date=date):
                return Currency.compute(
                    from_currency, Decimal(1), to_currency, round=False)
        except RateError:
            lang = Pool().get('ir.lang').get()
            raise MissingRateError(gettext(
                    'customer_status.msg_missing_rate',
                    from_currency=from_currency.rec_name,
                    to_currency=to_currency.rec_name,
                    date=lang.strftime(date)))

    @classmethod
    def get_status(cls, party, companies, from_date, to_date,
            second_currency=None):
        "Return the values of the status of party, checking the input"
        cls.check_input(party, companies, from_date, to_date, second_currency)
        cls.check_period(from_date, to_date)
        cls.check_companies(companies)
        for company in companies:
            cls.check_party(party, company)
        return cls.get_values(
            [party.id], companies, from_date, to_date,
            second_currency)[party.id]

    @classmethod
    def get_values(cls, party_ids, companies, from_date, to_date,
            second_currency=None):
        """Return {party id: {field: value}} of the status of the parties
        (the figures and the period, companies and currencies)"""
        figures = cls.get_figures(party_ids, companies, from_date, to_date)
        rate = (cls.get_rate(companies[0].currency, second_currency, to_date)
            if second_currency else None)
        for party_id, values in figures.items():
            values.update({
                    'party': party_id,
                    'from_date': from_date,
                    'to_date': to_date,
                    'companies': [c.id for c in companies],
                    'currency': companies[0].currency.id,
                    })
            if second_currency:
                values['second_currency'] = second_currency.id
                for name in MONETARY_FIGURES:
                    if values.get(name) is not None:
                        values['second_' + name] = second_currency.round(
                            values[name] * rate)
        return figures

    @classmethod
    def get_figures(cls, party_ids, companies, from_date, to_date):
        """Return {party id: {figure: value}} for the parties

        The amounts of all the companies are converted into the currency of
        the first company at the rate of to_date."""
        currency = companies[0].currency
        factors = {
            c.id: cls.get_rate(c.currency, currency, to_date)
            for c in companies}
        figures = {}
        for sub_ids in grouped_slice(party_ids, cls._batch_size):
            sub_ids = list(sub_ids)
            raw = {i: cls._default_raw() for i in sub_ids}
            for method in cls._figure_methods():
                getattr(cls, method)(raw, sub_ids, factors, from_date, to_date)
            batch = {}
            for party_id, values in raw.items():
                batch[party_id] = cls._finish_figures(
                    values, currency, to_date)
            cls._set_risk(batch, companies[0])
            figures.update(batch)
        return figures

    @classmethod
    def _figure_methods(cls):
        "Return the names of the methods filling the raw figures"
        return [
            '_figures_lines', '_figures_highest_balance', '_figures_invoices',
            '_figures_credit_limits', '_figures_events',
            '_figures_exposure']

    @classmethod
    def _default_raw(cls):
        return {
            'balance': Decimal(0),
            'overdue': Decimal(0),
            'oldest_overdue_date': None,
            'longest_delay': None,
            'delay_weighted': Decimal(0),
            'delay_amount': Decimal(0),
            'highest_balance': None,
            'highest_balance_date': None,
            'largest_purchase': None,
            'largest_purchase_date': None,
            'largest_purchase_invoice': None,
            'first_purchase_date': None,
            'first_purchase_invoice': None,
            'last_purchase_date': None,
            'last_purchase_invoice': None,
            'revenue': Decimal(0),
            'previous_revenue': Decimal(0),
            'billed_through': None,
            'group_headquarter': None,
            'group_credit_limit': None,
            'group_exposure': None,
            'exposure_moves': Decimal(0),
            'exposure_sales': Decimal(0),
            'exposure_invoices': Decimal(0),
            **{n: Decimal(0) for n in AGEING_FIGURES},
            'credit_limit': None,
            'credit_limit_date': None,
            'credit_limit_expired': False,
            'secondary_credit_limit': None,
            'returned_checks': 0,
            'last_returned_check_date': None,
            'protests': 0,
            'last_protest_date': None,
            }

    @classmethod
    def _receivable_lines(cls, party_ids, company_ids, to_date):
        """Return the tables and the FROM clause and WHERE condition of the
        posted receivable lines of the parties up to to_date"""
        pool = Pool()
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        Reconciliation = pool.get('account.move.reconciliation')
        tables = {
            'line': MoveLine.__table__(),
            'move': Move.__table__(),
            'account': Account.__table__(),
            'type': AccountType.__table__(),
            'reconciliation': Reconciliation.__table__(),
            }
        line, move, account, type_, rec = (tables[k] for k in [
                'line', 'move', 'account', 'type', 'reconciliation'])
        from_ = (line
            .join(move, condition=line.move == move.id)
            .join(account, condition=line.account == account.id)
            .join(type_, condition=account.type == type_.id)
            .join(rec, 'LEFT', condition=line.reconciliation == rec.id))
        where = (type_.receivable
            & (move.state == 'posted')
            & (move.date <= to_date)
            & _in(line.party, party_ids)
            & _in(account.company, company_ids))
        return tables, from_, where

    @classmethod
    def _figures_lines(cls, raw, party_ids, factors, from_date, to_date):
        "Balance, overdue and delays from the receivable lines"
        cursor = Transaction().connection.cursor()
        tables, from_, where = cls._receivable_lines(
            party_ids, list(factors), to_date)
        line, move, account, rec = (
            tables[k] for k in ['line', 'move', 'account', 'reconciliation'])
        amount = line.debit - line.credit
        open_ = (line.reconciliation == Null) | (rec.date > to_date)
        overdue = open_ & (
            (Coalesce(line.maturity_date, move.date) < to_date)
            | line.id.in_(cls._applied_to_overdue_query(to_date)))
        dated = (line.debit > 0) & (line.maturity_date != Null)
        delay = days_between(
            Case((open_, to_date), else_=rec.date), line.maturity_date)
        delay = Case((delay > 0, delay), else_=0)
        in_period = dated & (line.maturity_date <= to_date) & (
            open_ | (rec.date >= from_date))
        settled = dated & ~open_ & (rec.date >= from_date)
        ageing = [
            Sum(amount, filter_=open_ & condition).as_(name)
            for name, condition in cls._ageing_conditions(
                days_between(Literal(to_date), Coalesce(
                        line.maturity_date, move.date)))]
        query = from_.select(
            line.party.as_('party'),
            account.company.as_('company'),
            Sum(amount).as_('balance'),
            Sum(amount, filter_=overdue).as_('overdue'),
            Min(line.maturity_date, filter_=overdue & dated).as_('oldest'),
            Max(delay, filter_=in_period).as_('longest'),
            Sum(delay * line.debit, filter_=settled).as_('weighted'),
            Sum(line.debit, filter_=settled).as_('weight'),
            *ageing,
            where=where,
            group_by=[line.party, account.company])
        _numeric(query, [
                None, None, 'NUMERIC', 'NUMERIC', 'DATE', 'NUMERIC',
                'NUMERIC', 'NUMERIC'] + ['NUMERIC'] * len(ageing))
        cursor.execute(*query)
        for row in cursor:
            (party, company, balance, overdue, oldest, longest, weighted,
                weight) = row[:8]
            values, factor = raw[party], factors[company]
            for name, value in zip(AGEING_FIGURES, row[8:]):
                values[name] += (value or 0) * factor
            values['balance'] += (balance or 0) * factor
            values['overdue'] += (overdue or 0) * factor
            values['delay_weighted'] += (weighted or 0) * factor
            values['delay_amount'] += (weight or 0) * factor
            oldest = _date(oldest)
            if oldest and (not values['oldest_overdue_date']
                    or oldest < values['oldest_overdue_date']):
                values['oldest_overdue_date'] = oldest
            if longest is not None:
                values['longest_delay'] = max(
                    values['longest_delay'] or 0, int(round(longest)))

    @classmethod
    def _ageing_conditions(cls, days):
        """Return (figure, SQL condition) of each ageing bucket on days, the
        number of days since the maturity: not due, the three periods of the
        configuration and older"""
        pool = Pool()
        Configuration = pool.get('account.configuration')
        first, second, third = Configuration.get_ageing_days()
        return list(zip(AGEING_FIGURES, [
                    days <= 0,
                    (days > 0) & (days <= first),
                    (days > first) & (days <= second),
                    (days > second) & (days <= third),
                    days > third,
                    ]))

    @classmethod
    def _applied_to_overdue_query(cls, to_date):
        """Return the query of the lines applied (payment lines) to an
        invoice with a receivable line due before to_date: a credit note or
        a payment reduces the overdue from its date, whatever its maturity"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoicePayment = pool.get('account.invoice-account.move.line')
        MoveLine = pool.get('account.move.line')
        payment = InvoicePayment.__table__()
        invoice = Invoice.__table__()
        line = MoveLine.__table__()
        return (payment
            .join(invoice, condition=payment.invoice == invoice.id)
            .join(line, condition=(line.move == invoice.move)
                & (line.account == invoice.account))
            .select(payment.line,
                where=line.maturity_date < to_date))

    @classmethod
    def _figures_highest_balance(
            cls, raw, party_ids, factors, from_date, to_date):
        "Highest running receivable balance and the first date it was reached"
        cursor = Transaction().connection.cursor()
        tables, from_, where = cls._receivable_lines(
            party_ids, list(factors), to_date)
        line, move, account = (
            tables[k] for k in ['line', 'move', 'account'])
        amount = line.debit - line.credit
        if any(f != 1 for f in factors.values()):
            amount *= Case(*((account.company == c, f)
                    for c, f in factors.items()))
        daily = from_.select(
            line.party.as_('party'), move.date.as_('date'),
            Sum(amount).as_('amount'),
            where=where, group_by=[line.party, move.date])
        running = daily.select(
            daily.party, daily.date,
            Sum(daily.amount, window=Window(
                    [daily.party], order_by=[daily.date.asc])).as_('balance'))
        ranked = running.select(
            running.party, running.date, running.balance,
            Max(running.balance, window=Window([running.party])
                ).as_('highest'))
        query = ranked.select(
            ranked.party.as_('party'),
            Max(ranked.balance).as_('balance'),
            Min(ranked.date).as_('date'),
            where=ranked.balance == ranked.highest,
            group_by=[ranked.party])
        _numeric(query, [None, 'NUMERIC', 'DATE'])
        cursor.execute(*query)
        for party, balance, date in cursor:
            raw[party]['highest_balance'] = balance
            raw[party]['highest_balance_date'] = _date(date)

    @classmethod
    def _invoice_amounts(cls, party_ids, company_ids, to_date):
        "Return the query of the receivable amount of each posted invoice"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        invoice = Invoice.__table__()
        line = MoveLine.__table__()
        return (invoice
            .join(line, condition=(line.move == invoice.move)
                & (line.account == invoice.account))
            .select(
                invoice.id.as_('invoice'),
                invoice.party.as_('party'),
                invoice.company.as_('company'),
                invoice.invoice_date.as_('date'),
                Sum(line.debit - line.credit).as_('amount'),
                where=(invoice.type == 'out')
                & invoice.state.in_(['posted', 'paid'])
                & _in(invoice.party, party_ids)
                & _in(invoice.company, company_ids)
                & (invoice.invoice_date <= to_date),
                group_by=[invoice.id, invoice.party, invoice.company,
                    invoice.invoice_date]))

    @classmethod
    def _figures_invoices(cls, raw, party_ids, factors, from_date, to_date):
        "Revenue, largest, first and last purchases from posted invoices"
        cursor = Transaction().connection.cursor()
        inv = cls._invoice_amounts(party_ids, list(factors), to_date)
        length = to_date - from_date + dt.timedelta(days=1)
        previous = from_date - length
        query = inv.select(
            inv.party, inv.company,
            Sum(inv.amount, filter_=inv.date >= from_date),
            Sum(inv.amount,
                filter_=(inv.date >= previous) & (inv.date < from_date)),
            group_by=[inv.party, inv.company])
        cursor.execute(*query)
        for party, company, revenue, previous_revenue in cursor:
            factor = factors[company]
            raw[party]['revenue'] += Decimal(revenue or 0) * factor
            raw[party]['previous_revenue'] += (
                Decimal(previous_revenue or 0) * factor)

        purchase = inv.amount > 0
        partition = [inv.party, inv.company]
        period = purchase & (inv.date >= from_date)
        ranked = inv.select(
            inv.invoice, inv.party, inv.company, inv.date, inv.amount,
            RowNumber(window=Window(partition, order_by=[
                        inv.date.asc, inv.invoice.asc])).as_('first'),
            RowNumber(window=Window(partition, order_by=[
                        inv.date.desc, inv.invoice.desc])).as_('last'),
            RowNumber(window=Window(partition + [
                        Case((period, 1), else_=0)], order_by=[
                        inv.amount.desc, inv.date.asc, inv.invoice.asc])
                ).as_('largest'),
            where=purchase)
        query = ranked.select(
            ranked.invoice.as_('invoice'), ranked.party.as_('party'),
            ranked.company.as_('company'), ranked.date.as_('date'),
            ranked.amount.as_('amount'), ranked.first.as_('first'),
            ranked.last.as_('last'), ranked.largest.as_('largest'),
            where=(ranked.first == 1) | (ranked.last == 1)
            | ((ranked.largest == 1) & (ranked.date >= from_date)))
        _numeric(query, [None, None, None, 'DATE', 'NUMERIC'])
        cursor.execute(*query)
        for invoice, party, company, date, amount, first, last, largest in (
                cursor):
            values, date = raw[party], _date(date)
            if first == 1 and (not values['first_purchase_date']
                    or date < values['first_purchase_date']):
                values['first_purchase_date'] = date
                values['first_purchase_invoice'] = invoice
            if last == 1 and (not values['last_purchase_date']
                    or date > values['last_purchase_date']):
                values['last_purchase_date'] = date
                values['last_purchase_invoice'] = invoice
            amount = amount * factors[company]
            if (largest == 1 and date >= from_date
                    and (values['largest_purchase'] is None
                        or amount > values['largest_purchase'])):
                values['largest_purchase'] = amount
                values['largest_purchase_date'] = date
                values['largest_purchase_invoice'] = invoice

    @classmethod
    def _figures_credit_limits(
            cls, raw, party_ids, factors, from_date, to_date):
        "Credit limits of the parties, an expired limit counting as zero"
        pool = Pool()
        Limit = pool.get('party.party.credit_limit_amount')
        cursor = Transaction().connection.cursor()
        limit = Limit.__table__()
        query = limit.select(
            limit.party, limit.company, limit.credit_limit_amount,
            limit.credit_limit_date, limit.secondary_credit_limit_amount,
            where=_in(limit.party, party_ids)
            & _in(limit.company, list(factors)))
        cursor.execute(*query)
        for party, company, amount, date, secondary in cursor:
            values, factor, date = raw[party], factors[company], _date(date)
            expired = bool(date and date < to_date)
            if date and (not values['credit_limit_date']
                    or date < values['credit_limit_date']):
                values['credit_limit_date'] = date
            values['credit_limit_expired'] |= expired
            for name, value in [
                    ('credit_limit', amount),
                    ('secondary_credit_limit', secondary)]:
                if value is None:
                    continue
                value = Decimal(0) if expired else Decimal(value) * factor
                values[name] = (values[name] or Decimal(0)) + value

    @classmethod
    def _figures_events(cls, raw, party_ids, factors, from_date, to_date):
        "Returned checks and protests"
        pool = Pool()
        ReturnedCheck = pool.get('customer.returned_check')
        Protest = pool.get('customer.protest')
        cursor = Transaction().connection.cursor()
        for Model, count, last, extra in [
                (ReturnedCheck, 'returned_checks',
                    'last_returned_check_date', None),
                (Protest, 'protests', 'last_protest_date',
                    'withdrawal_date'),
                ]:
            table = Model.__table__()
            where = (_in(table.party, party_ids)
                & _in(table.company, list(factors))
                & (table.date <= to_date))
            if extra:
                where &= ((table.withdrawal_date == Null)
                    | (table.withdrawal_date > to_date))
            query = table.select(
                table.party.as_('party'),
                Count(table.id, filter_=table.date >= from_date
                    ).as_('count'),
                Max(table.date).as_('date'),
                where=where, group_by=[table.party])
            _numeric(query, [None, None, 'DATE'])
            cursor.execute(*query)
            for party, number, date in cursor:
                raw[party][count] = number
                raw[party][last] = _date(date)

    @classmethod
    def _finish_figures(cls, values, currency, to_date):
        "Round the amounts and derive the ratios"
        round_ = currency.round
        for name in ['balance', 'overdue', 'highest_balance',
                'largest_purchase', 'revenue', 'previous_revenue',
                'credit_limit', 'secondary_credit_limit', 'billed_through',
                'exposure_moves', 'exposure_sales', 'exposure_invoices',
                'group_credit_limit', 'group_exposure'] + AGEING_FIGURES:
            if values.get(name) is not None:
                values[name] = round_(Decimal(values[name]))
        weight = values.pop('delay_amount')
        weighted = values.pop('delay_weighted')
        values['average_delay'] = (
            (Decimal(weighted) / Decimal(weight)).quantize(Decimal('0.1'))
            if weight else None)
        balance = values['balance']
        for name in ['credit_limit', 'secondary_credit_limit']:
            if values[name] is not None:
                values[name + '_available'] = values[name] - balance
            else:
                values[name + '_available'] = None
        values['exposure'] = cls._exposure(values)
        values['exposure_available'] = (
            values['credit_limit'] - values['exposure']
            if values['credit_limit'] is not None else None)
        values['group_exposure_available'] = (
            values['group_credit_limit'] - values['group_exposure']
            if values['group_credit_limit'] is not None else None)
        # never more than what is owed
        values['overdue'] = max(
            min(values['overdue'], balance), Decimal(0))
        values['overdue_ratio'] = cls._percent(values['overdue'], balance)
        values['limit_usage'] = cls._percent(balance, values['credit_limit'])
        previous = values['previous_revenue']
        values['trend'] = (
            cls._percent(values['revenue'] - previous, abs(previous))
            if previous else None)
        return values

    @staticmethod
    def _exposure(values):
        "Return the exposure of the figures (the credit amount checked)"
        return (values['balance'] + values['exposure_moves']
            + values['exposure_sales'] + values['exposure_invoices'])

    @classmethod
    def get_exposures(cls, party_ids, company, date):
        """Return {party id: exposure} in company at date: the credit amount
        that the credit limit checks"""
        values = cls._exposure_values(
            party_ids, {company.id: Decimal(1)}, date)
        return {i: company.currency.round(v) for i, v in values.items()}

    @classmethod
    def _exposure_values(cls, party_ids, factors, date):
        "Return {party id: exposure} (not rounded) of the companies"
        result = {}
        for sub_ids in grouped_slice(party_ids, cls._batch_size):
            sub_ids = list(sub_ids)
            raw = {i: cls._default_raw() for i in sub_ids}
            for method in ['_figures_lines', '_figures_exposure']:
                getattr(cls, method)(raw, sub_ids, factors, date, date)
            for party_id, values in raw.items():
                result[party_id] = cls._exposure(values)
        return result

    @classmethod
    def _figures_exposure(cls, raw, party_ids, factors, from_date, to_date):
        """Moves not posted, sales not invoiced and invoices not posted
        (untaxed), converted from their currency at to_date"""
        cursor = Transaction().connection.cursor()
        company_ids = list(factors)
        rates = {}
        for name, query in [
                ('exposure_moves',
                    cls._moves_not_posted_query(party_ids, company_ids)),
                ('exposure_sales',
                    cls._sales_not_invoiced_query(party_ids, company_ids)),
                ('exposure_invoices',
                    cls._invoices_not_posted_query(party_ids, company_ids)),
                ]:
            _numeric(query, [None, None, None, 'NUMERIC'])
            cursor.execute(*query)
            for party, company, currency, amount in cursor:
                key = (currency, company)
                if key not in rates:
                    rates[key] = cls._exposure_rate(currency, company, to_date)
                raw[party][name] += (
                    Decimal(amount or 0) * rates[key] * factors[company])

    @classmethod
    def _exposure_rate(cls, currency_id, company_id, date):
        "Return the rate from currency into the company's currency"
        pool = Pool()
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        return cls.get_rate(
            Currency(currency_id), Company(company_id).currency, date)

    @classmethod
    def _moves_not_posted_query(cls, party_ids, company_ids):
        """Return the query of the receivable amount of the moves not posted
        (counted by stock's credit amount too), in the company currency"""
        pool = Pool()
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        Company = pool.get('company.company')
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        line = MoveLine.__table__()
        move = Move.__table__()
        account = Account.__table__()
        type_ = AccountType.__table__()
        company = Company.__table__()
        return (line
            .join(move, condition=line.move == move.id)
            .join(account, condition=line.account == account.id)
            .join(type_, condition=account.type == type_.id)
            .join(company, condition=account.company == company.id)
            .select(
                line.party.as_('party'), account.company.as_('company'),
                company.currency.as_('currency'),
                Sum(line.debit - line.credit).as_('amount'),
                where=type_.receivable & (move.state != 'posted')
                & _in(line.party, party_ids)
                & _in(account.company, company_ids),
                group_by=[line.party, account.company, company.currency]))

    @classmethod
    def _sales_not_invoiced_query(cls, party_ids, company_ids):
        """Return the query of the untaxed amount not invoiced by a posted
        invoice of the confirmed and processing sales, by invoice party"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        SaleLine = pool.get('sale.line')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        sale = Sale.__table__()
        sale_line = SaleLine.__table__()
        invoice = Invoice.__table__()
        invoice_line = InvoiceLine.__table__()
        invoiced = (invoice_line
            .join(invoice, condition=invoice_line.invoice == invoice.id)
            .select(
                invoice_line.origin.as_('origin'),
                Sum(invoice_line.quantity).as_('quantity'),
                where=(invoice.move != Null)
                & Like(invoice_line.origin, 'sale.line,%')
                & (invoice_line.type == 'line'),
                group_by=[invoice_line.origin]))
        party = Coalesce(sale.invoice_party, sale.party)
        remaining = sale_line.quantity - Coalesce(invoiced.quantity, 0)
        return (sale_line
            .join(sale, condition=sale_line.sale == sale.id)
            .join(invoiced, 'LEFT', condition=invoiced.origin == Concat(
                    'sale.line,', sale_line.id))
            .select(
                party.as_('party'), sale.company.as_('company'),
                sale.currency.as_('currency'),
                Sum(remaining * sale_line.unit_price,
                    filter_=remaining > 0).as_('amount'),
                where=sale.state.in_(['confirmed', 'processing'])
                & (sale_line.type == 'line') & (sale_line.quantity > 0)
                & _in(party, party_ids) & _in(sale.company, company_ids),
                group_by=[party, sale.company, sale.currency]))

    @classmethod
    def _invoices_not_posted_query(cls, party_ids, company_ids):
        """Return the query of the untaxed amount of the draft and validated
        customer invoices, without the lines of a sale (counted as sales)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        invoice = Invoice.__table__()
        line = InvoiceLine.__table__()
        return (line
            .join(invoice, condition=line.invoice == invoice.id)
            .select(
                invoice.party.as_('party'), invoice.company.as_('company'),
                invoice.currency.as_('currency'),
                Sum(line.quantity * line.unit_price).as_('amount'),
                where=(invoice.type == 'out')
                & invoice.state.in_(['draft', 'validated'])
                & (line.type == 'line')
                & ((line.origin == Null)
                    | ~Like(line.origin, 'sale.line,%'))
                & _in(invoice.party, party_ids)
                & _in(invoice.company, company_ids),
                group_by=[invoice.party, invoice.company, invoice.currency]))

    @staticmethod
    def _percent(numerator, denominator):
        if not denominator or denominator <= 0:
            return None
        return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(
            Decimal('0.1'))

    @classmethod
    def _set_risk(cls, figures, company):
        "Set the computed and effective risk class of each figure set"
        pool = Pool()
        Rule = pool.get('customer.status.risk.rule')
        Override = pool.get('customer.status.risk.override')
        overrides = Override.get_overrides(list(figures), company)
        rules, default = Rule.get_rules(), Rule.get_default_class()
        for party_id, values in figures.items():
            computed = Rule.classify(rules, values, default)
            values['computed_risk_class'] = computed
            override = overrides.get(party_id)
            values['risk_overridden'] = override is not None
            values['risk_class'] = (
                override if override is not None else computed)

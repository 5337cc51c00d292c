# This file is part of the customer_status module.
import datetime as dt

from dateutil.relativedelta import relativedelta
from sql.aggregate import Max

from trytond.i18n import gettext, ngettext
from trytond.model import ModelSQL, ModelView, Unique, dualmethod, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import StatusInputError
from .status import AGEING_FIGURES, ClientValuesMixin, StatusMixin

SNAPSHOT_FIGURES = [
    'credit_limit', 'credit_limit_date', 'credit_limit_expired',
    'credit_limit_available', 'secondary_credit_limit',
    'secondary_credit_limit_available', 'balance', 'overdue',
    'oldest_overdue_date', 'largest_purchase', 'largest_purchase_date',
    'largest_purchase_invoice', 'highest_balance', 'highest_balance_date',
    'first_purchase_date', 'first_purchase_invoice', 'last_purchase_date',
    'last_purchase_invoice', 'longest_delay', 'average_delay', 'revenue',
    'previous_revenue', 'billed_through', 'exposure_moves', 'exposure_sales',
    'exposure_invoices', 'exposure', 'exposure_available',
    'group_headquarter', 'group_credit_limit', 'group_exposure',
    'group_exposure_available', 'trend',
    'overdue_ratio',
    'limit_usage',
    'returned_checks', 'last_returned_check_date', 'protests',
    'last_protest_date', 'risk_class', 'computed_risk_class',
    'risk_overridden',
    ] + AGEING_FIGURES


class Snapshot(StatusMixin, ModelSQL, ModelView):
    "Figures of a customer kept for the cockpit"
    __name__ = 'customer.status.snapshot'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True,
        ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    salesperson = fields.Many2One(
        'company.employee', "Salesperson", readonly=True)
    from_date = fields.Date("From Date", readonly=True)
    to_date = fields.Date("To Date", readonly=True)
    computed_at = fields.Timestamp("Computed At", readonly=True)
    age = fields.Function(fields.TimeDelta("Age"), 'get_age')

    _batch_size = 10000  # as customer.status
    _write_size = 1000

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('company_party_unique', Unique(t, t.company, t.party),
                'customer_status.msg_snapshot_unique'),
            ]
        cls._order = [('balance', 'DESC NULLS LAST'), ('id', 'ASC')]
        # the party's multivalues (its limits) are those of the company
        cls.group_headquarter.context = {'company': Eval('company', -1)}
        cls.group_headquarter.depends = (
            set(cls.group_headquarter.depends) | {'company'})

    def get_age(self, name):
        "The time since the computation, in whole seconds (as read)"
        if self.computed_at:
            age = dt.datetime.now() - self.computed_at
            return dt.timedelta(seconds=int(age.total_seconds()))

    @classmethod
    def _period(cls, company, date=None):
        "Return the rolling year ending at date (today) of the snapshots"
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            with Transaction().set_context(company=company.id):
                date = Date.today()
        return date - relativedelta(years=1) + dt.timedelta(days=1), date

    @classmethod
    def refresh(cls, parties=None, companies=None, date=None):
        """Recompute the snapshots of parties (all customers if None) for the
        year ending at date (today if None); return how many were computed"""
        pool = Pool()
        Company = pool.get('company.company')
        # Two refreshes of the same customer at once (queue tasks of two
        # workers, the cron) would both create its snapshot: the table lock
        # is taken when the transaction starts (Tryton restarts it), so the
        # second refresh waits, retries and sees the first one's snapshots
        cls.lock()
        if companies is None:
            companies = Company.search([])
        count = 0
        for company in companies:
            party_ids = ([p.id for p in parties] if parties is not None
                else cls._customer_ids(company))
            for sub_ids in grouped_slice(party_ids, cls._batch_size):
                cls._refresh(list(sub_ids), Company(int(company)), date)
            count += len(party_ids)
        return count

    @classmethod
    def refresh_all(cls):
        "Recompute every snapshot (cron)"
        cls.refresh()

    @classmethod
    def _customer_ids(cls, company):
        "Return the ids of the parties with receivable lines in company"
        Status = Pool().get('customer.status')
        cursor = Transaction().connection.cursor()
        cursor.execute(*Status._customers_query([company.id]))
        return [p for p, in cursor]

    @classmethod
    def _refresh(cls, party_ids, company, date=None):
        pool = Pool()
        Status = pool.get('customer.status')
        Party = pool.get('party.party')
        History = pool.get('customer.status.risk.history')
        from_date, to_date = cls._period(company, date)
        figures = Status.get_figures(party_ids, [company], from_date, to_date)
        now = dt.datetime.now()
        # The records are written by chunks: trytond checks the whole list
        # of ids for each record it instantiates, so browsing, creating or
        # deleting 10,000 records at once is quadratic
        for sub_ids in grouped_slice(party_ids, cls._write_size):
            sub_ids = list(sub_ids)
            old = cls.search([
                    ('company', '=', company.id),
                    ('party', 'in', sub_ids),
                    ])
            previous = {s.party.id: s.risk_class for s in old}
            salespersons = {
                p.id: p.salesperson for p in Party.browse(sub_ids)}
            cls.delete(old)
            to_create, history = [], []
            for party_id in sub_ids:
                values = {k: figures[party_id][k] for k in SNAPSHOT_FIGURES}
                values.update({
                        'company': company.id,
                        'party': party_id,
                        'from_date': from_date,
                        'to_date': to_date,
                        'computed_at': now,
                        'currency': company.currency.id,
                        'salesperson': (
                            salespersons[party_id].id
                            if salespersons[party_id] else None),
                        })
                to_create.append(values)
                old_class = previous.get(party_id)
                old_id = old_class.id if old_class else None
                if values['risk_class'] != old_id:
                    history.append({
                            'company': company.id,
                            'party': party_id,
                            'risk_class': values['risk_class'],
                            'previous_class': old_id,
                            'kind': 'computed',
                            })
            cls.create(to_create)
            if history:
                History.create(history)

    @classmethod
    def last_refresh(cls):
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cursor.execute(*table.select(Max(table.computed_at)))
        return cursor.fetchone()[0]


class Recalculate(Wizard):
    __name__ = 'customer.status.recalculate'

    start = StateView(
        'customer.status.recalculate.start',
        'customer_status.recalculate_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Recalculate", 'recalculate', 'tryton-ok', default=True),
            ])
    recalculate = StateTransition()
    done = StateView(
        'customer.status.recalculate.done',
        'customer_status.recalculate_done_view_form', [
            Button("OK", 'end', 'tryton-ok', default=True),
            ])

    @classmethod
    def execute(cls, session_id, data, state_name):
        Start = Pool().get('customer.status.recalculate.start')
        if isinstance(data, dict) and state_name != cls.end_state:
            Start.check_client_values(data.get('start', {}))
        return super().execute(session_id, data, state_name)

    def default_start(self, fields):
        context = Transaction().context
        values = {'all_customers': True}
        if context.get('active_model') == 'party.party':
            values['parties'] = list(context.get('active_ids') or [])
            values['all_customers'] = not values['parties']
        company = context.get('company')
        values['companies'] = [company] if company else []
        return values

    def transition_recalculate(self):
        pool = Pool()
        Snapshot = pool.get('customer.status.snapshot')
        Status = pool.get('customer.status')
        companies = list(self.start.companies or [])
        parties = None if self.start.all_customers else list(
            self.start.parties or [])
        if not companies:
            raise StatusInputError(gettext(
                    'customer_status.msg_recalculate_companies_required'))
        if parties is not None and not parties:
            raise StatusInputError(gettext(
                    'customer_status.msg_recalculate_parties_required'))
        Status.check_records(pool.get('company.company'), companies)
        Status.check_records(pool.get('party.party'), parties or [])
        Status.check_companies(companies)
        with without_check_access():
            count = Snapshot.refresh(parties, companies=companies)
        self.done.message = ngettext(
            'customer_status.msg_recalculate_done', count, count=count,
            companies=', '.join(c.rec_name for c in companies))
        return 'done'

    def default_done(self, fields):
        return {'message': self.done.message}


class RecalculateStart(ClientValuesMixin, ModelView):
    __name__ = 'customer.status.recalculate.start'

    all_customers = fields.Boolean("All Customers")
    parties = fields.Many2Many(
        'party.party', None, None, "Customers",
        states={
            'invisible': Bool(Eval('all_customers')),
            'required': ~Eval('all_customers', False),
            })
    companies = fields.Many2Many(
        'company.company', None, None, "Companies", required=True)


class RecalculateDone(ModelView):
    __name__ = 'customer.status.recalculate.done'

    message = fields.Text("Result", readonly=True)


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('customer.status.snapshot|refresh_all',
                "Refresh Customer Status Snapshots"))


class Move(metaclass=PoolMeta):
    __name__ = 'account.move'

    @dualmethod
    @ModelView.button
    def post(cls, moves):
        super().post(moves)
        _queue_refresh(
            {l.party for m in moves for l in m.lines if l.party},
            {m.company for m in moves})


class Reconciliation(metaclass=PoolMeta):
    __name__ = 'account.move.reconciliation'

    @classmethod
    def on_modification(cls, mode, reconciliations, field_names=None):
        super().on_modification(
            mode, reconciliations, field_names=field_names)
        if mode in {'create', 'delete'}:
            _queue_refresh(
                {l.party for r in reconciliations for l in r.lines
                    if l.party},
                {r.company for r in reconciliations})


class MoveLine(metaclass=PoolMeta):
    __name__ = 'account.move.line'

    @classmethod
    def on_modification(cls, mode, lines, field_names=None):
        super().on_modification(mode, lines, field_names=field_names)
        # a new due date of a posted line changes the overdue figures
        if mode == 'write' and 'maturity_date' in (field_names or ()):
            posted = [l for l in lines
                if l.party and l.move.state == 'posted']
            _queue_refresh(
                {l.party for l in posted}, {l.move.company for l in posted})


def _queue_refresh(parties, companies=None):
    """Refresh through the queue the snapshots of the parties in companies
    (all if None)"""
    pool = Pool()
    Party = pool.get('party.party')
    if parties and not Transaction().context.get('customer_status_no_queue'):
        Party.__queue__.customer_status_refresh(
            list(parties),
            [c.id for c in companies] if companies is not None else None)


def _queue_refresh_snapshots():
    "Refresh through the queue every snapshot (the risk rules changed)"
    pool = Pool()
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    Snapshot = pool.get('customer.status.snapshot')
    cursor = Transaction().connection.cursor()
    table = Snapshot.__table__()
    cursor.execute(*table.select(
            table.company, table.party,
            order_by=[table.company, table.party]))
    by_company = {}
    for company, party in cursor:
        by_company.setdefault(company, []).append(party)
    for company, party_ids in by_company.items():
        _queue_refresh(Party.browse(party_ids), [Company(company)])

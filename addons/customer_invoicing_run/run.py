# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from itertools import groupby

from sql import Column, Conflict, Literal, Null
from sql.aggregate import Count, Max, Sum
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp
from sql.operators import Concat

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    ChatMixin, Check, Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.modules.customer_billing.exceptions import EDocumentError
from trytond.modules.customer_billing.upgrade import post_text_column
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, TransactionError

from .exceptions import (
    ItemAccessError, ItemError, ManualItemAccessError, RunAccessError,
    RunError)
from .invoice import batch_taxes

logger = logging.getLogger(__name__)

STATES_DRAFT = {'readonly': Eval('state') != 'draft'}


def _transient_errors():
    "Errors after which the queue task must be retried as a whole"
    return (backend.DatabaseOperationalError, TransactionError)


def _database_errors():
    return (
        backend.DatabaseOperationalError, backend.DatabaseIntegrityError,
        backend.DatabaseTimeoutError)


class Run(Workflow, ModelSQL, ModelView, ChatMixin):
    "Customer Invoicing Run"
    __name__ = 'customer.invoicing.run'
    _rec_name = 'reference'

    reference = fields.Char("Reference", states=STATES_DRAFT)
    company = fields.Many2One(
        'company.company', "Company", required=True, states=STATES_DRAFT)
    cutoff_date = fields.Date(
        "Cutoff Date", required=True, states=STATES_DRAFT,
        help="Only items dated on or before this date are billed.")
    invoice_date = fields.Date(
        "Invoice Date", required=True, states=STATES_DRAFT)
    parties = fields.Many2Many(
        'customer.invoicing.run-party.party', 'run', 'party', "Customers",
        states=STATES_DRAFT,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="Limit the run to these customers or headquarters "
        "(a headquarter includes its branches).")
    profiles = fields.Many2Many(
        'customer.invoicing.run-customer.billing.profile', 'run', 'profile',
        "Billing Profiles", states=STATES_DRAFT,
        domain=[('company', '=', Eval('company', -1))])
    cycle = fields.Selection([
            (None, ""),
            ('immediate', "Immediate"),
            ('weekly', "Weekly"),
            ('monthly', "Monthly"),
            ], "Billing Cycle", states=STATES_DRAFT)
    sources = fields.MultiSelection(
        'get_sources', "Sources", states=STATES_DRAFT)
    post_invoices = fields.Boolean("Post Invoices", states=STATES_DRAFT)
    send_invoices = fields.Boolean(
        "Send Invoices", states=STATES_DRAFT,
        help="Print, email or store UBL per billing profile channel.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('running', "Running"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    items = fields.One2Many(
        'customer.invoicing.run.item', 'run', "Items", readonly=True)
    previews = fields.One2Many(
        'customer.invoicing.run.preview', 'run', "Preview", readonly=True)
    invoices = fields.One2Many(
        'account.invoice', 'invoicing_run', "Invoices", readonly=True)
    items_total = fields.Function(
        fields.Integer("Items"), 'get_progress')
    items_done = fields.Function(
        fields.Integer("Items Billed"), 'get_progress')
    items_failed = fields.Function(
        fields.Integer("Items Failed"), 'get_progress')
    items_pending = fields.Function(
        fields.Integer("Items Pending"), 'get_progress')
    progress = fields.Function(
        fields.Float("Progress", digits=(1, 4)), 'get_progress')
    invoice_count = fields.Function(
        fields.Integer("Invoices"), 'get_progress')
    start_time = fields.Timestamp("Start Time", readonly=True)
    end_time = fields.Timestamp("End Time", readonly=True)
    duration = fields.Function(
        fields.TimeDelta("Duration"), 'get_duration')
    totals = fields.Function(fields.Text("Totals"), 'get_totals')
    history = fields.Function(fields.Many2Many(
            'ir.model.log', None, None, "State History",
            help="The state transitions of the run."),
        'get_history')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality(cardinality='low')),
                where=t.state == 'running'))
        cls._order = [('invoice_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'running'),
            ('running', 'done'),
            ('done', 'running'),
            ('draft', 'cancelled'),
            ('running', 'cancelled'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'simulate': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'run': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'resume': {
                    'invisible': Eval('state') != 'running',
                    'depends': ['state'],
                    },
                'retry_failed': {
                    'invisible': (~Eval('state').in_(['running', 'done'])
                        | ~Eval('items_failed')),
                    'depends': ['state', 'items_failed'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'running']),
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # the text log of the runs made before the chat
        post_text_column(cls, module, 'run_log')

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_sources(cls):
        return [s for s, _ in cls.get_sources()]

    @classmethod
    def default_cutoff_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_invoice_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_post_invoices(cls):
        return False

    @classmethod
    def default_send_invoices(cls):
        return False

    @classmethod
    def get_sources(cls):
        "Return the selection of billable sources"
        return [('manual', "Manual Items")]

    @classmethod
    def _get_source_models(cls):
        "Return a dictionary of source key to source model name"
        return {'manual': 'customer.invoicing.manual_item'}

    @classmethod
    def _batch_size(cls):
        "Return the number of items processed by one queue task"
        return Transaction().context.get('invoicing_run_batch_size', 500)

    # Progress and log

    def get_rec_name(self, name):
        return self.reference or '#%s' % self.id

    @classmethod
    def get_progress(cls, runs, names):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        Invoice = pool.get('account.invoice')
        item = Item.__table__()
        invoice = Invoice.__table__()
        cursor = Transaction().connection.cursor()
        counts = defaultdict(lambda: defaultdict(int))
        invoices = defaultdict(int)
        for sub_ids in grouped_slice(list(map(int, runs)), 1000):
            sub_ids = list(sub_ids)
            cursor.execute(*item.select(
                    item.run, item.state, Count(item.id),
                    where=fields.SQL_OPERATORS['in'](item.run, sub_ids),
                    group_by=[item.run, item.state]))
            for run_id, state, count in cursor:
                counts[run_id][state] += count
            cursor.execute(*invoice.select(
                    invoice.invoicing_run, Count(invoice.id),
                    where=fields.SQL_OPERATORS['in'](
                        invoice.invoicing_run, sub_ids),
                    group_by=[invoice.invoicing_run]))
            invoices.update(cursor)
        result = {n: {} for n in names}
        for run in runs:
            c = counts[run.id]
            total = sum(v for k, v in c.items() if k != 'cancelled')
            finished = total - c['pending']
            values = {
                'items_total': total,
                'items_done': c['done'],
                'items_failed': c['failed'],
                'items_pending': c['pending'],
                'progress': (finished / total) if total else 0.,
                'invoice_count': invoices.get(run.id, 0),
                }
            for name in names:
                result[name][run.id] = values[name]
        return result

    def get_duration(self, name):
        "The time the run took (or takes so far), in whole seconds"
        if self.start_time:
            duration = (self.end_time or dt.datetime.now()) - self.start_time
            return dt.timedelta(seconds=int(duration.total_seconds()))

    def get_totals(self, name):
        "The totals per currency, the amounts formatted by the language"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        totals = defaultdict(lambda: [Decimal(0)] * 3)
        invoices = Invoice.search([('invoicing_run', '=', self.id)])
        for sub_invoices in grouped_slice(invoices, 1000):
            sub_invoices = Invoice.browse(list(sub_invoices))
            for invoice in sub_invoices:
                values = totals[invoice.currency]
                values[0] += invoice.untaxed_amount
                values[1] += invoice.tax_amount
                values[2] += invoice.total_amount
        lines = []
        for currency, (untaxed, tax, total) in sorted(
                totals.items(), key=lambda t: t[0].code):
            amounts = [lang.currency(a, currency, symbol=False, grouping=True)
                for a in [untaxed, tax, total]]
            lines.append('%s: %s + %s = %s' % (currency.code, *amounts))
        return '\n'.join(lines)

    @classmethod
    def get_history(cls, runs, name):
        pool = Pool()
        Log = pool.get('ir.model.log')
        history = {r.id: [] for r in runs}
        for sub_runs in grouped_slice(runs, 1000):
            for log in Log.search([
                        ('resource', 'in', [str(r) for r in sub_runs]),
                        ('event', '=', 'transition'),
                        ], order=[('create_date', 'ASC'), ('id', 'ASC')]):
                history[log.resource.id].append(log.id)
        return history

    def _log(self, msg_id, n=None, **values):
        """Post the message msg_id with values on the chat of the run (n
        chooses its plural form), the channel named in the chat's language"""
        pool = Pool()
        Profile = pool.get('customer.billing.profile')
        if 'channel' in values:
            with Transaction().set_context(language=self.chat_language()):
                channels = dict(Profile.fields_get(
                        ['channel'])['channel']['selection'])
            values['channel'] = channels.get(
                values['channel'], values['channel'])
        self.chat_post(msg_id, n=n, **values)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete':
            for run in records:
                if run.state not in {'draft', 'cancelled'}:
                    raise RunAccessError(gettext(
                            'customer_invoicing_run.msg_run_delete_not_draft',
                            run=run.rec_name))
            for sub_runs in grouped_slice(records, 1000):
                billed = Item.search([
                        ('run', 'in', [r.id for r in sub_runs]),
                        ('state', '=', 'done'),
                        ], limit=1)
                if billed:
                    raise RunAccessError(gettext(
                            'customer_invoicing_run.msg_run_delete_billed',
                            run=billed[0].run.rec_name))

    @classmethod
    def copy(cls, runs, default=None):
        default = default.copy() if default is not None else {}
        for name in ['items', 'previews', 'invoices', 'start_time',
                'end_time']:
            default.setdefault(name, None)
        return super().copy(runs, default=default)

    # Checks

    def check_run(self):
        "Raise a RunError if the run cannot be simulated or started"
        pool = Pool()
        User = pool.get('res.user')
        if not self.sources:
            raise RunError(gettext(
                    'customer_invoicing_run.msg_run_no_source',
                    run=self.rec_name))
        if self.cutoff_date > self.invoice_date:
            lang = pool.get('ir.lang').get()
            raise RunError(gettext(
                    'customer_invoicing_run.msg_run_cutoff_after_invoice_date',
                    run=self.rec_name,
                    cutoff_date=lang.strftime(self.cutoff_date),
                    invoice_date=lang.strftime(self.invoice_date)))
        user_id = Transaction().user
        if user_id and self.company.id not in User.get_companies():
            raise RunError(gettext(
                    'customer_invoicing_run.msg_run_company_not_allowed',
                    run=self.rec_name, company=self.company.rec_name))

    # Collecting billable sources

    def _selection_where(self, party_column, account_column):
        "Return the SQL condition of the run's customer selection"
        pool = Pool()
        Party = pool.get('party.party')
        Account = pool.get('customer.account')
        Profile = pool.get('customer.billing.profile')
        where = Literal(True)
        if self.parties:
            party = Party.__table__()
            ids = [p.id for p in self.parties]
            where &= (
                fields.SQL_OPERATORS['in'](party_column, ids)
                | party_column.in_(party.select(party.id,
                        where=fields.SQL_OPERATORS['in'](
                            party.headquarter, ids))))
        if self.profiles or self.cycle:
            account = Account.__table__()
            profile = Profile.__table__()
            account_where = Literal(True)
            if self.profiles:
                account_where &= fields.SQL_OPERATORS['in'](
                    account.profile, [p.id for p in self.profiles])
            if self.cycle:
                account_where &= profile.cycle == self.cycle
            where &= account_column.in_(
                account.join(profile,
                    condition=account.profile == profile.id).select(
                    account.id, where=account_where))
        return where

    def _not_billed_where(self, model, id_column):
        "Return the SQL condition excluding sources with an active item"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        item = Item.__table__()
        source = Concat(model + ',', id_column)
        return ~source.in_(item.select(
                item.active_source, where=item.active_source != Null))

    def _candidates(self):
        "Yield lists of candidate values for every source of the run"
        for key in self.sources or []:
            yield from getattr(self, '_candidates_%s' % key)()

    def _candidates_manual(self):
        pool = Pool()
        ManualItem = pool.get('customer.invoicing.manual_item')
        manual = ManualItem.__table__()
        model = ManualItem.__name__
        query = manual.select(
            manual.id, manual.party, manual.customer_account,
            manual.third_party, manual.date, manual.currency,
            where=(manual.company == self.company.id)
            & (manual.date <= self.cutoff_date)
            & self._selection_where(manual.party, manual.customer_account)
            & self._not_billed_where(model, manual.id),
            order_by=[manual.id])
        yield from self._fetch_candidates(query, model, 'manual')

    def _fetch_candidates(self, query, model, source_key, origin=None):
        """Yield lists of candidate values from query rows
        (id, party, customer_account, third_party, date, currency[, origin])
        """
        cursor = Transaction().connection.cursor()
        cursor.execute(*query)
        while rows := cursor.fetchmany(1000):
            candidates = []
            for row in rows:
                id_, party, account, third_party, date, currency = row[:6]
                if isinstance(date, str):
                    date = dt.date.fromisoformat(date)
                candidates.append({
                        'source': '%s,%s' % (model, id_),
                        'source_key': source_key,
                        'party': party,
                        'customer_account': account,
                        'third_party': third_party,
                        'date': date,
                        'currency': currency,
                        'origin': (
                            '%s,%s' % (origin, row[6]) if origin
                            else '%s,%s' % (model, id_)),
                        })
            yield candidates

    def _complete_candidates(self, candidates):
        """Set invoice party, grouping key and state on candidate values
        (errors are recorded on the candidate)"""
        pool = Pool()
        Account = pool.get('customer.account')
        Party = pool.get('party.party')
        accounts = Account.browse(list({
                    c['customer_account'] for c in candidates
                    if c['customer_account']}))
        accounts = {a.id: a for a in accounts}
        parties = Party.browse(list({c['party'] for c in candidates}))
        parties = {p.id: p for p in parties}
        for values in candidates:
            values['run'] = self.id
            values['company'] = self.company.id
            account = accounts.get(values['customer_account'])
            party = parties[values['party']]
            try:
                invoice_party = self._get_invoice_party(
                    party, account, values)
                values['invoice_party'] = invoice_party.id
                values['group_key'] = self._get_group_key(
                    invoice_party, account, values)
                values['state'] = 'pending'
                values['error'] = None
            except UserError as exception:
                values['invoice_party'] = None
                values['group_key'] = None
                values['state'] = 'failed'
                values['error'] = exception.message
        return candidates

    def _get_invoice_party(self, party, account, values):
        "Return the party to invoice for the candidate values"
        pool = Pool()
        Party = pool.get('party.party')
        InvoiceLine = pool.get('account.invoice.line')
        third_party = (
            Party(values['third_party']) if values['third_party'] else None)
        return InvoiceLine.get_billing_party(
            party, account=account, third_party=third_party,
            date=self.invoice_date)

    def _get_group_key(self, invoice_party, account, values):
        "Return the invoice grouping key of the candidate values as a string"
        key = (('currency', values['currency']),)
        account_key = (
            account._get_grouping_key(invoice_party, self.invoice_date)
            if account else None)
        if account_key is not None:
            key += tuple(account_key)
        else:
            key += (
                ('party', invoice_party.id),
                ('account', account.id if account else None),
                )
            if account:
                # one invoice per order
                key += (('origin', values['origin']),)
        if values['third_party']:
            key += (('third_party', values['third_party']),)
        return repr(key)

    def _collect(self):
        """Create the run items and return their number
        (sources claimed meanwhile by another run are left to it)"""
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        count = 0
        for candidates in self._candidates():
            candidates = self._complete_candidates(candidates)
            for values in candidates:
                values.pop('source_key')
                values.pop('third_party', None)
                values.pop('origin', None)
            count += Item.create_unclaimed(candidates)
        return count

    def _raise_nothing_collected(self):
        "Raise the RunError explaining why the run collected no item"
        running = self.search([
                ('company', '=', self.company.id),
                ('state', '=', 'running'),
                ('id', '!=', self.id),
                ], limit=5)
        if running:
            raise RunError(gettext(
                    'customer_invoicing_run.msg_run_selection_taken',
                    run=self.rec_name,
                    runs=', '.join(r.rec_name for r in running)))
        raise RunError(gettext(
                'customer_invoicing_run.msg_run_empty_selection',
                run=self.rec_name))

    # Simulation

    @classmethod
    @ModelView.button
    def simulate(cls, runs):
        pool = Pool()
        Preview = pool.get('customer.invoicing.run.preview')
        Preview.delete([p for r in runs for p in r.previews])
        previews = []
        for run in runs:
            run.check_run()
            previews.extend(run._simulate())
            if not previews:
                raise RunError(gettext(
                        'customer_invoicing_run.msg_run_empty_selection',
                        run=run.rec_name))
        Preview.save(previews)

    def _simulate(self):
        "Return the unsaved previews of the invoices the run would create"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        Preview = pool.get('customer.invoicing.run.preview')
        invoices = {}
        warnings = defaultdict(list)
        previews = []
        pending = {}
        for candidates in self._candidates():
            candidates = self._complete_candidates(candidates)
            for values in candidates:
                source_key = values.pop('source_key')
                values.pop('third_party', None)
                values.pop('origin', None)
                item = Item(**values)
                if item.state == 'failed':
                    previews.append(Preview(
                            run=self, invoice_party=None,
                            customer_account=item.customer_account,
                            currency=item.currency, lines=0,
                            warnings=gettext(
                                'customer_invoicing_run.msg_warning_error',
                                source=item.source.rec_name,
                                reason=item.error)))
                    continue
                try:
                    line = item._get_invoice_line(source_key)
                    if line is not None:
                        self._apply_billing_rules(item, line, pending)
                except UserError as exception:
                    previews.append(Preview(
                            run=self, invoice_party=item.invoice_party,
                            customer_account=item.customer_account,
                            currency=item.currency, lines=0,
                            warnings=gettext(
                                'customer_invoicing_run.msg_warning_error',
                                source=item.source.rec_name,
                                reason=exception.message)))
                    continue
                invoice = invoices.get(item.group_key)
                if invoice is None:
                    invoice = invoices[item.group_key] = (
                        self._get_invoice(item))
                    invoice.lines = []
                line.amount = line.on_change_with_amount()
                invoice.lines = list(invoice.lines) + [line]
                if not line.taxes:
                    warnings[item.group_key].append(gettext(
                            'customer_invoicing_run.msg_warning_missing_tax',
                            source=item.source.rec_name))
        party_totals = defaultdict(Decimal)
        for key, invoice in invoices.items():
            invoice._on_change_lines_taxes()
            party_totals[invoice.party] += self._credit_amount(invoice)
        for party, total in party_totals.items():
            warning = self._credit_limit_warning(party, total)
            if warning:
                for key, invoice in invoices.items():
                    if invoice.party == party:
                        warnings[key].append(warning)
        for sequence, (key, invoice) in enumerate(
                sorted(invoices.items()), 1):
            previews.append(Preview(
                    run=self, sequence=sequence, group_key=key,
                    invoice_party=invoice.party,
                    customer_account=invoice.customer_account,
                    currency=invoice.currency, lines=len(invoice.lines),
                    untaxed_amount=invoice.untaxed_amount,
                    tax_amount=invoice.tax_amount,
                    total_amount=invoice.total_amount,
                    warnings='\n'.join(warnings[key]) or None))
        return previews

    def _credit_amount(self, invoice):
        "Return what the unsaved invoice adds to its party's credit amount"
        return invoice.total_amount

    def _credit_limit_warning(self, party, amount):
        "Return a warning if amount exceeds the party's credit limit"
        limit = party.get_multivalue(
            'credit_limit_amount', company=self.company.id)
        if limit is None:
            return
        with Transaction().set_context(company=self.company.id):
            credit = party.credit_amount or 0
        if credit + amount > limit:
            lang = Pool().get('ir.lang').get()
            currency = self.company.currency
            return gettext('customer_invoicing_run.msg_warning_credit_limit',
                party=party.rec_name, limit=lang.currency(limit, currency),
                amount=lang.currency(credit + amount - limit, currency))

    # Execution

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def run(cls, runs):
        for run in runs:
            run.check_run()
            count = run._collect()
            if not count:
                run._raise_nothing_collected()
            run.start_time = dt.datetime.now()
            run.end_time = None
            run._log(
                'customer_invoicing_run.msg_log_started', count,
                count=count)
        cls.save(runs)
        for run in runs:
            cls.__queue__.process_batch([run])

    @classmethod
    @ModelView.button
    def resume(cls, runs):
        "Enqueue the processing of the pending items of running runs"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        for run in runs:
            if run.state != 'running':
                continue
            count = Item.search_count([
                    ('run', '=', run.id),
                    ('state', '=', 'pending'),
                    ])
            run._log(
                'customer_invoicing_run.msg_log_resumed', count,
                count=count)
            cls.__queue__.process_batch([run])
        cls.save(runs)

    @classmethod
    def process_batch(cls, runs):
        "Bill one batch of pending items of the run (queue task)"
        if len(runs) > 1:
            # a failed batch rolls back the transaction: one run per task
            for run in runs:
                cls.__queue__.process_batch([run])
            return
        run, = runs
        if run.state != 'running':
            return
        items = run._claim_items(cls._batch_size())
        if items:
            item_ids = list(map(int, items))
            try:
                run._process_items(items)
            except _transient_errors():
                raise
            except Exception as exception:
                run._process_groups_apart(item_ids, exception)
            run._post_batch(item_ids)
        if run._has_pending():
            cls.__queue__.process_batch([run])
        else:
            cls.__queue__.finish([run])

    def _post_batch(self, item_ids):
        "Post on the chat what the batch of item_ids billed"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        states = defaultdict(int)
        for item in Item.browse(item_ids):
            states[item.state] += 1
        self._log('customer_invoicing_run.msg_log_batch', len(item_ids),
            count=len(item_ids), done=states['done'],
            failed=states['failed'])

    def _process_groups_apart(self, item_ids, exception):
        """Roll back the batch which failed with exception, then bill its
        items group by group, each group in a transaction of its own, and
        record the error on the items of the groups that fail again"""
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        transaction = Transaction()
        transaction.rollback()
        logger.warning(
            "batch of invoicing run %s failed, billing its groups apart: %s",
            self.id, exception,
            exc_info=not isinstance(exception, UserError) and exception)
        groups = defaultdict(list)
        for item in Item.browse(item_ids):
            groups[item.group_key].append(item.id)
        for group_ids in groups.values():
            try:
                self._process_group(group_ids)
            except _transient_errors():
                raise
            except Exception as exception:
                logger.warning(
                    "group of invoicing run %s failed: %s", self.id,
                    exception, exc_info=not isinstance(exception, UserError))
                with transaction.new_transaction():
                    self.__class__(self.id)._fail_group(group_ids, exception)

    def _process_group(self, item_ids):
        """Bill the items of item_ids in a transaction of its own, started
        again with the row locks the claims of the units ask for"""
        extras = {}
        while True:
            with Transaction().new_transaction(**extras) as transaction:
                try:
                    run = self.__class__(self.id)
                    items = run._claim_items(len(item_ids), ids=item_ids)
                    if items:
                        run._process_items(items)
                    return
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)

    def _fail_group(self, item_ids, exception):
        "Record exception on the still pending items of item_ids"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        items = self._claim_items(len(item_ids), ids=item_ids)
        if not items:
            return
        error = gettext('customer_invoicing_run.msg_item_group_failed',
            error=getattr(exception, 'message', None) or str(exception))
        Item.fail(items, {i.id: error for i in items})
        self._log('customer_invoicing_run.msg_log_group_failed', len(items),
            count=len(items), error=error)

    def _claim_items(self, size, ids=None):
        """Return up to size pending items of the run (among ids), locked
        for update (rows locked by another transaction are skipped)"""
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        item = Item.__table__()
        transaction = Transaction()
        database = transaction.database
        cursor = transaction.connection.cursor()
        where = (item.run == self.id) & (item.state == 'pending')
        if ids is not None:
            where &= fields.SQL_OPERATORS['in'](item.id, ids)
        query = item.select(item.id,
            where=where,
            order_by=[item.group_key, item.id],
            limit=size)
        if database.has_select_for():
            For = database.get_select_for_skip_locked()
            query.for_ = For('UPDATE')
        cursor.execute(*query)
        return Item.browse([i for i, in cursor])

    def _has_pending(self):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        return bool(Item.search([
                    ('run', '=', self.id),
                    ('state', '=', 'pending'),
                    ], limit=1))

    def _process_items(self, items):
        "Create the invoice lines of the items, grouped into invoices"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Item.check_sources(items)
        Item.claim_units(items)
        lines, failed, skipped = [], [], []
        by_source = defaultdict(list)
        pending = {}
        for item in items:
            if item.state == 'pending':
                by_source[item.source_key].append(item)
        for source_key, source_items in by_source.items():
            Item._prefetch(source_key, source_items)
            for item in source_items:
                try:
                    line = item._get_invoice_line(source_key)
                except _database_errors():
                    raise
                except UserError as exception:
                    failed.append((item, exception.message))
                    continue
                except Exception as exception:
                    logger.warning(
                        "item %s failed", item.id, exc_info=True)
                    failed.append((item, str(exception)))
                    continue
                if line is None:
                    skipped.append(item)
                    continue
                missing = Item._get_missing_line_fields(line)
                if missing:
                    failed.append((item, gettext(
                                'customer_invoicing_run'
                                '.msg_item_line_missing_field',
                                source=item.rec_name, field=missing)))
                    continue
                try:
                    self._apply_billing_rules(item, line, pending)
                except UserError as exception:
                    failed.append((item, exception.message))
                    continue
                line.invoicing_item = item
                lines.append((item, line))
        if lines:
            keys = {i.group_key for i, _ in lines}
            invoices = {i.invoicing_key: i for i in Invoice.search([
                        ('invoicing_run', '=', self.id),
                        ('invoicing_key', 'in', list(keys)),
                        ('state', '=', 'draft'),
                        ])}
            new_invoices = []
            journals = {}
            for item, line in lines:
                if item.group_key not in invoices:
                    invoice = invoices[item.group_key] = self._get_invoice(
                        item, journals=journals)
                    new_invoices.append(invoice)
            Invoice.save(new_invoices)
            for item, line in lines:
                line.invoice = invoices[item.group_key]
            InvoiceLine.save([l for _, l in lines])
            Item._billed(lines)
            with batch_taxes({t.id for _, l in lines
                        for t in getattr(l, 'taxes', None) or []}):
                Invoice.update_taxes(
                    Invoice.browse(list({l.invoice.id for _, l in lines})))
            Item.bill([i for i, _ in lines])
        if skipped:
            Item.skip(skipped)
        if failed:
            Item.fail([i for i, _ in failed], {i.id: e for i, e in failed})

    def _apply_billing_rules(self, item, line, pending):
        """Apply the headquarter, third-party and originating-customer rules
        of the item to its invoice line, checked at the invoice date
        (UserError when the item cannot be billed); pending holds the amount
        the run bills per customer and third party"""
        customer = item.party
        third_party = item.invoice_party
        if third_party in {customer, customer.headquarter}:
            third_party = None
        key = (customer, third_party)
        if third_party and key not in pending:
            pending[key] = self._get_third_party_pending(
                customer, third_party)
        line.apply_billing_rules(
            customer, account=item.customer_account,
            third_party=third_party, date=self.invoice_date,
            pending=pending.get(key, Decimal(0)))
        if third_party:
            pending[key] += line._get_billing_amount()

    def _get_third_party_pending(self, customer, third_party):
        """Return the untaxed amount of the lines of the draft invoices of
        the run billed to third_party for customer"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        invoice = Invoice.__table__()
        line = InvoiceLine.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.join(invoice,
                condition=line.invoice == invoice.id).select(
                Sum(line.quantity * line.unit_price),
                where=(invoice.invoicing_run == self.id)
                & (invoice.state == 'draft')
                & (invoice.party == third_party.id)
                & (Coalesce(line.originating_customer,
                        invoice.originating_customer) == customer.id)
                & (line.type == 'line')))
        amount, = cursor.fetchone()
        return Decimal(str(amount or 0)).quantize(Decimal('0.01'))

    def _get_invoice(self, item, journals=None):
        """Return an unsaved invoice for the group of item
        (journals caches the journal found per company and type)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        party = item.invoice_party
        account = item.customer_account
        invoice = Invoice(
            company=self.company,
            type='out',
            party=party,
            invoice_address=party.address_get(type='invoice'),
            currency=item.currency,
            account=party.account_receivable_used,
            invoice_date=self.invoice_date,
            invoicing_run=self,
            invoicing_key=item.group_key,
            customer_account=account,
            )
        if not invoice.account:
            raise ItemError(gettext('customer_invoicing_run'
                    '.msg_item_missing_receivable_account',
                    party=party.rec_name))
        invoice.originating_customer = item.party
        if account and account.profile.grouping == 'headquarter':
            # the invoice groups the obligations of several customers
            invoice.originating_customer = None
            invoice.customer_account = None
        invoice.bill_to_third_party = invoice._is_billed_to_third_party()
        journal_key = (invoice.company.id, invoice.type)
        if journals is not None and journal_key in journals:
            invoice.journal = journals[journal_key]
        else:
            invoice.set_journal()
            if journals is not None:
                journals[journal_key] = invoice.journal
        invoice.payment_term = (
            account.profile.payment_term if account
            and account.profile.payment_term
            else party.customer_payment_term)
        return invoice

    @classmethod
    def finish(cls, runs):
        "Close the runs without pending item, post and send (queue task)"
        cls.lock(runs)
        to_done = []
        for run in runs:
            if run.state == 'running' and not run._has_pending():
                to_done.append(run)
        if not to_done:
            return
        for run in to_done:
            run.end_time = dt.datetime.now()
            run._log('customer_invoicing_run.msg_log_finished',
                run.invoice_count,
                invoices=run.invoice_count, failed=run.items_failed)
        cls.save(to_done)
        cls.done(to_done)
        to_output = [r for r in to_done
            if r.post_invoices or r.send_invoices]
        if to_output:
            cls.__queue__.output(to_output)

    @classmethod
    def output(cls, runs):
        "Post and send the invoices of the runs as configured (queue task)"
        to_post = [r for r in runs if r.post_invoices]
        if to_post:
            cls.post(to_post)
        to_send = [r for r in runs if r.send_invoices]
        if to_send:
            cls.send(to_send)

    @classmethod
    @Workflow.transition('done')
    def done(cls, runs):
        pass

    @classmethod
    def post(cls, runs):
        "Post the draft invoices of the runs (refused ones are logged)"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        for run in runs:
            invoices = Invoice.search([
                    ('invoicing_run', '=', run.id),
                    ('state', 'in', ['draft', 'validated']),
                    ])
            posted = 0
            for sub_invoices in grouped_slice(invoices, 500):
                sub_invoices = Invoice.browse(list(sub_invoices))
                try:
                    Invoice.post(sub_invoices)
                    posted += len(sub_invoices)
                    continue
                except UserError:
                    pass
                for invoice in sub_invoices:
                    try:
                        Invoice.post([invoice])
                        posted += 1
                    except UserError as exception:
                        run._log(
                            'customer_invoicing_run.msg_log_post_failed',
                            invoice=invoice.rec_name,
                            error=exception.message)
            run._log(
                'customer_invoicing_run.msg_log_posted', posted, count=posted)
        cls.save(runs)

    @classmethod
    def send(cls, runs):
        "Output the invoices of the runs through their profile channel"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        for run in runs:
            invoices = Invoice.search([
                    ('invoicing_run', '=', run.id),
                    ('state', 'not in', ['draft', 'cancelled']),
                    ('invoicing_sent', '=', False),
                    ], order=[('number', 'ASC'), ('id', 'ASC')])
            channels = defaultdict(list)
            for invoice in invoices:
                channels[run._get_channel(invoice)].append(invoice)
            for channel, channel_invoices in channels.items():
                sent = getattr(run, '_send_%s' % channel)(channel_invoices)
                # None: the channel logged what it did itself
                if sent is not None:
                    run._log('customer_invoicing_run.msg_log_output', sent,
                        channel=channel, count=sent)
            Invoice.write(invoices, {'invoicing_sent': True})
        cls.save(runs)

    def _get_channel(self, invoice):
        "Return the output channel of the invoice"
        account = invoice._get_billing_account()
        return account.profile.channel if account else 'print'

    def _send_print(self, invoices):
        "Store one merged document of the invoices on the run"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        InvoiceBatch = pool.get(
            'customer.invoicing.run.invoice_batch', type='report')
        try:
            ext, content, _, _ = InvoiceBatch.execute(
                [i.id for i in invoices], {})
        except UserError as exception:
            self._log('customer_invoicing_run.msg_log_output_failed',
                channel='print', invoice=invoices[0].rec_name,
                error=exception.message)
            return 0
        Attachment.create([{
                    'resource': str(self),
                    'name': 'invoices-%s.%s' % (self.id, ext),
                    'type': 'data',
                    'data': content,
                    }])
        return len(invoices)

    def _send_email(self, invoices):
        """Queue the email of each invoice to its billing contact (an email
        delivery of customer_billing, sent after commit) and return None:
        it logs how many it queued, and the invoices count as sent when
        their delivery is"""
        pool = Pool()
        Delivery = pool.get('customer.email.delivery')
        queued = 0
        for invoice in invoices:
            try:
                message = invoice._get_billing_email_message()
            except EDocumentError as exception:
                # a failed delivery of the invoice the clerk can retry
                invoice.record_edocument_failure(exception)
                message, error = None, exception.message
            except UserError as exception:
                message, error = None, exception.message
            else:
                error = gettext('customer_invoicing_run.msg_log_no_email',
                    invoice=invoice.rec_name)
            if not message:
                self._log('customer_invoicing_run.msg_log_output_failed',
                    channel='email', invoice=invoice.rec_name, error=error)
                continue
            Delivery.queue_message(message, invoice)
            queued += 1
        if queued:
            self._log('customer_invoicing_run.msg_log_output_queued', queued,
                channel='email', count=queued)
        return None

    def _send_ubl(self, invoices):
        """Store the validated e-invoice of each invoice as attachment
        (customer_billing's store_edocuments, as posting does)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        delivered, refused = Invoice.store_edocuments(invoices)
        for invoice, error in refused.items():
            self._log('customer_invoicing_run.msg_log_output_failed',
                channel='ubl', invoice=invoice.rec_name, error=error)
        return len(delivered)

    @classmethod
    @ModelView.button
    def retry_failed(cls, runs):
        "Put the failed items back to pending and process them"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        for run in runs:
            items = Item.search([
                    ('run', '=', run.id),
                    ('state', '=', 'failed'),
                    ])
            Item.retry(items)
            run._log('customer_invoicing_run.msg_log_retry', len(items),
                count=len(items))
        cls.save(runs)
        cls.reopen([r for r in runs if r.state == 'done'])
        for run in runs:
            cls.__queue__.process_batch([run])

    @classmethod
    @Workflow.transition('running')
    def reopen(cls, runs):
        "Process again the runs (done or scheduled) whose items are pending"
        for run in runs:
            run.end_time = None
        cls.save(runs)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, runs):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        Item.cancel(Item.search([
                    ('run', 'in', [r.id for r in runs]),
                    ('state', '=', 'pending'),
                    ]))

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, runs):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        Item.delete(Item.search([
                    ('run', 'in', [r.id for r in runs]),
                    ('state', 'in', ['cancelled', 'failed', 'skipped']),
                    ]))

    # Scheduling

    @classmethod
    def run_scheduled(cls, date=None):
        """Start one run per company over the billing profiles whose cycle
        is due on date (cron)"""
        pool = Pool()
        Date = pool.get('ir.date')
        Company = pool.get('company.company')
        runs = []
        for company in Company.search([]):
            with Transaction().set_context(company=company.id):
                day = date or Date.today()
            profiles = cls._get_due_profiles(company, day)
            if profiles:
                runs.append(cls(
                        company=company, cutoff_date=day, invoice_date=day,
                        profiles=profiles,
                        reference=cls._get_scheduled_reference(day),
                        sources=cls.default_sources(),
                        post_invoices=True, send_invoices=True))
        cls.save(runs)
        started = []
        for run in runs:
            with Transaction().set_context(company=run.company.id):
                run.check_run()
                count = run._collect()
            if count:
                run.start_time = dt.datetime.now()
                run._log(
                    'customer_invoicing_run.msg_log_started', count,
                    count=count)
                started.append(run)
        cls.save(started)
        cls.reopen(started)
        for run in started:
            cls.__queue__.process_batch([run])
        cls.delete([r for r in runs if r not in started])
        return started

    @classmethod
    def _get_due_profiles(cls, company, date):
        "Return the billing profiles of company whose cycle is due on date"
        pool = Pool()
        Profile = pool.get('customer.billing.profile')
        return Profile.search([
                ('company', '=', company.id),
                ['OR',
                    ('cycle', '=', 'immediate'),
                    [('cycle', '=', 'weekly'),
                        ('cycle_day', '=', date.weekday())],
                    [('cycle', '=', 'monthly'),
                        ('cycle_day', '=', date.day)],
                    ],
                ])

    @classmethod
    def _get_scheduled_reference(cls, date):
        return date.isoformat()

    @classmethod
    def resume_stalled(cls, delay=None):
        """Resume the running runs whose items were not touched for delay
        (a worker died or its task was lost) (cron)"""
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        item = Item.__table__()
        cursor = Transaction().connection.cursor()
        if delay is None:
            delay = dt.timedelta(minutes=10)
        runs = cls.search([('state', '=', 'running')])
        if not runs:
            return []
        threshold = dt.datetime.now() - delay
        stalled = []
        cursor.execute(*item.select(
                item.run, Max(Coalesce(item.write_date, item.create_date)),
                where=fields.SQL_OPERATORS['in'](
                    item.run, [r.id for r in runs])
                & (item.state == 'pending'),
                group_by=[item.run]))
        for run_id, last in cursor:
            if isinstance(last, str):
                last = dt.datetime.fromisoformat(last)
            if last <= threshold:
                stalled.append(cls(run_id))
        cls.resume(stalled)
        return stalled


class RunParty(ModelSQL):
    "Invoicing Run - Party"
    __name__ = 'customer.invoicing.run-party.party'
    run = fields.Many2One(
        'customer.invoicing.run', "Run", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Party", required=True, ondelete='CASCADE')


class RunProfile(ModelSQL):
    "Invoicing Run - Billing Profile"
    __name__ = 'customer.invoicing.run-customer.billing.profile'
    run = fields.Many2One(
        'customer.invoicing.run', "Run", required=True, ondelete='CASCADE')
    profile = fields.Many2One(
        'customer.billing.profile', "Profile", required=True,
        ondelete='CASCADE')


class RunItem(Workflow, ModelSQL, ModelView):
    "Customer Invoicing Run Item"
    __name__ = 'customer.invoicing.run.item'

    run = fields.Many2One(
        'customer.invoicing.run', "Run", required=True, ondelete='CASCADE',
        readonly=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    source = fields.Reference(
        "Source", selection='get_source_models', required=True,
        readonly=True)
    active_source = fields.Char(
        "Active Source", readonly=True,
        help="The source while the item is pending or billed, "
        "unique in the database.")
    state = fields.Selection([
            ('pending', "Pending"),
            ('done', "Billed"),
            ('failed', "Failed"),
            ('skipped', "Nothing to Bill"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    party = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    customer_account = fields.Many2One(
        'customer.account', "Customer Account", readonly=True)
    invoice_party = fields.Many2One(
        'party.party', "Invoice Party", readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    date = fields.Date("Date", readonly=True)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, readonly=True)
    group_key = fields.Char("Grouping Key", readonly=True)
    error = fields.Text("Error", readonly=True)
    invoice_lines = fields.One2Many(
        'account.invoice.line', 'invoicing_item', "Invoice Lines",
        readonly=True)
    invoice_line = fields.Function(fields.Many2One(
            'account.invoice.line', "Invoice Line"), 'get_invoice_line')
    invoice = fields.Function(fields.Many2One(
            'account.invoice', "Invoice"), 'get_invoice_line')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('active_source_unique', Unique(t, t.active_source),
                'customer_invoicing_run.msg_item_source_unique'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.run, Index.Range()),
                    (t.state, Index.Equality(cardinality='low')),
                    (t.group_key, Index.Range()),
                    (t.id, Index.Range())),
                Index(t, (t.source, Index.Equality())),
                })
        cls._order = [('run', 'DESC'), ('group_key', 'ASC'), ('id', 'ASC')]
        cls._transitions |= {
            ('pending', 'done'),
            ('pending', 'skipped'),
            ('pending', 'failed'),
            ('pending', 'cancelled'),
            ('failed', 'pending'),
            ('failed', 'cancelled'),
            ('done', 'cancelled'),
            }
        cls._buttons.update({
                'retry_button': {
                    'invisible': Eval('state') != 'failed',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def get_source_models(cls):
        pool = Pool()
        Run = pool.get('customer.invoicing.run')
        Model = pool.get('ir.model')
        models = Run._get_source_models().values()
        return [(m, Model.get_name(m)) for m in models]

    @property
    def source_key(self):
        pool = Pool()
        Run = pool.get('customer.invoicing.run')
        model = str(self.source).split(',')[0]
        for key, name in Run._get_source_models().items():
            if name == model:
                return key

    @classmethod
    def create_unclaimed(cls, vlist):
        """Create the items whose source has no active item and return their
        number: the unique constraint on active_source decides, so a source
        claimed by a concurrent run is skipped (on PostgreSQL in repeatable
        read, an item committed after the snapshot raises a serialization
        failure and the transaction is retried with a fresh snapshot)"""
        transaction = Transaction()
        database = transaction.database
        if not (database.has_insert_on_conflict()
                and database.has_returning()):
            # SQLite: writers are serialized by the database lock
            return len(cls.create(vlist))
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        vlist = [cls.preprocess_values('create', v) for v in vlist]
        names = sorted({n for v in vlist for n in v})
        columns = [table.create_uid, table.create_date] + [
            Column(table, n) for n in names]
        rows = [[transaction.user, CurrentTimestamp()]
            + [cls._fields[n].sql_format(v.get(n)) for n in names]
            for v in vlist]
        count = 0
        for sub_rows in grouped_slice(
                rows, backend.MAX_QUERY_PARAMS // len(columns)):
            cursor.execute(*table.insert(columns, list(sub_rows),
                    on_conflict=Conflict(
                        table, indexed_columns=[table.active_source]),
                    returning=[table.id]))
            count += len(cursor.fetchall())
        return count

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and 'active_source' not in values:
            if values.get('state', 'pending') in {'pending', 'done'}:
                source = values.get('source')
                if source and not isinstance(source, str):
                    source = str(source)
                values['active_source'] = source and cls._get_active_source(
                    source, values.get('date'))
        return values

    @classmethod
    def _get_active_source(cls, source, date):
        """Return the value identifying what the item bills, unique among
        pending and billed items, for source ('model,id') dated date"""
        return source

    @classmethod
    def _get_billing_fields(cls):
        "Return the names of the fields a billed item never changes"
        return {'run', 'company', 'source', 'party', 'customer_account',
            'invoice_party', 'date', 'currency', 'group_key'}

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete' or (mode == 'write'
                and values.keys() & cls._get_billing_fields()):
            msg_id = ('customer_invoicing_run.msg_item_billed_delete'
                if mode == 'delete'
                else 'customer_invoicing_run.msg_item_billed_write')
            for item in records:
                if item.state == 'done':
                    raise ItemAccessError(gettext(msg_id, item=item.rec_name))

    def get_rec_name(self, name):
        return self.source.rec_name if self.source else str(self.id)

    @classmethod
    def get_invoice_line(cls, items, names):
        result = {n: {i.id: None for i in items} for n in names}
        for item in items:
            for line in item.invoice_lines:
                if 'invoice_line' in result:
                    result['invoice_line'][item.id] = line.id
                if 'invoice' in result and line.invoice:
                    result['invoice'][item.id] = line.invoice.id
        return result

    @classmethod
    def check_sources(cls, items):
        "Fail items whose source record no longer exists"
        gone = []
        for item in items:
            if item.state == 'pending' and not item.source:
                gone.append(item)
        if gone:
            error = gettext('customer_invoicing_run.msg_item_source_gone',
                item=str(gone[0].id))
            cls.fail(gone, {i.id: error for i in gone})

    @classmethod
    def claim_units(cls, items):
        """Lock the billable units of the pending items (the claim every
        path billing them takes, see doc/design.rst) and cancel the items
        whose unit another path has billed, naming its invoice"""
        by_source = defaultdict(list)
        for item in items:
            if item.state == 'pending' and item.source:
                by_source[item.source_key].append(item)
        elsewhere = {}
        for source_key, source_items in by_source.items():
            lock = getattr(cls, '_lock_%s' % source_key, None)
            if lock:
                lock(source_items)
            billed = getattr(cls, '_billed_elsewhere_%s' % source_key, None)
            if billed:
                elsewhere.update(billed(source_items))
        if elsewhere:
            cls.cancel(list(elsewhere), {
                    i.id: invoice if isinstance(invoice, str)
                    else gettext(
                        'customer_invoicing_run.msg_item_billed_by',
                        source=i.rec_name, invoice=invoice.rec_name)
                    for i, invoice in elsewhere.items()})

    @classmethod
    def release(cls, pairs, units=True):
        """Put back the billed items of pairs (item, invoice name) whose
        invoice is cancelled or deleted: their units can be billed again"""
        if units:
            cls.release_units(pairs)
        if pairs:
            # read together, whatever instances pairs holds
            items = cls.browse([i.id for i, _ in pairs])
            cls.cancel(items, {
                    i.id: gettext('customer_invoicing_run.msg_item_released',
                        source=i.rec_name, invoice=invoice)
                    for i, (_, invoice) in zip(items, pairs)})

    @classmethod
    @Workflow.transition('done')
    def bill(cls, items):
        "Mark the items whose invoice line is saved as billed"
        pass

    @classmethod
    @Workflow.transition('skipped')
    def skip(cls, items):
        "Mark the pending items with nothing to bill"
        cls.write(items, {'active_source': None})

    @classmethod
    @Workflow.transition('failed')
    def fail(cls, items, errors):
        "Mark the pending items failed with errors (text per item id)"
        cls._free(items, errors)

    @classmethod
    @Workflow.transition('cancelled')
    def cancel(cls, items, errors=None):
        """Cancel the pending or failed items, and the billed items whose
        invoice is cancelled, with errors (text per item id)"""
        cls._free(items, errors or {})

    @classmethod
    @Workflow.transition('pending')
    def reset(cls, items):
        "Put the retried failed items back to pending"
        pass

    @classmethod
    def _free(cls, items, errors):
        "Free the sources of items and record errors (text per item id)"
        key = errors.get
        to_write = []
        for error, error_items in groupby(
                sorted(items, key=lambda i: (key(i.id) or '', i.id)),
                key=lambda i: key(i.id)):
            to_write.extend((list(error_items), {
                        'active_source': None,
                        'error': error,
                        }))
        if to_write:
            cls.write(*to_write)

    @classmethod
    def release_units(cls, pairs):
        "Call the _release_<source> hooks with the items of pairs"
        by_source = defaultdict(list)
        for item, _ in pairs:
            by_source[item.source_key].append(item)
        for source_key, items in by_source.items():
            method = getattr(cls, '_release_%s' % source_key, None)
            if method:
                method(items)

    @classmethod
    def _lock_manual(cls, items):
        pool = Pool()
        ManualItem = pool.get('customer.invoicing.manual_item')
        ManualItem.lock([i.source.id for i in items])

    @classmethod
    def _get_missing_line_fields(cls, line):
        "Return the label of a required field missing on the invoice line"
        for name, field in line._fields.items():
            if (field.required and not isinstance(field, fields.Function)
                    and name not in {'invoice', 'id'}
                    and getattr(line, name, None) is None):
                return field.string
        if getattr(line, 'type', None) == 'line':
            for name in ['account', 'quantity', 'unit_price']:
                if getattr(line, name, None) is None:
                    return line._fields[name].string

    def _get_invoice_line(self, source_key):
        "Return an unsaved invoice line for the item or None"
        return getattr(self, '_get_invoice_line_%s' % source_key)()

    @classmethod
    def _prefetch(cls, source_key, items):
        """Read what billing the items of source_key needs for all of them
        at once (the _prefetch_<source> hooks)"""
        method = getattr(cls, '_prefetch_%s' % source_key, None)
        if method:
            method(items)

    @classmethod
    def _billed(cls, pairs):
        "Call the _billed_<source> hooks with the saved (item, line) pairs"
        by_source = defaultdict(list)
        for item, line in pairs:
            by_source[item.source_key].append((item, line))
        for source_key, source_pairs in by_source.items():
            method = getattr(cls, '_billed_%s' % source_key, None)
            if method:
                method(source_pairs)

    def _get_invoice_line_manual(self):
        return self.source.get_invoice_line()

    @classmethod
    @ModelView.button
    def retry_button(cls, items):
        pool = Pool()
        Run = pool.get('customer.invoicing.run')
        cls.retry(items)
        runs = list({i.run for i in items})
        Run.reopen([r for r in runs if r.state == 'done'])
        for run in runs:
            Run.__queue__.process_batch([run])

    @classmethod
    def retry(cls, items):
        "Recompute failed items and put them back to pending"
        by_run = defaultdict(list)
        for item in items:
            if item.state == 'failed':
                by_run[item.run].append(item)
        to_write, to_pending, to_cancel = [], [], {}
        claimed = {}  # the sources put back to pending by this call
        for run, run_items in by_run.items():
            candidates = [{
                    'source': str(i.source),
                    'source_key': i.source_key,
                    'party': i.party.id,
                    'customer_account': (
                        i.customer_account.id if i.customer_account
                        else None),
                    'third_party': i._get_third_party(),
                    'date': i.date,
                    'currency': i.currency.id,
                    'origin': i._get_origin(),
                    } for i in run_items]
            candidates = run._complete_candidates(candidates)
            active_sources = {}
            for item, values in zip(run_items, candidates):
                if values['state'] == 'pending':
                    active_sources[item] = cls._get_active_source(
                        str(item.source), item.date)
            taken = cls._active_elsewhere(active_sources.values())
            taken.update(claimed)
            for item, values in zip(run_items, candidates):
                active_source = active_sources.get(item)
                if active_source is not None:
                    claimed.setdefault(active_source, run)
                if active_source in taken:
                    # billed (or pending) in another run since it failed
                    to_cancel[item.id] = gettext(
                        'customer_invoicing_run.msg_item_billed_elsewhere',
                        source=item.rec_name,
                        run=taken[active_source].rec_name)
                    continue
                to_write.extend(([item], {
                            'error': values['error'],
                            'invoice_party': values['invoice_party'],
                            'group_key': values['group_key'],
                            'active_source': active_source,
                            }))
                if values['state'] == 'pending':
                    to_pending.append(item)
        if to_cancel:
            cls.cancel(cls.browse(list(to_cancel)), to_cancel)
        if to_write:
            cls.write(*to_write)
        if to_pending:
            cls.reset(to_pending)

    @classmethod
    def _active_elsewhere(cls, active_sources):
        """Return the run holding each of active_sources in a pending or
        billed item"""
        pool = Pool()
        Run = pool.get('customer.invoicing.run')
        item = cls.__table__()
        cursor = Transaction().connection.cursor()
        taken = {}
        for sub in grouped_slice(list(active_sources), 1000):
            cursor.execute(*item.select(item.active_source, item.run,
                    where=item.active_source.in_(list(sub))))
            taken.update(cursor)
        runs = {r.id: r for r in Run.browse(list(set(taken.values())))}
        return {s: runs[r] for s, r in taken.items()}

    def _get_third_party(self):
        "Return the id of the third party of the source"
        third_party = getattr(self.source, 'third_party', None)
        return third_party.id if third_party else None

    def _get_origin(self):
        "Return the origin document used by the 'order' grouping"
        return str(self.source)


class RunPreview(ModelSQL, ModelView):
    "Customer Invoicing Run Preview"
    __name__ = 'customer.invoicing.run.preview'

    run = fields.Many2One(
        'customer.invoicing.run', "Run", required=True, ondelete='CASCADE')
    sequence = fields.Integer("Sequence")
    group_key = fields.Char("Grouping Key")
    invoice_party = fields.Many2One(
        'party.party', "Invoice Party",
        context={
            'company': Eval('_parent_run', {}).get('company', -1),
            },
        depends={'run'})
    customer_account = fields.Many2One(
        'customer.account', "Customer Account")
    currency = fields.Many2One('currency.currency', "Currency")
    lines = fields.Integer("Lines")
    untaxed_amount = Monetary(
        "Untaxed", currency='currency', digits='currency')
    tax_amount = Monetary("Tax", currency='currency', digits='currency')
    total_amount = Monetary("Total", currency='currency', digits='currency')
    warnings = fields.Text("Warnings")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('run', 'DESC'), ('sequence', 'ASC NULLS LAST'),
            ('id', 'ASC')]


class ManualItem(ModelSQL, ModelView):
    "Manual Billable Item"
    __name__ = 'customer.invoicing.manual_item'

    company = fields.Many2One(
        'company.company', "Company", required=True)
    customer_account = fields.Many2One(
        'customer.account', "Customer Account", required=True,
        domain=[
            ('company', '=', Eval('company', -1)),
            ])
    party = fields.Many2One(
        'party.party', "Customer", required=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    third_party = fields.Many2One(
        'party.party', "Third Party",
        help="Bill this party instead (must be authorized)",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    date = fields.Date("Date", required=True)
    product = fields.Many2One(
        'product.product', "Product", required=True,
        domain=[('salable', '=', True)],
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    description = fields.Text("Description")
    quantity = fields.Float("Quantity", digits='unit', required=True)
    unit = fields.Many2One('product.uom', "Unit", required=True)
    unit_price = Monetary(
        "Unit Price", currency='currency', digits=(16, 4), required=True)
    currency = fields.Many2One('currency.currency', "Currency", required=True)
    run_items = fields.One2Many(
        'customer.invoicing.run.item', 'source', "Run Items", readonly=True)
    billed = fields.Function(fields.Boolean("Billed"), 'get_billed',
        searcher='search_billed')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('quantity_positive', Check(t, t.quantity > 0),
                'customer_invoicing_run.msg_manual_item_quantity_positive'),
            ]
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_currency(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company = Transaction().context.get('company')
        if company is not None and company >= 0:
            return Company(company).currency.id

    @fields.depends('customer_account', 'party')
    def on_change_customer_account(self):
        if self.customer_account:
            self.party = self.customer_account.party

    @fields.depends('product', 'unit', 'unit_price', 'description')
    def on_change_product(self):
        if self.product:
            self.unit = self.product.sale_uom
            if self.unit_price is None:
                self.unit_price = self.product.list_price_used
            if not self.description:
                self.description = self.product.rec_name

    def get_rec_name(self, name):
        return '%s @ %s' % (
            self.description or self.product.rec_name, self.party.rec_name)

    @classmethod
    def get_billed(cls, records, name):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        item = Item.__table__()
        cursor = Transaction().connection.cursor()
        billed = set()
        for sub in grouped_slice(records, 1000):
            cursor.execute(*item.select(item.active_source,
                    where=item.active_source.in_(
                        [str(r) for r in sub])))
            billed.update(s for s, in cursor)
        return {r.id: str(r) in billed for r in records}

    @classmethod
    def search_billed(cls, name, clause):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        item = Item.__table__()
        table = cls.__table__()
        _, operator, value = clause
        query = table.select(table.id,
            where=Concat(cls.__name__ + ',', table.id).in_(
                item.select(item.active_source,
                    where=item.active_source != Null)))
        if (operator == '=') == bool(value):
            return [('id', 'in', query)]
        return [('id', 'not in', query)]

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'}:
            for record in records:
                if record.billed:
                    raise ManualItemAccessError(gettext(
                            'customer_invoicing_run.msg_manual_item_billed',
                            item=record.rec_name))

    def get_invoice_line(self):
        "Return an unsaved invoice line for the manual item"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        line = InvoiceLine(
            type='line',
            invoice_type='out',
            company=self.company,
            currency=self.currency,
            product=self.product,
            description=self.description or self.product.rec_name,
            quantity=self.quantity,
            unit=self.unit,
            unit_price=self.unit_price,
            origin=self,
            )
        line.apply_billing_rules(
            self.party, account=self.customer_account,
            third_party=self.third_party)
        line.account = self.product.account_revenue_used
        if not line.account:
            raise ItemError(gettext(
                    'customer_invoicing_run.msg_item_missing_revenue_account',
                    product=self.product.rec_name, source=self.rec_name))
        line.taxes = self._get_taxes()
        return line

    def _get_taxes(self):
        "Return the customer taxes of the item after the party's tax rule"
        taxes = []
        pattern = {}
        rule = self.party.customer_tax_rule
        for tax in self.product.customer_taxes_used:
            if rule:
                tax_ids = rule.apply(tax, pattern)
                if tax_ids:
                    taxes.extend(tax_ids)
                continue
            taxes.append(tax.id)
        if rule:
            tax_ids = rule.apply(None, pattern)
            if tax_ids:
                taxes.extend(tax_ids)
        return taxes

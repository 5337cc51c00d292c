# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count, Max
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp, Trim
from sql.operators import Equal

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Exclude, Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits, round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice, sqlite_apply_types
from trytond.transaction import Transaction

from .common import duration_hours, next_period, period_start
from .exceptions import BillingRequestError

KINDS = [
    ('milestone', "Milestone"),
    ('timesheet', "Time and Material"),
    ('fee', "Periodic Fee"),
    ('service_unit', "Service Unit"),
    ]
ACTIONS = [
    ('bill', "Bill"),
    ('postpone', "Postpone"),
    ('write_off', "Write Off"),
    ('adjust', "Adjust"),
    ]
SETTLING_ACTIONS = {'bill', 'adjust', 'write_off'}
INVOICING_ACTIONS = {'bill', 'adjust'}


class BillingRequest(Workflow, ModelSQL, ModelView):
    "Billing document request"
    __name__ = 'project.billing.request'

    _states = {
        'readonly': Eval('state') != 'draft',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    project = fields.Many2One(
        'project.work', "Project", required=True, states=_states,
        domain=[
            ('type', '=', 'project'),
            ('company', '=', Eval('company', -1)),
            ])
    date = fields.Date(
        "Date", required=True, states=_states,
        help="Items due up to this date are collected.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('released', "Released"),
            ('invoiced', "Invoiced"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)
    lines = fields.One2Many(
        'project.billing.request.line', 'request', "Lines",
        states=_states)
    customer_account = fields.Function(fields.Many2One(
            'customer.account', "Customer Account"),
        'on_change_with_customer_account')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    amount = fields.Function(Monetary(
            "Amount to Invoice", currency='currency', digits='currency'),
        'get_amount')
    invoices = fields.Function(fields.Many2Many(
            'account.invoice', None, None, "Invoices"), 'get_invoices')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.project, Index.Range()),
                    (t.state, Index.Equality())),
                })
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'released'),
            ('released', 'invoiced'),
            ('draft', 'cancelled'),
            ('released', 'cancelled'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'collect': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'release': {
                    'invisible': Eval('state') != 'draft',
                    'readonly': ~Eval('lines', []),
                    'depends': ['state', 'lines'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'released']),
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'cancelled',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @fields.depends('project')
    def on_change_with_customer_account(self, name=None):
        if self.project and self.project.customer_account:
            return self.project.customer_account

    @fields.depends('project', 'company')
    def on_change_with_currency(self, name=None):
        if self.project:
            return (self.project.project_currency
                or self.project.company.currency)
        elif self.company:
            return self.company.currency

    @classmethod
    def get_amount(cls, requests, name):
        result = {}
        for request in requests:
            result[request.id] = request.currency.round(sum(
                    (l.amount or 0 for l in request.lines
                        if l.action in INVOICING_ACTIONS), Decimal(0)))
        return result

    def get_invoices(self, name):
        return sorted({l.invoice_line.invoice.id for l in self.lines
                if l.invoice_line and l.invoice_line.invoice})

    def get_rec_name(self, name):
        "The project and the date, formatted by the language"
        lang = Pool().get('ir.lang').get()
        return '%s @ %s' % (self.project.rec_name,
            lang.strftime(self.date) if self.date else '')

    @classmethod
    def validate_fields(cls, requests, field_names):
        super().validate_fields(requests, field_names)
        for request in requests:
            if request.state == 'draft' and request.project.stage == 'closed':
                raise BillingRequestError(gettext(
                        'customer_project.msg_request_closed_project',
                        project=request.project.rec_name))

    @classmethod
    def check_modification(cls, mode, requests, values=None, external=False):
        super().check_modification(
            mode, requests, values=values, external=external)
        if mode == 'delete':
            for request in requests:
                if request.state not in {'draft', 'cancelled'}:
                    raise AccessError(gettext(
                            'customer_project.msg_request_delete',
                            request=request.rec_name))
        elif mode == 'write' and external:
            # only the workflow changes a request out of draft
            for request in requests:
                if request.state != 'draft':
                    raise AccessError(gettext(
                            'customer_project.msg_request_modify',
                            request=request.rec_name))

    @classmethod
    def copy(cls, requests, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('lines', None)
        return super().copy(requests, default=default)

    # Collection of the due items

    @classmethod
    @ModelView.button
    def collect(cls, requests):
        "Replace the lines of draft requests by the items due at their date"
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        requests = [r for r in requests if r.state == 'draft']
        for request in requests:
            if request.project.stage == 'closed':
                raise BillingRequestError(gettext(
                        'customer_project.msg_request_closed_project',
                        project=request.project.rec_name))
        Line.delete_draft(requests)
        for request in requests:
            items = cls._collect_items(request.project, request.date)
            for item in items:
                item['request'] = request.id
            Line.insert_items(items)

    @classmethod
    def _collect_items(cls, project, date, ignore_postpone=False):
        """Return the values of the lines for the items of project due up to
        date which are neither billed nor written off (nor postponed
        beyond date unless ignore_postpone)"""
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        settled = Line.settled_keys(project)
        postponed = {} if ignore_postpone else Line.postponed_keys(project)
        items = []
        customer_account = (project.customer_account.id
            if project.customer_account else None)
        for collector in cls._item_collectors():
            for item in collector(project, date):
                key = (item['origin'], item['item_date'])
                if key in settled:
                    continue
                if postponed.get(key) and postponed[key] > date:
                    continue
                items.append(item)
        for item in items:
            item.setdefault('action', 'bill')
            item['original_quantity'] = item['quantity']
            item['original_amount'] = item['amount']
            item['project'] = project.id
            item['customer_account'] = customer_account
        return items

    @classmethod
    def _item_collectors(cls):
        "Return the methods collecting the due items of a project"
        return [cls._collect_milestones, cls._collect_timesheets,
            cls._collect_fees, cls._collect_service_units]

    @classmethod
    def _item_currency(cls, project):
        return project.project_currency or project.company.currency

    @classmethod
    def _item(cls, project, kind, origin, date, description, product,
            quantity, unit_price, amount=None, currency=None):
        "Return the values of a request line (give currency in loops)"
        if currency is None:
            currency = cls._item_currency(project)
        if amount is None:
            amount = Decimal(str(quantity)) * unit_price
        return {
            'kind': kind,
            'origin': origin,
            'item_date': date,
            'description': description,
            'product': product,
            'quantity': quantity,
            'unit_price': unit_price,
            'amount': currency.round(amount),
            }

    @classmethod
    def _collect_milestones(cls, project, date):
        pool = Pool()
        Milestone = pool.get('project.billing.milestone')
        for milestone in Milestone.search([
                    ('project', '=', project.id),
                    ('reached', '=', True),
                    ('reached_date', '<=', date),
                    ]):
            yield cls._item(project, 'milestone', str(milestone),
                milestone.reached_date, milestone.name,
                milestone.product.id, 1, milestone.amount)

    @classmethod
    def _collect_fees(cls, project, date):
        pool = Pool()
        Fee = pool.get('project.billing.fee')
        for fee in Fee.search([
                    ('project', '=', project.id),
                    ('start_date', '<=', date),
                    ]):
            start = period_start(fee.start_date, fee.period)
            last = min(filter(None, [date, fee.end_date]))
            while start <= last:
                yield cls._item(project, 'fee', str(fee), start,
                    '%s %s' % (fee.name, start), fee.product.id, 1,
                    fee.amount)
                start = next_period(start, fee.period)

    @classmethod
    def _timesheet_query(cls, project, approved=True):
        "Return the query of the timesheet lines of project's T&M packages"
        pool = Pool()
        TimesheetLine = pool.get('timesheet.line')
        line = TimesheetLine.__table__()
        twork2package = {}
        for package in project.children:
            # a package billed by project_invoice's method (On Timesheet,
            # Effort, Progress) is not billed by billing requests
            if (package.type == 'task' and package.time_and_material
                    and cls._billed_by_request(package)):
                for twork in package.timesheet_works:
                    twork2package[twork.id] = package
        where = (fields.SQL_OPERATORS['in'](line.work, list(twork2package))
            & (line.approved == approved))
        return line, where, twork2package

    @staticmethod
    def _billed_by_request(work):
        "Return whether the time of work is billed by billing requests"
        return getattr(work, 'invoice_method', 'manual') in {None, 'manual'}

    @classmethod
    def _collect_timesheets(cls, project, date):
        pool = Pool()
        Product = pool.get('product.product')
        cursor = Transaction().connection.cursor()
        line, where, twork2package = cls._timesheet_query(project)
        if not twork2package:
            return
        query = line.select(line.id, line.work, line.role,
            line.date.as_('date'),
            duration_hours(line.duration),
            where=where & (line.date <= date)
            & (line.invoice_line == Null),
            order_by=[line.date.asc, line.id.asc])
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, None, None, 'DATE', None])
        cursor.execute(*query)
        rows = cursor.fetchall()
        # Rates and products are read once per role and package
        roles = {r.id: (r.id, r.list_price_used or Decimal(0))
            for r in Product.browse(list({r[2] for r in rows if r[2]}))}
        packages = {}
        for twork, package in twork2package.items():
            packages[twork] = (package.name,
                package.product.id if package.product else None,
                package.list_price or Decimal(0))
        currency = cls._item_currency(project)
        for line_id, twork, role_id, line_date, hours in rows:
            name, product, rate = packages[twork]
            if role_id in roles:
                product, rate = roles[role_id]
            yield cls._item(project, 'timesheet',
                'timesheet.line,%s' % line_id, line_date,
                '%s %s' % (name, line_date), product,
                round(float(hours), 2), round_price(rate),
                currency=currency)

    @classmethod
    def _unapproved_timesheets(cls, project):
        "Return the number of unapproved time and material timesheet lines"
        cursor = Transaction().connection.cursor()
        line, where, twork2package = cls._timesheet_query(
            project, approved=False)
        if not twork2package:
            return 0
        cursor.execute(*line.select(Count(line.id), where=where))
        return cursor.fetchone()[0]

    @classmethod
    def _collect_service_units(cls, project, date):
        pool = Pool()
        Unit = pool.get('project.service.unit')
        UnitType = pool.get('project.service.unit.type')
        cursor = Transaction().connection.cursor()
        query, inner, billable = Unit.billable_query([project.id], date)
        query.where = (inner.date <= date) & (billable > 0)
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, None, 'DATE', None])
        cursor.execute(*query)
        rows = cursor.fetchall()
        types = {t.id: (t.name, t.product.id, t.unit_price)
            for t in UnitType.browse(list({r[1] for r in rows}))}
        currency = cls._item_currency(project)
        for unit_id, type_id, unit_date, billable in rows:
            name, product, unit_price = types[type_id]
            yield cls._item(project, 'service_unit',
                'project.service.unit,%s' % unit_id, unit_date,
                '%s %s' % (name, unit_date), product,
                round(float(billable), 4), unit_price, currency=currency)

    # Workflow

    @classmethod
    @ModelView.button
    def release(cls, requests):
        "Release the draft requests and invoice them if configured"
        requests = [r for r in requests if r.state == 'draft']
        cls._release(requests)
        if cls._invoice_on_release():
            cls.invoice(cls.browse(requests))

    @classmethod
    @Workflow.transition('released')
    def _release(cls, requests):
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        Line.lock_units([l for r in requests for l in r.lines])
        Line.check_request_lines(requests)
        for request in requests:
            cls.check_billable(request)
            for line in request.lines:
                invoice = line.get_billed_elsewhere()
                if line.action in INVOICING_ACTIONS and invoice:
                    raise BillingRequestError(gettext(
                            'customer_project.msg_request_timesheet_invoiced',
                            line=line.rec_name, invoice=invoice.rec_name))
        Line.set_settled(requests, True)

    @classmethod
    def _invoice_on_release(cls):
        "Return whether releasing a request creates its invoice directly"
        return True

    def check_billable(self):
        "Raise when the project can not be billed at the request date"
        project = self.project
        if project.stage == 'closed':
            raise BillingRequestError(gettext(
                    'customer_project.msg_request_closed_project',
                    project=project.rec_name))
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        if Line.search([
                    ('request', '=', self.id),
                    ('action', 'in', list(INVOICING_ACTIONS)),
                    ], limit=1):
            if not project.customer_account:
                raise BillingRequestError(gettext(
                        'customer_project.msg_request_no_customer_account',
                        project=project.rec_name))
            project.check_billing(self.date)

    @classmethod
    @Workflow.transition('invoiced')
    def invoice(cls, requests):
        """Create the customer invoices of the released requests for the
        lines to bill which have no invoice line yet"""
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        Line.lock_units([l for r in requests for l in r.lines])
        invoices, invoice_lines, lines = [], [], []
        for request in requests:
            to_invoice = [l for l in request.lines
                if l.action in INVOICING_ACTIONS and not l.invoice_line]
            if not to_invoice:
                continue
            invoice = Line._get_invoice(to_invoice)
            invoices.append(invoice)
            for line in to_invoice:
                invoice_line = line.get_invoice_line()
                invoice_line.invoice = invoice
                invoice_lines.append(invoice_line)
                lines.append(line)
        Invoice.save(invoices)
        for invoice_line in invoice_lines:
            invoice_line.invoice = invoice_line.invoice
        InvoiceLine.save(invoice_lines)
        Invoice.update_taxes(invoices)
        Line.link_invoice_lines(lines, invoice_lines)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, requests):
        pool = Pool()
        Line = pool.get('project.billing.request.line')
        Line.lock_units([l for r in requests for l in r.lines])
        Line.set_settled(requests, False)

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, requests):
        pass


class BillingRequestLine(ModelSQL, ModelView):
    "Billing document request line"
    __name__ = 'project.billing.request.line'

    _states = {
        'readonly': Eval('request_state') != 'draft',
        }

    request = fields.Many2One(
        'project.billing.request', "Request", required=True,
        ondelete='CASCADE', states=_states)
    request_state = fields.Function(fields.Selection(
            'get_request_states', "Request State"),
        'on_change_with_request_state')
    project = fields.Many2One(
        'project.work', "Project", required=True, readonly=True,
        ondelete='RESTRICT')
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    origin = fields.Reference(
        "Origin", selection='get_origins', readonly=True, required=True)
    item_date = fields.Date(
        "Item Date", required=True, readonly=True,
        help="The date of the item or the start of the fee period.")
    description = fields.Char("Description", states=_states)
    product = fields.Many2One(
        'product.product', "Product", readonly=True)
    quantity = fields.Float(
        "Quantity", digits=(16, 4), required=True,
        states={
            'readonly': ((Eval('request_state') != 'draft')
                | (Eval('action') != 'adjust')),
            })
    unit_price = Monetary(
        "Unit Price", currency='currency', digits=price_digits,
        required=True, readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        states={
            'readonly': ((Eval('request_state') != 'draft')
                | (Eval('action') != 'adjust')),
            })
    original_quantity = fields.Float(
        "Original Quantity", digits=(16, 4), readonly=True)
    original_amount = Monetary(
        "Original Amount", currency='currency', digits='currency',
        readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    action = fields.Selection(ACTIONS, "Action", required=True,
        states=_states)
    postpone_date = fields.Date(
        "Postpone To",
        states={
            'invisible': Eval('action') != 'postpone',
            'required': Eval('action') == 'postpone',
            'readonly': Eval('request_state') != 'draft',
            })
    reason = fields.Char(
        "Reason",
        states={
            'invisible': ~Eval('action').in_(['write_off', 'adjust']),
            'required': Eval('action').in_(['write_off', 'adjust']),
            'readonly': Eval('request_state') != 'draft',
            })
    customer_account = fields.Many2One(
        'customer.account', "Customer Account", readonly=True)
    invoice_line = fields.Many2One(
        'account.invoice.line', "Invoice Line", readonly=True)
    settled = fields.Boolean(
        "Settled", readonly=True,
        help="Billed or written off: the item is never collected again.")

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('invoice_line_unique', Unique(t, t.invoice_line),
                'customer_project.msg_request_line_invoice_line_unique'),
            ('origin_settled_unique', Exclude(t,
                    (t.origin, Equal), (t.item_date, Equal),
                    where=t.settled == Literal(True)),
                'customer_project.msg_request_line_origin_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.project, Index.Range()),
                    (t.origin, Index.Equality())),
                Index(t, (t.request, Index.Range())),
                })
        cls._order = [('kind', 'ASC'), ('item_date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_action(cls):
        return 'bill'

    @classmethod
    def default_settled(cls):
        return False

    @classmethod
    def get_request_states(cls):
        pool = Pool()
        Request = pool.get('project.billing.request')
        return Request.fields_get(['state'])['state']['selection']

    @fields.depends('request', '_parent_request.state')
    def on_change_with_request_state(self, name=None):
        if self.request:
            return self.request.state

    @fields.depends('project')
    def on_change_with_currency(self, name=None):
        if self.project:
            return (self.project.project_currency
                or self.project.company.currency)

    @classmethod
    def _get_origins(cls):
        "Return the models of the items billed"
        return ['project.billing.milestone', 'timesheet.line',
            'project.billing.fee', 'project.service.unit']

    @classmethod
    def get_origins(cls):
        pool = Pool()
        Model = pool.get('ir.model')
        return [(None, '')] + [
            (m, Model.get_name(m)) for m in cls._get_origins()]

    @fields.depends('quantity', 'unit_price', 'currency', 'action')
    def on_change_quantity(self):
        if (self.action == 'adjust' and self.quantity is not None
                and self.unit_price is not None and self.currency):
            self.amount = self.currency.round(
                Decimal(str(self.quantity)) * self.unit_price)

    @fields.depends('action', 'original_quantity', 'original_amount')
    def on_change_action(self):
        if self.action != 'adjust':
            self.quantity = self.original_quantity
            self.amount = self.original_amount

    def get_rec_name(self, name):
        "The description, else the name of the origin (not 'model,id')"
        if self.description:
            return self.description
        return self.origin.rec_name if self.origin else '(%s)' % self.id

    @classmethod
    def _line_checks(cls, line, request):
        """Return the (condition, message id) of the lines refused at
        release"""
        invoicing = line.action.in_(list(INVOICING_ACTIONS))
        return [
            ((line.action == 'postpone')
                & ((line.postpone_date == Null)
                    | (line.postpone_date <= request.date)),
                'customer_project.msg_request_line_postpone_date'),
            (line.action.in_(['write_off', 'adjust'])
                & (Coalesce(Trim(line.reason), '') == ''),
                'customer_project.msg_request_line_reason'),
            (invoicing & ((line.quantity < 0) | (line.amount < 0)),
                'customer_project.msg_request_line_negative'),
            (invoicing & (line.product == Null),
                'customer_project.msg_request_line_no_product'),
            ]

    @classmethod
    def check_request_lines(cls, requests):
        """Check the choices of the biller on the lines of requests before
        release (one query per check, whatever the number of lines)"""
        pool = Pool()
        Request = pool.get('project.billing.request')
        cursor = Transaction().connection.cursor()
        line = cls.__table__()
        request = Request.__table__()
        in_requests = fields.SQL_OPERATORS['in'](
            line.request, [r.id for r in requests])
        for condition, msg_id in cls._line_checks(line, request):
            cursor.execute(*line.join(request,
                    condition=line.request == request.id).select(
                    line.id, where=in_requests & condition,
                    order_by=[line.id.asc], limit=1))
            row = cursor.fetchone()
            if row:
                bad = cls(row[0])
                lang = Pool().get('ir.lang').get()
                raise BillingRequestError(gettext(msg_id,
                        line=bad.rec_name,
                        date=lang.strftime(bad.request.date)))

    @classmethod
    def _bulk_changed(cls):
        "Forget the cached values after a change made in SQL"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.pop(cls.__name__, None)

    @classmethod
    def set_settled(cls, requests, settled):
        """Mark the billed, adjusted and written off lines of requests as
        settled (or not) with one UPDATE; the partial unique constraint on
        (origin, item_date) refuses an item settled twice"""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        line = cls.__table__()
        where = fields.SQL_OPERATORS['in'](
            line.request, [r.id for r in requests])
        if settled:
            where &= line.action.in_(list(SETTLING_ACTIONS))
        try:
            cursor.execute(*line.update(
                    [line.settled, line.write_uid, line.write_date],
                    [Literal(bool(settled)), transaction.user,
                        CurrentTimestamp()],
                    where=where))
        except backend.DatabaseIntegrityError:
            raise BillingRequestError(gettext(
                    'customer_project.msg_request_line_origin_unique'))
        cls._bulk_changed()

    @classmethod
    def delete_draft(cls, requests):
        """Delete the lines of draft requests (never settled nor invoiced)
        with one DELETE"""
        cursor = Transaction().connection.cursor()
        line = cls.__table__()
        ids = [r.id for r in requests if r.state == 'draft']
        if not ids:
            return
        cursor.execute(*line.delete(
                where=fields.SQL_OPERATORS['in'](line.request, ids)
                & (line.settled != Literal(True))
                & (line.invoice_line == Null)))
        cls._bulk_changed()

    @classmethod
    def _insert_columns(cls):
        return ['request', 'project', 'customer_account', 'kind', 'origin',
            'item_date', 'description', 'product', 'quantity', 'unit_price',
            'amount', 'original_quantity', 'original_amount', 'action',
            'settled']

    @classmethod
    def insert_items(cls, items):
        """Insert the request lines of items (the values of _collect_items
        with request) by multi-row INSERT statements.

        The values are computed by the module, so the ORM create (defaults,
        validation, record instances) is skipped: for 10^5 lines it costs
        minutes and, as Tryton checks the ids of a batch for each record,
        grows with the square of the number of lines.  The database
        constraints still apply."""
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        table = cls.__table__()
        names = cls._insert_columns()
        if not items:
            return
        # One statement executed for every row: the query is parsed once
        # (a multi-row VALUES of thousands of parameters is parsed again
        # for each chunk by the driver, which is slower)
        query, _ = tuple(table.insert(
                [getattr(table, n) for n in names]
                + [table.create_uid, table.create_date],
                [[None] * (len(names) + 1) + [CurrentTimestamp()]]))
        user = transaction.user
        defaults = {'action': 'bill', 'settled': False}
        cursor.executemany(query, [
                [i[n] if n in i else defaults.get(n) for n in names]
                + [user] for i in items])
        cls._bulk_changed()

    @classmethod
    def settled_keys(cls, project):
        "Return the set of (origin, item date) settled for project"
        cursor = Transaction().connection.cursor()
        line = cls.__table__()
        query = line.select(line.origin, line.item_date.as_('item_date'),
            where=(line.project == project.id)
            & (line.settled == Literal(True)))
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, 'DATE'])
        cursor.execute(*query)
        return set(cursor)

    @classmethod
    def postponed_keys(cls, project):
        "Return {(origin, item date): last postpone date} for project"
        pool = Pool()
        Request = pool.get('project.billing.request')
        cursor = Transaction().connection.cursor()
        line = cls.__table__()
        request = Request.__table__()
        query = line.join(request, condition=line.request == request.id
            ).select(line.origin, line.item_date.as_('item_date'),
            Max(line.postpone_date).as_('postpone_date'),
            where=(line.project == project.id)
            & (line.action == 'postpone')
            & request.state.in_(['released', 'invoiced']),
            group_by=[line.origin, line.item_date])
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, 'DATE', 'DATE'])
        cursor.execute(*query)
        return {(o, d): p for o, d, p in cursor}

    @classmethod
    def settled_origins(cls, records):
        "Return the ids of records which are settled by a request line"
        cursor = Transaction().connection.cursor()
        line = cls.__table__()
        if not records:
            return []
        model = records[0].__name__
        result = []
        for sub in grouped_slice(records, 1000):
            cursor.execute(*line.select(line.origin,
                    where=line.origin.in_(['%s,%s' % (model, r.id)
                            for r in sub])
                    & (line.settled == Literal(True))))
            result.extend(int(o.split(',')[1]) for o, in cursor)
        return result

    @classmethod
    def _get_invoice(cls, lines):
        """Return an unsaved invoice header for the request lines following
        the billing profile, headquarter and third-party rules of the
        customer account of their project"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        request = lines[0].request
        project = request.project
        invoice = Invoice(
            company=project.company,
            type='out',
            party=project.party,
            currency=project.project_currency or project.company.currency,
            description=project.rec_name,
            reference=project.number,
            )
        invoice.on_change_type()
        invoice.on_change_party()
        project._set_billing_invoice(invoice, date=request.date)
        return invoice

    def get_invoice_line(self):
        """Return an unsaved invoice line for the line to bill
        (the caller sets the invoice and saves)"""
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        if self.action not in INVOICING_ACTIONS:
            return None
        project = self.project
        currency = project.project_currency or project.company.currency
        line = InvoiceLine(
            type='line',
            company=project.company,
            currency=currency,
            invoice_type='out',
            product=self.product,
            description=self.description,
            origin=self,
            )
        line.party = project.party
        line.on_change_product()
        quantity = self.quantity
        unit_price = self.unit_price
        if currency.round(Decimal(str(quantity)) * unit_price) != (
                self.amount):
            # An adjusted amount is billed as one lump sum
            quantity, unit_price = 1, self.amount
        line.quantity = quantity
        line.unit_price = round_price(unit_price)
        line.description = self.description
        if 'originating_customer' in InvoiceLine._fields:
            line.originating_customer = project.party
        return line

    @classmethod
    def lock_units(cls, lines):
        """Lock the request lines and the timesheet lines they bill (the
        claim project_invoice's Invoice takes too, see doc/design.rst)"""
        pool = Pool()
        TimesheetLine = pool.get('timesheet.line')
        cls.lock(lines)
        TimesheetLine.lock([l.origin.id for l in lines
                if l.kind == 'timesheet' and l.origin])

    def get_billed_elsewhere(self):
        """Return the invoice which bills the item of the line already,
        or None"""
        if self.invoice_line and self.invoice_line.invoice:
            return self.invoice_line.invoice
        if (self.kind == 'timesheet' and self.origin
                and self.origin.invoice_line):
            return self.origin.invoice_line.invoice

    @classmethod
    def link_invoice_lines(cls, lines, invoice_lines):
        """Store invoice_lines on the request lines and on the timesheet
        lines they bill (never replacing the invoice line of a timesheet
        line billed by another invoice)"""
        pool = Pool()
        TimesheetLine = pool.get('timesheet.line')
        to_write, timesheet_write = [], []
        for line, invoice_line in zip(lines, invoice_lines):
            if (line.kind == 'timesheet' and line.origin.invoice_line
                    and line.origin.invoice_line != invoice_line):
                raise BillingRequestError(gettext(
                        'customer_project.msg_request_timesheet_invoiced',
                        line=line.rec_name,
                        invoice=line.origin.invoice_line.invoice.rec_name))
            to_write.extend(([line], {
                        'invoice_line': invoice_line.id,
                        'settled': True,
                        }))
            if line.kind == 'timesheet':
                timesheet_write.extend(([TimesheetLine(line.origin.id)], {
                            'invoice_line': invoice_line.id,
                            }))
        if to_write:
            cls.write(*to_write)
        if timesheet_write:
            TimesheetLine.write(*timesheet_write)

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if mode == 'delete':
            for line in lines:
                if line.settled or line.invoice_line:
                    raise AccessError(gettext(
                            'customer_project.msg_request_line_delete',
                            line=line.rec_name))
        if not external:
            return
        if mode == 'create' and lines:
            raise AccessError(gettext(
                    'customer_project.msg_request_line_create',
                    line=lines[0].rec_name))
        for line in lines:
            if line.request.state not in cls._modifiable_states(mode):
                raise AccessError(gettext(
                        'customer_project.msg_request_line_modify',
                        line=line.rec_name, request=line.request.rec_name))
        if mode == 'write':
            cls._check_client_values(values)

    @staticmethod
    def _modifiable_states(mode):
        "Return the request states in which clients may write or delete"
        return {'draft', 'cancelled'} if mode == 'delete' else {'draft'}

    @classmethod
    def _server_fields(cls):
        "Return the names of the fields only the server writes"
        return {'project', 'kind', 'origin', 'item_date', 'product',
            'unit_price', 'original_quantity', 'original_amount',
            'customer_account', 'invoice_line', 'settled'}

    @classmethod
    def _check_client_values(cls, values):
        "Refuse the values a client may not write on request lines"
        pool = Pool()
        Request = pool.get('project.billing.request')
        names = sorted(values.keys() & cls._server_fields())
        if names:
            raise AccessError(gettext(
                    'customer_project.msg_request_line_field',
                    field=cls._fields[names[0]].string))
        if values.get('request'):
            request = Request(values['request'])
            if request.state != 'draft':
                raise AccessError(gettext(
                        'customer_project.msg_request_modify',
                        request=request.rec_name))


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['project.billing.request.line']


class Work(metaclass=PoolMeta):
    __name__ = 'project.work'

    @classmethod
    @ModelView.button
    def invoice(cls, works):
        """Refuse to bill with project_invoice's method the timesheet lines
        a billing request bills (locked first, as the requests lock them)"""
        pool = Pool()
        TimesheetLine = pool.get('timesheet.line')
        RequestLine = pool.get('project.billing.request.line')
        timesheet_lines = TimesheetLine.search([
                ('work.origin', 'in', [str(w) for w in cls.search([
                                ('parent', 'child_of', [w.id for w in works]),
                                ])]),
                ('invoice_line', '=', None),
                ])
        TimesheetLine.lock(timesheet_lines)
        settled = RequestLine.search([
                ('origin', 'in', [str(l) for l in timesheet_lines]),
                ('settled', '=', True),
                ], limit=1)
        if settled:
            line, = settled
            raise BillingRequestError(gettext(
                    'customer_project.msg_work_timesheet_requested',
                    line=line.origin.rec_name,
                    request=line.request.rec_name))
        super().invoice(works)

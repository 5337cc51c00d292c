# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import contextlib
from contextvars import ContextVar

from trytond.i18n import gettext
from trytond.model import Index, Unique, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .exceptions import InvoiceReleasedError

# the ids of the taxes of the invoice lines an invoicing run batch is
# computing the taxes of, and their records per context (see Tax.compute)
_batch_taxes = ContextVar('_customer_invoicing_run_batch_taxes', default=None)


@contextlib.contextmanager
def batch_taxes(tax_ids):
    """Compute the taxes of a batch with its taxes read once: stock
    account.tax.compute reads the children of the taxes of each invoice line
    (one query per line, as one2many values are not cached in a writable
    transaction); inside this block they are read for all tax_ids at once"""
    token = _batch_taxes.set((sorted(tax_ids), {}))
    try:
        yield
    finally:
        _batch_taxes.reset(token)


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    invoicing_run = fields.Many2One(
        'customer.invoicing.run', "Invoicing Run", readonly=True,
        ondelete='RESTRICT')
    invoicing_key = fields.Char("Invoicing Key", readonly=True)
    invoicing_sent = fields.Boolean(
        "Sent by Invoicing Run", readonly=True,
        help="The invoice was output through its billing channel.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t,
                (t.invoicing_run, Index.Range()),
                (t.invoicing_key, Index.Equality()),
                where=t.invoicing_run != None))  # noqa: E711
        cls._check_modify_exclude.add('invoicing_sent')

    @classmethod
    def default_invoicing_sent(cls):
        return False

    def compute_fields(self, field_names=None):
        values = super().compute_fields(field_names=field_names)
        # stock writes number_alnum and number_digit back on every invoice
        # created (one UPDATE per invoice): only the changed values are kept
        if values and self.id is not None and self.id >= 0:
            values = {n: v for n, v in values.items()
                if n not in self._fields or getattr(self, n) != v}
        return values

    def _get_billing_account(self):
        """Return the customer account of the invoice, else the one of the
        first run item of its lines (an invoice grouping several accounts)"""
        account = super()._get_billing_account()
        if not account:
            for line in self.lines:
                item = line.invoicing_item
                if item and item.customer_account:
                    return item.customer_account
        return account

    @classmethod
    def cancel(cls, invoices):
        "Release the units billed by the run items of the invoices"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        drafts = {i.id for i in invoices if i.state != 'cancelled'}
        super().cancel(invoices)
        with without_check_access():
            lines = [l for i in cls.browse(list(drafts))
                if i.state == 'cancelled' for l in i.lines
                if l.invoicing_item and l.invoicing_item.state == 'done']
            Item.release(
                [(l.invoicing_item, l.invoice.rec_name) for l in lines])

    @classmethod
    @Workflow.transition('draft')
    def draft(cls, invoices):
        "Refuse to draft again an invoice whose run items were released"
        for invoice in invoices:
            if invoice.state == 'cancelled' and any(
                    l.invoicing_item
                    and l.invoicing_item.state == 'cancelled'
                    for l in invoice.lines):
                raise InvoiceReleasedError(gettext(
                        'customer_invoicing_run.msg_invoice_released',
                        invoice=invoice.rec_name))
        super().draft(invoices)

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('invoicing_run', None)
        default.setdefault('invoicing_key', None)
        default.setdefault('invoicing_sent', False)
        return super().copy(invoices, default=default)


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    invoicing_item = fields.Many2One(
        'customer.invoicing.run.item', "Invoicing Run Item", readonly=True,
        ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('invoicing_item_unique', Unique(t, t.invoicing_item),
                'customer_invoicing_run.msg_invoice_line_item_unique'),
            ]

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['customer.invoicing.manual_item']

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('invoicing_item', None)
        return super().copy(lines, default=default)

    @classmethod
    def on_delete(cls, lines):
        "Release the run items of deleted lines so they can be billed again"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        callbacks = super().on_delete(lines)
        with without_check_access():
            pairs = [(l.invoicing_item.id, l.invoice.rec_name)
                for l in cls.browse(lines)
                if l.invoicing_item and l.invoicing_item.state == 'done']
            Item.release_units(
                [(Item(i), None) for i, _ in pairs])
        if pairs:
            def release():
                with without_check_access():
                    Item.release(
                        [(Item(i), n) for i, n in pairs], units=False)
            callbacks.append(release)
        return callbacks


class Tax(metaclass=PoolMeta):
    __name__ = 'account.tax'

    @classmethod
    def compute(cls, taxes, price_unit, quantity, date):
        batch = _batch_taxes.get()
        if batch is not None:
            tax_ids, records = batch
            context = Transaction().context
            key = (context.get('company'), context.get('language'))
            if key not in records:
                records[key] = {t.id: t for t in cls.browse(tax_ids)}
            shared = records[key]
            taxes = [shared.get(t.id, t) for t in taxes]
        return super().compute(taxes, price_unit, quantity, date)

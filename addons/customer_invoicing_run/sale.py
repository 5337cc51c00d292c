# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from sql.operators import Concat

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction


class SaleLine(metaclass=PoolMeta):
    __name__ = 'sale.line'

    invoicing_run_pending = fields.Function(fields.Boolean(
            "Pending in Invoicing Run"), 'get_invoicing_run_pending')

    @classmethod
    def get_invoicing_run_pending(cls, lines, name):
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        item = Item.__table__()
        cursor = Transaction().connection.cursor()
        pending = set()
        for sub in grouped_slice(lines, 1000):
            cursor.execute(*item.select(item.active_source,
                    where=item.active_source.in_([str(l) for l in sub])
                    & (item.state == 'pending')))
            pending.update(s for s, in cursor)
        return {l.id: str(l) in pending for l in lines}

    def get_invoice_line(self):
        # A line pending in an invoicing run is billed only by that run
        if (not Transaction().context.get('_customer_invoicing_run')
                and self.id is not None and self.id >= 0
                and self.invoicing_run_pending):
            return []
        return super().get_invoice_line()


class Run(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run'

    @classmethod
    def get_sources(cls):
        return [('sale', "Sale Lines")] + super().get_sources()

    @classmethod
    def _get_source_models(cls):
        models = super()._get_source_models()
        models['sale'] = 'sale.line'
        return models

    def _candidates_sale(self):
        "Yield sale lines ready to invoice and not invoiced yet"
        pool = Pool()
        Sale = pool.get('sale.sale')
        SaleLine = pool.get('sale.line')
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')
        sale = Sale.__table__()
        line = SaleLine.__table__()
        invoice = Invoice.__table__()
        invoice_line = InvoiceLine.__table__()
        model = SaleLine.__name__
        invoiced = invoice_line.join(invoice,
            condition=invoice_line.invoice == invoice.id).select(
            invoice_line.origin,
            where=invoice_line.origin.like(model + ',%')
            & (invoice.state != 'cancelled'))
        query = line.join(sale, condition=line.sale == sale.id).select(
            line.id, sale.party, sale.customer_account, sale.third_party,
            sale.sale_date, sale.currency, sale.id,
            where=(sale.company == self.company.id)
            & (sale.state == 'processing')
            & (sale.sale_date <= self.cutoff_date)
            & (line.type == 'line')
            & (line.quantity != 0)
            & ((sale.invoice_method != 'fulfillment')
                | (sale.shipment_state == 'sent'))
            & self._selection_where(sale.party, sale.customer_account)
            & ~Concat(model + ',', line.id).in_(invoiced)
            & self._not_billed_where(model, line.id),
            order_by=[sale.id, line.sequence.nulls_first, line.id])
        yield from self._fetch_candidates(
            query, model, 'sale', origin=Sale.__name__)


class RunItem(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run.item'

    @classmethod
    def _prefetch_sale(cls, items):
        # The product of a sale line is a many2one with a context: read first
        # among the other fields it is instantiated for every line of the
        # batch, read after them it is read again line by line
        for item in items:
            if item.source:
                item.source.product
                break

    @classmethod
    def _lock_sale(cls, items):
        """Lock the sales of the items: stock Sale.process (every invoice
        method, manual_invoice and the process queue) locks them too"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Sale.lock(list({i.source.sale.id for i in items}))

    @classmethod
    def _billed_elsewhere_sale(cls, items):
        """Return {item: invoice} for the sale lines fully invoiced by
        another invoice than the item's"""
        result = {}
        for item in items:
            line = item.source
            invoice_lines = [l for l in line.invoice_lines
                if l.invoicing_item != item and l.invoice
                and l.invoice.state != 'cancelled']
            if not invoice_lines:
                continue
            with Transaction().set_context(_customer_invoicing_run=True):
                remaining = (line._get_invoice_line_quantity()
                    - line._get_invoiced_quantity())
            if line.unit:
                remaining = line.unit.round(remaining)
            if not remaining:
                result[item] = invoice_lines[-1].invoice
        return result

    def _get_invoice_line_sale(self):
        with Transaction().set_context(_customer_invoicing_run=True):
            lines = self.source.get_invoice_line()
        if lines:
            line, = lines
            return line

    def _get_third_party(self):
        if str(self.source).startswith('sale.line,'):
            third_party = self.source.sale.third_party
            return third_party.id if third_party else None
        return super()._get_third_party()

    def _get_origin(self):
        if str(self.source).startswith('sale.line,'):
            return str(self.source.sale)
        return super()._get_origin()

# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from collections import defaultdict

from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice

from .obligation import BillingObligationMixin


class Sale(BillingObligationMixin, metaclass=PoolMeta):
    __name__ = 'sale.sale'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for fname in ['customer_account', 'third_party']:
            field = getattr(cls, fname)
            field.states = {
                'readonly': Eval('state') != 'draft',
                }

    @fields.depends('lines', 'payment_term', 'currency',
        methods=['_billing_on_change_party'])
    def on_change_party(self):
        super().on_change_party()
        self._billing_on_change_party()
        if self.customer_account:
            profile = self.customer_account.profile
            if profile.payment_term:
                self.payment_term = profile.payment_term
            if profile.currency and not self.lines:
                self.currency = profile.currency

    def _get_billing_amount(self):
        return self.untaxed_amount

    @classmethod
    @ModelView.button
    @Workflow.transition('quotation')
    def quote(cls, sales):
        for sale in sales:
            sale.check_billing(sale.sale_date)
        super().quote(sales)

    def _get_invoice(self):
        invoice = super()._get_invoice()
        self._set_billing_invoice(invoice)
        return invoice

    @classmethod
    def _process_invoice(cls, sales):
        keyed = []
        others = []
        for sale in sales:
            if (sale.customer_account
                    and sale.customer_account.profile.grouping != 'order'):
                keyed.append(sale)
            else:
                others.append(sale)
        super()._process_invoice(others)
        if keyed:
            cls._process_billing_invoice(keyed)

    @classmethod
    def _process_billing_invoice(cls, sales):
        "Add the invoice lines of sales to the draft invoices of their cycle"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        InvoiceLine = pool.get('account.invoice.line')

        by_key = defaultdict(list)
        for sale in sales:
            invoice = sale.create_invoice()
            if invoice:
                key = invoice.billing_key or ('sale', sale.id)
                by_key[key].append((sale, invoice, list(invoice.lines)))
        if not by_key:
            return
        targets = cls._get_billing_invoices(list(by_key))
        new = []
        for key, items in by_key.items():
            if key not in targets:
                invoice = items[0][1]
                invoice.lines = []
                targets[key] = invoice
                new.append(invoice)
        Invoice.save(new)

        lines, customers = [], defaultdict(set)
        for key, items in by_key.items():
            target = targets[key]
            for sale, _, invoice_lines in items:
                customers[target].add(sale.party)
                for line in invoice_lines:
                    line.invoice = target
                    lines.append(line)
        InvoiceLine.save(lines)

        to_write = []
        for target, parties in customers.items():
            if (target.originating_customer
                    and {target.originating_customer} != parties):
                to_write.append(target)
        if to_write:
            Invoice.write(to_write, {'originating_customer': None})
        invoices = Invoice.browse([t.id for t in targets.values()])
        Invoice.update_taxes(invoices)
        for key, items in by_key.items():
            for sale, _, _ in items:
                sale.copy_resources_to(targets[key])

    @classmethod
    def _get_billing_invoices(cls, keys):
        "Return the draft invoices of the billing keys"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = {}
        keys = [k for k in keys if isinstance(k, str)]
        for sub_keys in grouped_slice(keys, 500):
            for invoice in Invoice.search([
                        ('billing_key', 'in', list(sub_keys)),
                        ('state', '=', 'draft'),
                        ('type', '=', 'out'),
                        ], order=[('id', 'ASC')]):
                invoices.setdefault(invoice.billing_key, invoice)
        return invoices


class SaleLine(metaclass=PoolMeta):
    __name__ = 'sale.line'

    def get_invoice_line(self):
        sale = self.sale
        lines = super().get_invoice_line()
        for line in lines:
            line.apply_billing_rules(
                sale.party, account=sale.customer_account,
                third_party=sale.third_party)
        return lines

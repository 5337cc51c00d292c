# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction


class InvoiceBatch(Report):
    "Merged document of many customer invoices"
    __name__ = 'customer.invoicing.run.invoice_batch'

    @classmethod
    def execute(cls, ids, data):
        with Transaction().set_context(address_with_party=True):
            return super().execute(ids, data)

    @classmethod
    def render(cls, *args, **kwargs):
        with Transaction().set_context(language=False):
            return super().render(*args, **kwargs)

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Date = pool.get('ir.date')
        context = super().get_context(records, header, data)
        context['invoice'] = context['record']
        with Transaction().set_context(
                company=context['invoice'].company.id):
            context['today'] = Date.today()
        return context

# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from collections import Counter

from trytond.model import fields
from trytond.modules.customer_billing.email_ import (
    delivery_state, latest_deliveries)
from trytond.pool import Pool, PoolMeta


class Run(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run'

    emails_queued = fields.Function(
        fields.Integer("Emails Queued",
            help="The invoices whose email waits for delivery."),
        'get_emails')
    emails_sent = fields.Function(
        fields.Integer("Emails Sent",
            help="The invoices whose email was accepted by the mail server."),
        'get_emails')
    emails_failed = fields.Function(
        fields.Integer("Emails Failed",
            help="The invoices whose email could not be delivered."),
        'get_emails')

    @classmethod
    def get_emails(cls, runs, names):
        "Count the invoices of each run by the state of their latest email"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = Invoice.search([
                ('invoicing_run', 'in', [r.id for r in runs]),
                ('invoicing_sent', '=', True),
                ], order=[])
        counts = {r.id: Counter() for r in runs}
        for invoice, deliveries in latest_deliveries(invoices).items():
            counts[invoice.invoicing_run.id][delivery_state(deliveries)] += 1
        return {n: {r: c[n[len('emails_'):]] for r, c in counts.items()}
            for n in names}

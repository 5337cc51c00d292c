# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .obligation import BillingObligationMixin


class Subscription(BillingObligationMixin, metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for fname in ['customer_account', 'third_party']:
            field = getattr(cls, fname)
            field.states = {
                'readonly': Eval('state') != 'draft',
                }

    @fields.depends(methods=['_billing_on_change_party'])
    def on_change_party(self):
        super().on_change_party()
        self._billing_on_change_party()

    def _get_billing_date(self):
        return self.next_invoice_date or super()._get_billing_date()

    @classmethod
    def quote(cls, subscriptions):
        for subscription in subscriptions:
            subscription.check_billing(subscription.start_date)
        super().quote(subscriptions)

    def _get_invoice(self):
        invoice = super()._get_invoice()
        self._set_billing_invoice(invoice)
        return invoice

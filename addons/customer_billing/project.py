# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .obligation import BillingObligationMixin


class Work(BillingObligationMixin, metaclass=PoolMeta):
    __name__ = 'project.work'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for fname in ['customer_account', 'third_party']:
            field = getattr(cls, fname)
            field.states = {
                'invisible': Eval('type') != 'project',
                }

    @fields.depends(methods=['_billing_on_change_party'])
    def on_change_party(self):
        self._billing_on_change_party()


class WorkInvoice(metaclass=PoolMeta):
    __name__ = 'project.work'

    def _get_invoice(self):
        invoice = super()._get_invoice()
        self._set_billing_invoice(invoice)
        return invoice

# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"The run's credit limit check on customer_status's exposure"
from decimal import Decimal

from trytond.pool import PoolMeta


class Run(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run'

    def _credit_amount(self, invoice):
        """The untaxed amount of the lines not from a sale line: the
        exposure (the party's credit amount) counts the sales not invoiced
        already and adds a draft invoice by its untaxed lines"""
        return sum((l.amount for l in invoice.lines
                if l.type == 'line'
                and getattr(getattr(l, 'origin', None), '__name__', None)
                != 'sale.line'),
            Decimal(0))

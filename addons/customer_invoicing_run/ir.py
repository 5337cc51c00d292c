# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('customer.invoicing.run|run_scheduled',
                    "Start Scheduled Invoicing Runs"),
                ('customer.invoicing.run|resume_stalled',
                    "Resume Stalled Invoicing Runs"),
                ])

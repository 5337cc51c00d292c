# This file is part of the customer_status module.
from trytond.model import fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    credit_limit_date = fields.MultiValue(fields.Date(
            "Credit Limit Due Date",
            help="The date until which the credit limit is granted; "
            "after it the limit counts as zero."))
    secondary_credit_limit_amount = fields.MultiValue(Monetary(
            "Secondary Credit Limit", currency='currency',
            digits='currency'))
    salesperson = fields.Many2One(
        'company.employee', "Salesperson", ondelete='SET NULL')
    customer_references = fields.One2Many(
        'customer.reference', 'party', "Customer References")

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field in {'credit_limit_date', 'secondary_credit_limit_amount'}:
            return pool.get('party.party.credit_limit_amount')
        return super().multivalue_model(field)

    @classmethod
    def customer_status_refresh(cls, parties, companies=None):
        "Refresh the status snapshots of the parties (queue entry point)"
        pool = Pool()
        Company = pool.get('company.company')
        Snapshot = pool.get('customer.status.snapshot')
        if companies is not None:
            companies = Company.browse(companies)
        Snapshot.refresh(parties, companies=companies)


class PartyCreditLimitAmount(metaclass=PoolMeta):
    __name__ = 'party.party.credit_limit_amount'

    credit_limit_date = fields.Date("Credit Limit Due Date")
    secondary_credit_limit_amount = Monetary(
        "Secondary Credit Limit", currency='currency', digits='currency')

# This file is part of the customer_status module.
"Figures through customer_billing's headquarter billing (optional)"
from sql import Null
from sql.aggregate import Sum

from trytond import backend
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import sqlite_apply_types
from trytond.transaction import Transaction


class CustomerStatus(metaclass=PoolMeta):
    __name__ = 'customer.status'

    @classmethod
    def _figure_methods(cls):
        return super()._figure_methods() + ['_figures_billed_through']

    @classmethod
    def _figures_billed_through(
            cls, raw, party_ids, factors, from_date, to_date):
        """Open receivable of the invoices billed to another party (the
        headquarter) whose originating customer is the party"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        MoveLine = pool.get('account.move.line')
        Move = pool.get('account.move')
        Reconciliation = pool.get('account.move.reconciliation')
        in_ = fields.SQL_OPERATORS['in']
        cursor = Transaction().connection.cursor()
        invoice = Invoice.__table__()
        line = MoveLine.__table__()
        move = Move.__table__()
        rec = Reconciliation.__table__()
        query = (invoice
            .join(line, condition=(line.move == invoice.move)
                & (line.account == invoice.account))
            .join(move, condition=line.move == move.id)
            .join(rec, 'LEFT', condition=line.reconciliation == rec.id)
            .select(
                invoice.originating_customer.as_('party'),
                invoice.company.as_('company'),
                Sum(line.debit - line.credit).as_('amount'),
                where=in_(invoice.originating_customer, party_ids)
                & (invoice.party != invoice.originating_customer)
                & in_(invoice.company, list(factors))
                & (move.state == 'posted')
                & (move.date <= to_date)
                & ((line.reconciliation == Null) | (rec.date > to_date)),
                group_by=[invoice.originating_customer, invoice.company]))
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, None, 'NUMERIC'])
        cursor.execute(*query)
        for party, company, amount in cursor:
            raw[party]['billed_through'] = (
                (raw[party].get('billed_through') or 0)
                + amount * factors[company])

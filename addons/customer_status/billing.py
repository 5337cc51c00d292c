# This file is part of the customer_status module.
"Figures through customer_billing's headquarter billing (optional)"
from decimal import Decimal

from sql import Null
from sql.aggregate import Sum
from sql.conditionals import Coalesce

from trytond import backend
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import sqlite_apply_types
from trytond.transaction import Transaction

from .status import _date


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    def customer_status_headquarter(self):
        return bool(self.branches) and not self.headquarter

    def _credit_limit_parties(self, company):
        parties = super()._credit_limit_parties(company)
        headquarter = self.headquarter
        if headquarter and headquarter.get_multivalue(
                'credit_limit_group', company=company.id):
            parties.append(headquarter)
        return parties

    def check_credit_limit(self, amount, company, origin=None):
        "Check also the group limit of the headquarter of a branch"
        super().check_credit_limit(amount, company, origin=origin)
        for party in self._credit_limit_parties(company)[1:]:
            party.check_credit_limit(amount, company, origin=origin)


class CustomerStatus(metaclass=PoolMeta):
    __name__ = 'customer.status'

    @classmethod
    def _figure_methods(cls):
        return super()._figure_methods() + [
            '_figures_billed_through', '_figures_group']

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

    @classmethod
    def get_exposures(cls, party_ids, company, date):
        "The exposure of a headquarter with a group limit is the group's"
        exposures = super().get_exposures(party_ids, company, date)
        factors = {company.id: Decimal(1)}
        limits = cls._group_limits(party_ids, factors, date)
        if limits:
            members = cls._group_members(list(limits))
            values = super().get_exposures(list(members), company, date)
            for headquarter in limits:
                exposures[headquarter] = sum(
                    (values[m] for m, h in members.items()
                        if h == headquarter), Decimal(0))
        return exposures

    @classmethod
    def _headquarter(cls, table):
        "The SQL expression of the headquarter of a party (or itself)"
        return Coalesce(table.headquarter, table.id)

    @classmethod
    def _group_members(cls, headquarter_ids):
        "Return {member id: headquarter id} of the groups"
        pool = Pool()
        Party = pool.get('party.party')
        cursor = Transaction().connection.cursor()
        party = Party.__table__()
        headquarter = cls._headquarter(party)
        cursor.execute(*party.select(
                party.id, headquarter,
                where=fields.SQL_OPERATORS['in'](
                    headquarter, headquarter_ids)))
        return dict(cursor)

    @classmethod
    def _group_limits(cls, headquarter_ids, factors, to_date):
        """Return {headquarter id: group limit} of those of the parties
        whose limit is a group limit (an expired one counting as zero)"""
        pool = Pool()
        Limit = pool.get('party.party.credit_limit_amount')
        cursor = Transaction().connection.cursor()
        in_ = fields.SQL_OPERATORS['in']
        limit = Limit.__table__()
        cursor.execute(*limit.select(
                limit.party, limit.company, limit.credit_limit_amount,
                limit.credit_limit_date,
                where=in_(limit.party, headquarter_ids)
                & in_(limit.company, list(factors))
                & limit.credit_limit_group))
        limits = {}
        for party, company, amount, date in cursor:
            date = _date(date)
            value = (Decimal(0) if date and date < to_date
                else Decimal(amount or 0) * factors[company])
            limits[party] = limits.get(party, Decimal(0)) + value
        return limits

    @classmethod
    def _figures_group(cls, raw, party_ids, factors, from_date, to_date):
        """The group limit of the headquarter of each party (the party or its
        headquarter) and the exposure of every member of the group"""
        pool = Pool()
        Party = pool.get('party.party')
        cursor = Transaction().connection.cursor()
        party = Party.__table__()
        cursor.execute(*party.select(
                party.id, cls._headquarter(party),
                where=fields.SQL_OPERATORS['in'](party.id, party_ids)))
        headquarters = dict(cursor)
        limits = cls._group_limits(
            list(set(headquarters.values())), factors, to_date)
        if not limits:
            return
        members = cls._group_members(list(limits))
        exposures = cls._exposure_values(list(members), factors, to_date)
        totals = {}
        for member, headquarter in members.items():
            totals[headquarter] = (
                totals.get(headquarter, Decimal(0)) + exposures[member])
        for party_id, headquarter in headquarters.items():
            if headquarter in limits:
                raw[party_id].update({
                        'group_headquarter': headquarter,
                        'group_credit_limit': limits[headquarter],
                        'group_exposure': totals[headquarter],
                        })

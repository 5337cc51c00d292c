# This file is part of Tryton.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql import Null

from trytond.pool import Pool, PoolMeta

MODEL = 'sale.subscription.line.consumption'


class Run(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run'

    @classmethod
    def get_sources(cls):
        return super().get_sources() + [
            ('subscription', "Subscription Consumptions")]

    @classmethod
    def _get_source_models(cls):
        models = super()._get_source_models()
        models['subscription'] = MODEL
        return models

    def _candidates_subscription(self):
        "Yield the consumptions of running subscriptions not invoiced yet"
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Line = pool.get('sale.subscription.line')
        Consumption = pool.get(MODEL)
        subscription = Subscription.__table__()
        line = Line.__table__()
        consumption = Consumption.__table__()
        query = (consumption
            .join(line, condition=consumption.line == line.id)
            .join(subscription,
                condition=line.subscription == subscription.id)
            .select(
                consumption.id, subscription.party,
                subscription.customer_account, subscription.third_party,
                consumption.date, subscription.currency, subscription.id,
                where=(subscription.company == self.company.id)
                & (subscription.state == 'running')
                & (consumption.invoice_line == Null)
                & (consumption.date <= self.cutoff_date)
                & self._selection_where(
                    subscription.party, subscription.customer_account)
                & self._not_billed_where(MODEL, consumption.id),
                order_by=[subscription.id, consumption.id]))
        yield from self._fetch_candidates(
            query, MODEL, 'subscription', origin=Subscription.__name__)


class RunItem(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run.item'

    def _get_invoice_line_subscription(self):
        pool = Pool()
        Consumption = pool.get(MODEL)
        invoice = self.run._get_invoice(self)
        lines, _ = Consumption.get_invoice_lines([self.source], invoice)
        if lines:
            line, = lines
            line.originating_customer = self.party
            return line

    def _get_third_party(self):
        if str(self.source).startswith(MODEL + ','):
            third_party = self.source.line.subscription.third_party
            return third_party.id if third_party else None
        return super()._get_third_party()

    def _get_origin(self):
        if str(self.source).startswith(MODEL + ','):
            return str(self.source.line.subscription)
        return super()._get_origin()

    @classmethod
    def _billed_subscription(cls, pairs):
        "Link the consumptions to their invoice line"
        pool = Pool()
        Consumption = pool.get(MODEL)
        to_write = []
        for item, invoice_line in pairs:
            to_write.extend((
                    [Consumption(item.source.id)],
                    {'invoice_line': invoice_line.id}))
        if to_write:
            Consumption.write(*to_write)

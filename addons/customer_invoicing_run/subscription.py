# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import datetime as dt

from sql import Null

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import ItemError

MODEL = 'sale.subscription.line.consumption'
FEE_MODEL = 'sale.subscription.line'


class Run(metaclass=PoolMeta):
    __name__ = 'customer.invoicing.run'

    @classmethod
    def get_sources(cls):
        return super().get_sources() + [
            ('subscription', "Subscription Consumptions"),
            ('subscription_fee', "Subscription Recurring Fees"),
            ]

    @classmethod
    def _get_source_models(cls):
        models = super()._get_source_models()
        models['subscription'] = MODEL
        models['subscription_fee'] = FEE_MODEL
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

    def _candidates_subscription_fee(self):
        """Yield the periods up to the cutoff date of the recurring fees
        (lines of running subscriptions without consumption recurrence)
        not billed yet"""
        pool = Pool()
        Subscription = pool.get('sale.subscription')
        Line = pool.get(FEE_MODEL)
        subscription = Subscription.__table__()
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.join(subscription,
                condition=line.subscription == subscription.id).select(
                line.id,
                where=(subscription.company == self.company.id)
                & (subscription.state == 'running')
                & (line.consumption_recurrence == Null)
                & (line.quantity > 0)
                & (line.start_date <= self.cutoff_date)
                & self._selection_where(
                    subscription.party, subscription.customer_account),
                order_by=[subscription.id, line.id]))
        for line_ids in grouped_slice([i for i, in cursor], 1000):
            candidates = self._fee_candidates(Line.browse(list(line_ids)))
            if candidates:
                yield candidates

    def _fee_candidates(self, lines):
        "Return the candidate values of the unbilled periods of lines"
        pool = Pool()
        Item = pool.get('customer.invoicing.run.item')
        item = Item.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*item.select(item.active_source,
                where=fields.SQL_OPERATORS['in'](
                    item.source, [str(l) for l in lines])
                & (item.active_source != Null)))
        billed = {s for s, in cursor}
        candidates = []
        for line in lines:
            subscription = line.subscription
            for date in line.get_fee_periods(self.cutoff_date):
                source = str(line)
                if Item._get_active_source(source, date) in billed:
                    continue
                candidates.append({
                        'source': source,
                        'source_key': 'subscription_fee',
                        'party': subscription.party.id,
                        'customer_account': (
                            subscription.customer_account.id
                            if subscription.customer_account else None),
                        'third_party': (
                            subscription.third_party.id
                            if subscription.third_party else None),
                        'date': date,
                        'currency': subscription.currency.id,
                        'origin': str(subscription),
                        })
        return candidates


class SubscriptionLine(metaclass=PoolMeta):
    __name__ = FEE_MODEL

    def _fee_rruleset(self):
        "Return the recurrence of the line's fee periods"
        subscription = self.subscription
        start = subscription.invoice_start_date or subscription.start_date
        return subscription.invoice_recurrence.rruleset(
            dt.datetime.combine(start, dt.time()))

    def get_fee_periods(self, cutoff_date):
        """Return the start dates of the line's fee periods up to
        cutoff_date: the dates of the subscription's invoice recurrence on
        which the line runs"""
        end_date = (self.end_date or self.subscription.end_date
            or dt.date.max)
        rruleset = self._fee_rruleset()
        dates = rruleset.between(
            dt.datetime.combine(self.start_date, dt.time()),
            dt.datetime.combine(min(cutoff_date, end_date), dt.time()),
            inc=True)
        return [d.date() for d in dates if d.date() < end_date]

    def get_fee_period_end(self, date):
        "Return the last day of the fee period starting on date"
        next_date = self._fee_rruleset().after(
            dt.datetime.combine(date, dt.time()))
        end_date = self.end_date or self.subscription.end_date
        if next_date:
            next_date = next_date.date() - dt.timedelta(days=1)
        if end_date and (not next_date or end_date < next_date):
            return end_date
        return next_date

    def get_fee_invoice_line(self, date, invoice):
        "Return an unsaved invoice line of the fee for the period on date"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        line = InvoiceLine(
            company=self.subscription.company,
            currency=self.subscription.currency,
            unit=self.unit,
            product=self.service.product,
            unit_price=self.unit_price,
            origin=self,
            )
        line.invoice = invoice
        line.on_change_invoice()
        line.type = 'line'
        line.quantity = self.quantity
        line.on_change_product()
        line.unit_price = self.unit_price
        line.description = gettext(
            'customer_invoicing_run.msg_subscription_fee_description',
            description=self.description or self.service.product.rec_name,
            start=date, end=self.get_fee_period_end(date) or '')
        if not line.account:
            raise ItemError(gettext(
                    'customer_invoicing_run.msg_item_missing_revenue_account',
                    product=self.service.product.rec_name,
                    source=self.rec_name))
        return line


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

    def _get_invoice_line_subscription_fee(self):
        invoice = self.run._get_invoice(self)
        line = self.source.get_fee_invoice_line(self.date, invoice)
        line.originating_customer = self.party
        return line

    @classmethod
    def _get_active_source(cls, source, date):
        # a recurring fee is billed once per line and period
        if source.startswith(FEE_MODEL + ','):
            if isinstance(date, str):
                date = dt.date.fromisoformat(date)
            return '%s@%s' % (source, date.isoformat())
        return super()._get_active_source(source, date)

    def _get_subscription(self):
        "Return the subscription of the item's source or None"
        source = str(self.source)
        if source.startswith(MODEL + ','):
            return self.source.line.subscription
        elif source.startswith(FEE_MODEL + ','):
            return self.source.subscription

    def _get_third_party(self):
        subscription = self._get_subscription()
        if subscription:
            third_party = subscription.third_party
            return third_party.id if third_party else None
        return super()._get_third_party()

    def _get_origin(self):
        subscription = self._get_subscription()
        if subscription:
            return str(subscription)
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

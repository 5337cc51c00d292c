# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
import datetime as dt

from sql import Null

from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.product import round_price
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import FeePeriodError, ItemError

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


class Subscription(metaclass=PoolMeta):
    __name__ = 'sale.subscription'

    @classmethod
    def generate_invoice(cls, date=None):
        """Lock the consumptions stock bills first: the invoicing runs
        lock them too before billing (the claim of doc/design.rst)"""
        pool = Pool()
        Date = pool.get('ir.date')
        Consumption = pool.get(MODEL)
        if date is None:
            date = Date.today()
        Consumption.lock(Consumption.search([
                    ('invoice_line', '=', None),
                    ('line.subscription.next_invoice_date', '<=', date),
                    ('line.subscription.state', 'in', ['running', 'closed']),
                    ('line.subscription.company', '=',
                        Transaction().context.get('company', -1)),
                    ]))
        super().generate_invoice(date=date)


class SubscriptionLine(metaclass=PoolMeta):
    __name__ = FEE_MODEL

    fee_billed_through = fields.Date(
        "Fee Billed Through", readonly=True,
        help="The last day of the last fee period billed by an invoicing "
        "run: the next period starts the day after, whatever the "
        "invoice recurrence becomes.")

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('fee_billed_through', None)
        return super().copy(lines, default=default)

    def _fee_rruleset(self):
        "Return the recurrence of the line's fee periods"
        subscription = self.subscription
        start = subscription.invoice_start_date or subscription.start_date
        return subscription.invoice_recurrence.rruleset(
            dt.datetime.combine(start, dt.time()))

    def _fee_first_date(self):
        "Return the start of the first fee period not billed yet"
        if self.fee_billed_through:
            return self.fee_billed_through + dt.timedelta(days=1)
        return self.start_date

    def get_fee_periods(self, cutoff_date):
        """Return the start dates of the line's fee periods up to
        cutoff_date not billed yet: from the day after the billed-through
        date (or the line's start), each period ending the day before the
        next date of the subscription's invoice recurrence"""
        end_date = (self.end_date or self.subscription.end_date
            or dt.date.max)
        dates = []
        date = self._fee_first_date()
        while date <= cutoff_date and date < end_date:
            dates.append(date)
            period_end = self.get_fee_period_end(date)
            if not period_end:
                break
            date = period_end + dt.timedelta(days=1)
        return dates

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

    def get_fee_proration(self, date):
        """Return (days, period days) of the period starting on date when
        it starts between two dates of the recurrence (the first partial
        period, billed prorated by days), else None"""
        rruleset = self._fee_rruleset()
        start = dt.datetime.combine(date, dt.time())
        previous = rruleset.before(start, inc=True)
        if previous and previous.date() == date:
            return None
        following = rruleset.after(start)
        if not following:
            return None
        following = following.date()
        if previous:
            period_start = previous.date()
        else:
            period_start = following - (
                rruleset.after(dt.datetime.combine(following, dt.time()))
                .date() - following)
        days = (following - date).days
        return days, (following - period_start).days

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
        description = self.description or self.service.product.rec_name
        end = self.get_fee_period_end(date)
        proration = self.get_fee_proration(date)
        # the customer reads the line: in the language of the invoice's party
        # (as stock's invoice report), not the one of the user of the run
        language = (invoice.party.lang.code
            if invoice.party and invoice.party.lang
            else Transaction().language)
        with Transaction().set_context(language=language):
            lang = pool.get('ir.lang').get()
            start, end = lang.strftime(date), lang.strftime(end) if end else ''
            if proration:
                days, period_days = proration
                line.unit_price = round_price(
                    self.unit_price * days / period_days)
                line.description = gettext(
                    'customer_invoicing_run.msg_fee_partial_period',
                    description=description, start=start, end=end,
                    days=days, period_days=period_days)
            else:
                line.description = gettext(
                    'customer_invoicing_run.msg_subscription_fee_description',
                    description=description, start=start, end=end)
        if not line.account:
            raise ItemError(gettext(
                    'customer_invoicing_run.msg_item_missing_revenue_account',
                    product=self.service.product.rec_name,
                    source=self.rec_name))
        return line


class LineConsumption(metaclass=PoolMeta):
    __name__ = MODEL

    def get_rec_name(self, name):
        """The quantity of the service consumed for the subscription and its
        date, formatted by the language (stock names it by its id only: the
        source of an invoicing run item reads as text)"""
        pool = Pool()
        Lang = pool.get('ir.lang')
        lang = Lang.get()
        line = self.line
        quantity = lang.format_number_symbol(
            self.quantity or 0, line.unit, digits=line.unit.digits)
        return '%s %s @ %s, %s' % (quantity, line.service.rec_name,
            line.subscription.rec_name, lang.strftime(self.date))


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
    def _lock_subscription(cls, items):
        "Lock the consumptions (stock generate_invoice locks them too)"
        pool = Pool()
        Consumption = pool.get(MODEL)
        Consumption.lock([i.source.id for i in items])

    @classmethod
    def _billed_elsewhere_subscription(cls, items):
        return {i: i.source.invoice_line.invoice for i in items
            if i.source.invoice_line and i.source.invoice_line.invoice
            and i.source.invoice_line.invoicing_item != i}

    @classmethod
    def _release_subscription(cls, items):
        """Unlink the consumptions of the released items from their
        cancelled or deleted invoice line (stock refuses any write on an
        invoiced consumption, so in SQL), to be billed again"""
        pool = Pool()
        Consumption = pool.get(MODEL)
        table = Consumption.__table__()
        cursor = Transaction().connection.cursor()
        ids = [i.source.id for i in items if i.source]
        for sub in grouped_slice(ids, 1000):
            cursor.execute(*table.update([table.invoice_line], [Null],
                    where=fields.SQL_OPERATORS['in'](table.id, list(sub))))
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.pop(MODEL, None)

    @classmethod
    def _lock_subscription_fee(cls, items):
        pool = Pool()
        Line = pool.get(FEE_MODEL)
        Line.lock([i.source.id for i in items])

    @classmethod
    def _billed_elsewhere_subscription_fee(cls, items):
        """Return {item: invoice or message} for the fee periods up to the
        billed-through date of their line (billed by another invoice) and
        for those which no longer follow it: the line was amended or
        billed by another run since the item was collected, the next run
        collects its periods again from the billed-through date"""
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        lang = pool.get('ir.lang').get()
        by_line = {}
        for item in items:
            by_line.setdefault(item.source, []).append(item)
        result = {}
        for line, line_items in by_line.items():
            expected = line._fee_first_date()
            for item in sorted(line_items, key=lambda i: i.date):
                if line.fee_billed_through and item.date <= (
                        line.fee_billed_through):
                    invoice_lines = InvoiceLine.search([
                            ('origin', '=', str(line)),
                            ('invoice.state', '!=', 'cancelled'),
                            ], order=[('id', 'DESC')], limit=1)
                    if invoice_lines:
                        result[item] = invoice_lines[0].invoice
                        continue
                if expected is None or item.date != expected:
                    result[item] = gettext(
                        'customer_invoicing_run.msg_item_fee_period_moved',
                        source=item.rec_name, date=lang.strftime(item.date),
                        expected=lang.strftime(expected) if expected else '')
                    expected = None
                    continue
                end = line.get_fee_period_end(item.date)
                expected = end + dt.timedelta(days=1) if end else None
        return result

    @classmethod
    def _billed_subscription_fee(cls, pairs):
        "Move the billed-through date of the fee lines to their last period"
        pool = Pool()
        Line = pool.get(FEE_MODEL)
        through = {}
        for item, _ in pairs:
            line = item.source
            end = line.get_fee_period_end(item.date) or item.date
            through[line] = max(filter(None, [through.get(line), end]))
        to_write = []
        for line, date in through.items():
            to_write.extend(([Line(line.id)], {'fee_billed_through': date}))
        if to_write:
            Line.write(*to_write)

    @classmethod
    def _release_subscription_fee(cls, items):
        """Move the billed-through date of the fee lines back before their
        released periods; refuse when a later period stays billed (found
        among the billed items, not from the period ends, which the
        current recurrence may compute otherwise than when billed)"""
        pool = Pool()
        Line = pool.get(FEE_MODEL)
        Line.lock([i.source.id for i in items])
        by_line = {}
        for item in items:
            by_line.setdefault(item.source, []).append(item)
        to_write = []
        for line, line_items in by_line.items():
            first = min(i.date for i in line_items)
            if cls.search([
                        ('source', '=', str(line)),
                        ('state', '=', 'done'),
                        ('date', '>', first),
                        ('id', 'not in', [i.id for i in line_items]),
                        ], limit=1):
                lang = pool.get('ir.lang').get()
                raise FeePeriodError(gettext(
                        'customer_invoicing_run.msg_fee_period_not_last',
                        invoice=line_items[0].invoice.rec_name
                        if line_items[0].invoice else '',
                        line=line.rec_name,
                        date=lang.strftime(line.fee_billed_through)))
            to_write.extend(([Line(line.id)], {
                        'fee_billed_through': (
                            first - dt.timedelta(days=1)
                            if first > line.start_date else None),
                        }))
        if to_write:
            Line.write(*to_write)

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

# This file is part of the customer_status module.
"Exposure as the credit amount of the credit limit check of sales"
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import CreditExposureWarning, CreditOverrideError


def is_credit_manager():
    "Tell if the user of the transaction is in the Credit Manager group"
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if not Transaction().user:
        return True
    # stock's cached group ids, with the groups they imply
    group_id = ModelData.get_id('customer_status', 'group_credit_manager')
    return group_id in User.get_groups()


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def get_credit_amount(cls, parties, name):
        "The exposure of the parties in the company of the context, today"
        pool = Pool()
        Company = pool.get('company.company')
        Date = pool.get('ir.date')
        Status = pool.get('customer.status')
        company_id = Transaction().context.get('company')
        if company_id is None:
            return super().get_credit_amount(parties, name)
        return Status.get_exposures(
            [p.id for p in parties], Company(company_id), Date.today())

    @classmethod
    def _credit_limit_to_lock(cls):
        return super()._credit_limit_to_lock() + [
            'account.invoice', 'account.invoice.line']

    def credit_exceeded(self, amount, company):
        """Return the exposure with amount and the limit of the first party
        whose limit amount would exceed (the party, then its group)"""
        if amount <= 0:
            return None
        for party in self._credit_limit_parties(company):
            limit = party.get_multivalue(
                'credit_limit_amount', company=company.id)
            if limit is None:
                continue
            with Transaction().set_context(company=company.id):
                exposure = self.__class__(party.id).credit_amount
            if exposure + amount > limit:
                return exposure + amount, limit, party


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    credit_override_reason = fields.Text(
        "Credit Override Reason",
        states={
            'readonly': ~Eval('state').in_(['draft', 'quotation']),
            },
        help="Why a credit manager confirms the sale over the credit limit.")
    credit_override_by = fields.Many2One(
        'res.user', "Credit Override By", readonly=True)
    credit_override_date = fields.Timestamp(
        "Credit Override At", readonly=True)

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        for name in [
                'credit_override_reason', 'credit_override_by',
                'credit_override_date']:
            default.setdefault(name, None)
        return super().copy(sales, default=default)

    def must_check_credit_limit(self):
        # an override recorded at confirmation replaces stock's check
        return (super().must_check_credit_limit()
            and not self.credit_override_by)

    def _credit_exceeded(self):
        "Return the exposure with the sale, the limit and its party if over"
        party = self.invoice_party or self.party
        return party.credit_exceeded(self.credit_limit_amount, self.company)

    @classmethod
    @ModelView.button
    @Workflow.transition('quotation')
    def quote(cls, sales):
        pool = Pool()
        Warning = pool.get('res.user.warning')
        Lang = pool.get('ir.lang')
        super().quote(sales)
        lang = Lang.get()
        for sale in sales:
            exceeded = sale._credit_exceeded()
            if not exceeded:
                continue
            name = Warning.format('customer_status_credit_quote', [sale])
            if Warning.check(name):
                exposure, limit, party = exceeded
                currency = sale.company.currency
                raise CreditExposureWarning(name, gettext(
                        'customer_status.msg_sale_credit_exposure',
                        sale=sale.rec_name, party=party.rec_name,
                        exposure=lang.currency(exposure, currency),
                        limit=lang.currency(limit, currency)))

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, sales):
        cls._record_credit_overrides(sales)
        super().confirm(sales)

    @classmethod
    def _record_credit_overrides(cls, sales):
        """Record who overrides the credit limit of the sales over it that a
        credit manager confirms; refuse them without a reason"""
        if not is_credit_manager():
            return  # stock's check blocks the sales over the limit
        overridden = []
        for sale in sales:
            if (sale.credit_override_by
                    or not super(Sale, sale).must_check_credit_limit()
                    or not sale._credit_exceeded()):
                continue
            if not (sale.credit_override_reason or '').strip():
                raise CreditOverrideError(gettext(
                        'customer_status.msg_sale_credit_override_reason',
                        sale=sale.rec_name,
                        party=(sale.invoice_party or sale.party).rec_name))
            overridden.append(sale)
        if overridden:
            with without_check_access():
                cls.write(overridden, {
                        'credit_override_by': Transaction().user,
                        'credit_override_date': dt.datetime.now(),
                        })

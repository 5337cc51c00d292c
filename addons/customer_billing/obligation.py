# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from trytond.model import fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction


class BillingObligationMixin:
    "Obligation (sale, subscription, work) billed through a customer account"
    __slots__ = ()

    customer_account = fields.Many2One(
        'customer.account', "Customer Account", ondelete='RESTRICT',
        domain=[
            ('party', '=', Eval('party', -1)),
            If(Eval('company'), ('company', '=', Eval('company', -1)), ()),
            ],
        help="The customer account the obligation is billed through.")
    third_party = fields.Many2One(
        'party.party', "Bill-to Third Party", ondelete='RESTRICT',
        domain=[
            ('billed_for.customer', '=', Eval('party', -1)),
            ],
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="Bill the obligation to a party authorised by the customer.")

    @fields.depends('party', 'company', 'customer_account', 'third_party')
    def _billing_on_change_party(self):
        pool = Pool()
        Account = pool.get('customer.account')
        if (self.customer_account
                and self.customer_account.party != self.party):
            self.customer_account = None
        if self.party and not self.customer_account:
            self.customer_account = Account.get_default(
                self.party, company=self.company.id if self.company else None)
        self.third_party = None

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Account = pool.get('customer.account')
        Party = pool.get('party.party')
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and values.get('party')
                and 'customer_account' not in values):
            account = Account.get_default(
                Party(values['party']), company=values.get('company'))
            if account:
                values['customer_account'] = account.id
        return values

    def _get_billing_date(self):
        "Return the date at which the obligation is billed"
        pool = Pool()
        Date = pool.get('ir.date')
        with Transaction().set_context(company=self.company.id):
            return Date.today()

    def _get_billing_amount(self):
        "Return the untaxed amount checked against third-party maximums"
        return None

    def check_billing(self, date=None):
        "Check the obligation may be billed as configured"
        if date is None:
            date = self._get_billing_date()
        if self.customer_account:
            self.customer_account.check_billable(date)
        if self.third_party:
            self.party.check_third_party(
                self.third_party, amount=self._get_billing_amount(),
                date=date)

    def _get_billing_invoice_party(self, date):
        "Return the party to invoice or None to keep the default"
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        if self.customer_account or self.third_party:
            return InvoiceLine.get_billing_party(
                self.party, account=self.customer_account,
                third_party=self.third_party, date=date)

    def _set_billing_invoice(self, invoice, date=None):
        "Fill invoice with the billing of the obligation"
        if date is None:
            date = self._get_billing_date()
        party = self._get_billing_invoice_party(date)
        if party and party != invoice.party:
            invoice._billing_invoice_party_values(party)
        account = self.customer_account
        invoice.originating_customer = self.party
        invoice.customer_account = account
        invoice.bill_to_third_party = invoice._is_billed_to_third_party()
        invoice.billing_key = None
        if account:
            profile = account.profile
            if profile.payment_term:
                invoice.payment_term = profile.payment_term
            key = account._get_grouping_key(invoice.party, date)
            if key is not None:
                invoice.billing_key = repr(key)
        return invoice

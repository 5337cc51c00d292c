# This file is part of Tryton.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from sql import Null

from trytond.model import Index, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    originating_customer = fields.Many2One(
        'party.party', "Originating Customer", ondelete='RESTRICT',
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': Eval('type') != 'out',
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The customer the obligations belong to "
        "when the invoice is issued to another party.\n"
        "Empty when the invoice groups the obligations of several customers.")
    customer_account = fields.Many2One(
        'customer.account', "Customer Account", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            If(Eval('originating_customer'),
                ('party', '=', Eval('originating_customer', -1)),
                ()),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': Eval('type') != 'out',
            })
    bill_to_third_party = fields.Boolean(
        "Billed to Third Party", readonly=True,
        states={
            'invisible': Eval('type') != 'out',
            },
        help="The invoice is issued to a third party authorised "
        "by the originating customer.")
    billing_key = fields.Char("Billing Key", readonly=True)
    originating_customers = fields.Function(fields.Many2Many(
            'party.party', None, None, "Originating Customers",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'get_originating_customers',
        searcher='search_originating_customers')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.originating_customer, Index.Range()),
                    where=t.originating_customer != Null),
                Index(t, (t.billing_key, Index.Equality(cardinality='high')),
                    where=(t.billing_key != Null) & (t.state == 'draft')),
                })
        cls._check_modify_exclude.add('billing_key')

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_key', None)
        return super().copy(invoices, default=default)

    @fields.depends('party', 'originating_customer', 'type')
    def on_change_party(self):
        super().on_change_party()
        self.bill_to_third_party = self._is_billed_to_third_party()

    @fields.depends('party', 'originating_customer', 'customer_account')
    def on_change_originating_customer(self):
        pool = Pool()
        Account = pool.get('customer.account')
        if (self.customer_account
                and self.customer_account.party
                != self.originating_customer):
            self.customer_account = None
        if self.originating_customer and not self.customer_account:
            self.customer_account = Account.get_default(
                self.originating_customer,
                company=self.company.id if self.company else None)
        self.bill_to_third_party = self._is_billed_to_third_party()

    @fields.depends('party', 'originating_customer')
    def _is_billed_to_third_party(self):
        customer = self.originating_customer
        return bool(customer and self.party
            and self.party != customer
            and self.party != customer.headquarter)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and values.get('type', 'out') == 'out'
                and 'originating_customer' not in values):
            values['originating_customer'] = values.get('party')
        return values

    def get_originating_customers(self, name):
        customers = {l.originating_customer.id for l in self.lines
            if l.originating_customer}
        if self.originating_customer:
            customers.add(self.originating_customer.id)
        return sorted(customers)

    @classmethod
    def search_originating_customers(cls, name, clause):
        nested = clause[0][len(name):]
        return ['OR',
            ('originating_customer' + nested, *clause[1:]),
            ('lines.originating_customer' + nested, *clause[1:]),
            ]

    @classmethod
    def validate_invoice(cls, invoices):
        cls._check_billing(invoices)
        super().validate_invoice(invoices)

    @classmethod
    def post(cls, invoices):
        cls._check_billing([i for i in invoices if i.state == 'draft'])
        super().post(invoices)

    @classmethod
    def _post(cls, invoices):
        super()._post(invoices)
        cls._deliver_billing(
            [i for i in invoices if i.type == 'out' and i.customer_account])

    @classmethod
    def _deliver_billing(cls, invoices):
        "Deliver the posted invoices through the channel of their profile"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        attachments = []
        for invoice in invoices:
            if invoice.customer_account.profile.channel == 'ubl':
                attachments.append(invoice._get_ubl_attachment())
        Attachment.save(attachments)

    def _get_ubl_attachment(self):
        "Return the UBL e-invoice of the invoice as an attachment"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        EInvoice = pool.get('edocument.ubl.invoice')
        edocument = EInvoice(self)
        return Attachment(
            resource=self, name=edocument.filename, type='data',
            data=edocument.render('2'))

    @classmethod
    def _check_billing(cls, invoices):
        "Check the invoices may be issued to their party"
        invoices = [i for i in invoices if i.type == 'out']
        # the invoices checked together count for each other
        batch = defaultdict(Decimal)
        for invoice in invoices:
            date = invoice.invoice_date
            account = invoice.customer_account
            if account:
                account.check_billable(date)
            for customer, amount in invoice._get_third_party_amounts().items():
                key = (customer, invoice.party)
                batch[key] += amount
                customer.check_third_party(
                    invoice.party, amount=batch[key], date=date,
                    exclude=invoices)

    def _get_third_party_amounts(self):
        "Return the untaxed amount billed to the party per customer"
        amounts = defaultdict(Decimal)
        for line in self.line_lines:
            customer = line.originating_customer or self.originating_customer
            if (customer and customer != self.party
                    and customer.headquarter != self.party):
                amounts[customer] += line.amount
        return amounts

    def _billing_invoice_party_values(self, party):
        "Set the invoice party to party and its dependent values"
        self.party = party
        self.invoice_address = party.address_get(type='invoice')
        self.account = party.account_receivable_used


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    originating_customer = fields.Many2One(
        'party.party', "Originating Customer", ondelete='RESTRICT',
        states={
            'invisible': Eval('invoice_type') != 'out',
            'readonly': Eval('invoice_state') != 'draft',
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The customer the obligation belongs to.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.originating_customer, Index.Range()),
                where=t.originating_customer != Null))

    @fields.depends('invoice', 'originating_customer',
        '_parent_invoice.originating_customer', '_parent_invoice.party')
    def on_change_invoice(self):
        super().on_change_invoice()
        if self.invoice and not getattr(self, 'originating_customer', None):
            self.originating_customer = (
                self.invoice.originating_customer or self.invoice.party)

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and not values.get('originating_customer')
                and values.get('invoice')):
            invoice = Invoice(values['invoice'])
            if invoice.type == 'out':
                customer = invoice.originating_customer or invoice.party
                values['originating_customer'] = customer.id
        return values

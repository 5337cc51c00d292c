# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from email.message import EmailMessage

from sql import Null

from trytond.config import config
from trytond.i18n import gettext
from trytond.model import Index, ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .email_ import DELIVERY_STATES, delivery_state, latest_deliveries
from .exceptions import DeliveryError, EDocumentError


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
    billing_delivered = fields.DateTime(
        "Delivered", readonly=True,
        states={
            'invisible': ~Eval('billing_delivered'),
            },
        help="When the invoice was delivered through the channel "
        "of its billing profile.")
    billing_delivery_state = fields.Function(fields.Selection(
            [(None, "")] + DELIVERY_STATES, "Email Delivery",
            states={
                'invisible': ~Eval('billing_delivery_state'),
                },
            help="The state of the latest email of the invoice."),
        'get_billing_deliveries')
    billing_deliveries = fields.Function(fields.Many2Many(
            'customer.email.delivery', None, None, "Email Deliveries",
            states={
                'invisible': ~Eval('billing_deliveries'),
                }),
        'get_billing_deliveries')
    originating_customers = fields.Function(fields.Many2Many(
            'party.party', None, None, "Originating Customers",
            context={
                'company': Eval('company', -1),
                },
            depends={'company'}),
        'get_originating_customers',
        searcher='search_originating_customers')

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        upgrade = not table_h.column_exist('originating_customer')
        super().__register__(module)
        if upgrade:
            cls._upgrade_originating_customer()

    @classmethod
    def _upgrade_originating_customer(cls):
        """Fill the originating customer of the customer invoices that
        existed before the module was activated with their party"""
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        cursor.execute(*table.update(
                [table.originating_customer], [table.party],
                where=(table.type == 'out')
                & (table.originating_customer == Null)))

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
        cls._check_modify_exclude |= {'billing_key', 'billing_delivered'}
        cls._buttons.update({
                'deliver_billing': {
                    'invisible': (~Eval('state').in_(['posted', 'paid'])
                        | Eval('billing_delivered')
                        | Eval('billing_delivery_state').in_(
                            ['queued', 'sent'])
                        | ~Eval('customer_account')),
                    'depends': [
                        'state', 'billing_delivered', 'customer_account',
                        'billing_delivery_state'],
                    },
                })

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('billing_key', None)
        default.setdefault('billing_delivered', None)
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
    @ModelView.button
    @Workflow.transition('validated')
    def validate_invoice(cls, invoices):
        cls._check_billing(invoices)
        super().validate_invoice(invoices)

    @classmethod
    @ModelView.button
    @Workflow.transition('posted')
    def post(cls, invoices):
        cls._check_billing([i for i in invoices if i.state == 'draft'])
        cls._check_billing_delivery(invoices)
        super().post(invoices)

    @classmethod
    def _post(cls, invoices):
        super()._post(invoices)
        to_deliver = [i for i in invoices if i._delivers_billing()]
        if to_deliver:
            cls.__queue__.deliver_billing(to_deliver)

    @classmethod
    def get_billing_deliveries(cls, invoices, names):
        result = {n: {i.id: None for i in invoices} for n in names}
        if 'billing_deliveries' in result:
            result['billing_deliveries'] = {i.id: [] for i in invoices}
        for invoice, deliveries in latest_deliveries(invoices).items():
            if 'billing_delivery_state' in result:
                result['billing_delivery_state'][invoice.id] = (
                    delivery_state(deliveries))
            if 'billing_deliveries' in result:
                result['billing_deliveries'][invoice.id] = [
                    d.id for d in deliveries]
        return result

    @classmethod
    @ModelView.button
    def deliver_billing(cls, invoices):
        "Deliver the posted invoices through the channel of their profile"
        channels = defaultdict(list)
        pending = latest_deliveries(invoices)
        for invoice in invoices:
            if (invoice._delivers_billing()
                    and not invoice.billing_delivered
                    and delivery_state(pending[invoice]) not in {
                        'queued', 'sent'}
                    and invoice.state in {'posted', 'paid'}):
                channels[invoice._get_billing_channel()].append(invoice)
        delivered = []
        for channel, channel_invoices in channels.items():
            delivered.extend(
                getattr(cls, '_deliver_billing_%s' % channel)(
                    channel_invoices))
        if delivered:
            cls.write(delivered, {
                    'billing_delivered': dt.datetime.now(),
                    })

    def _get_billing_channel(self):
        "Return the delivery channel of the invoice or None"
        account = self._get_billing_account()
        if self.type == 'out' and account:
            return account.profile.channel

    def _delivers_billing(self):
        """Return True if posting delivers the invoice through its channel

        The invoices of an invoicing run (customer_invoicing_run) are
        delivered by the run."""
        return bool(self._get_billing_channel()
            and not getattr(self, 'invoicing_run', None))

    @classmethod
    def _deliver_billing_print(cls, invoices):
        "Generate and store the invoice report; return the invoices printed"
        cls.print_invoice(invoices)
        return invoices

    @classmethod
    def _deliver_billing_email(cls, invoices):
        """Queue the email of the invoices and return none: an invoice is
        delivered when its email is sent (email_delivery_changed)"""
        cls.queue_billing_email(invoices)
        return []

    @classmethod
    def queue_billing_email(cls, invoices):
        """Queue the email of each invoice for delivery after commit;
        return the invoices queued"""
        pool = Pool()
        Delivery = pool.get('customer.email.delivery')
        queued = []
        for invoice in invoices:
            try:
                message = invoice._get_billing_email_message()
            except EDocumentError as exception:
                invoice.record_edocument_failure(exception)
                continue
            if message:
                Delivery.queue_message(message, invoice)
                queued.append(invoice)
        return queued

    @classmethod
    def email_delivery_changed(cls, deliveries):
        "Mark delivered the invoices whose latest email is sent to all"
        invoices = cls.browse(list({d.email.resource.id for d in deliveries}))
        delivered = []
        for invoice, latest in latest_deliveries(invoices).items():
            if (delivery_state(latest) == 'sent'
                    and not invoice.billing_delivered):
                delivered.append(invoice)
                invoice.billing_delivered = max(d.sent_at for d in latest)
        cls.save(delivered)

    @classmethod
    def _deliver_billing_ubl(cls, invoices):
        "Attach the e-invoices; return the invoices attached"
        delivered, _ = cls.store_edocuments(invoices)
        return delivered

    @classmethod
    def store_edocuments(cls, invoices):
        """Attach the validated e-invoice of each invoice (once); return the
        invoices attached and the reason of each refused invoice (recorded
        as a failed delivery)"""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        stored = {a.resource for a in Attachment.search([
                    ('resource', 'in', [str(i) for i in invoices]),
                    ('name', 'in', [i._get_edocument_filename()
                            for i in invoices]),
                    ])}
        attachments, delivered, refused = [], [], {}
        for invoice in invoices:
            if invoice not in stored:
                try:
                    attachments.append(invoice._get_edocument_attachment())
                except EDocumentError as exception:
                    invoice.record_edocument_failure(exception)
                    refused[invoice] = exception.message
                    continue
            delivered.append(invoice)
        Attachment.save(attachments)
        return delivered, refused

    def _get_edocument_filename(self):
        "Return the name of the attachment of the e-invoice"
        extension = 'pdf' if self.get_edocument_format() == 'facturx' else (
            'xml')
        return f'{self.number or self.id}.{extension}'

    def _get_edocument_attachment(self):
        "Return the validated e-invoice as an attachment"
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        document = self.get_edocument()
        return Attachment(
            resource=self, name=self._get_edocument_filename(), type='data',
            data=document.data)

    def record_edocument_failure(self, exception):
        """Record the refused e-invoice as a failed delivery of the invoice
        (retried by the delivery once the clerk fixed the reasons)"""
        pool = Pool()
        Delivery = pool.get('customer.email.delivery')
        contact = (self._get_billing_email()
            if self._get_billing_channel() == 'email' else None)
        address = contact.value if contact else self._get_edocument_filename()
        Delivery.record_failure(self, address, gettext(
                'customer_billing.msg_edocument_subject',
                number=self.number), exception.message)

    def redeliver_document(self, delivery):
        """Produce again the e-invoice of the failed delivery: return the
        email message to send or None when stored as attachment (raise
        EDocumentError while it is still refused)"""
        if self._get_billing_channel() == 'email':
            message = self._get_billing_email_message()
            delivery.email.customer_message = message.as_bytes()
            delivery.email.save()
            return message
        self._get_edocument_attachment().save()

    def _get_billing_email(self):
        """Return the email contact mechanism of the invoice or None

        The invoice contact of the customer account when it belongs to the
        invoiced party, else the email for invoices of the invoice address
        or of the party (the first email when none is for invoices)."""
        account = self.customer_account
        contact = account.invoice_contact if account else None
        if contact and contact.party == self.party:
            return contact
        owner = self.invoice_address or self.party
        return owner.contact_mechanism_get('email', usage='invoice')

    def _get_billing_email_message(self):
        "Return the email message of the invoice with its report or None"
        pool = Pool()
        InvoiceReport = pool.get('account.invoice', type='report')
        Template = pool.get('ir.email.template')
        Lang = pool.get('ir.lang')
        contact = self._get_billing_email()
        if not contact:
            return
        message = EmailMessage()
        message['From'] = config.get('email', 'from')
        message['To'] = contact.value
        # The recipient's language (of the contact, else of its party) as
        # ir.email.template gives it, the date and amount formatted by it
        languages = Template.get_languages(contact)
        with Transaction().set_context(
                language=languages[0].code if languages else None):
            lang = Lang.get()
            message['Subject'] = gettext(
                'customer_billing.msg_invoice_email_subject',
                number=self.number, company=self.company.rec_name)
            message.set_content(gettext(
                    'customer_billing.msg_invoice_email_body',
                    number=self.number,
                    date=lang.strftime(self.invoice_date),
                    amount=lang.format_number(self.total_amount,
                        digits=self.currency.digits),
                    currency=self.currency.code))
        document = self.get_edocument()
        if not document or document.format != 'facturx':
            # Factur-X is the invoice report with its XML embedded
            ext, content, _, _ = InvoiceReport.execute([self.id], {})
            if isinstance(content, str):
                content = content.encode()
            message.add_attachment(
                bytes(content), maintype='application',
                subtype='octet-stream',
                filename='%s.%s' % (self.number, ext))
        if document:
            maintype, subtype = document.mimetype.split('/')
            message.add_attachment(
                document.data, maintype=maintype, subtype=subtype,
                filename=self._get_edocument_filename())
        return message

    @classmethod
    def _check_billing_delivery(cls, invoices):
        "Check the invoices can be delivered through their channel"
        for invoice in invoices:
            if (invoice._delivers_billing()
                    and invoice._get_billing_channel() == 'email'
                    and not invoice._get_billing_email()):
                raise DeliveryError(gettext(
                        'customer_billing.msg_invoice_no_email',
                        invoice=invoice.rec_name,
                        party=invoice.party.rec_name))

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
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        upgrade = not table_h.column_exist('originating_customer')
        super().__register__(module)
        if upgrade:
            cls._upgrade_originating_customer()

    @classmethod
    def _upgrade_originating_customer(cls):
        """Fill the originating customer of the lines of the customer
        invoices that existed before the module was activated with the
        party of their invoice"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        invoice = Invoice.__table__()
        cursor.execute(*table.update(
                [table.originating_customer],
                [invoice.select(invoice.party,
                        where=invoice.id == table.invoice)],
                where=(table.originating_customer == Null)
                & table.invoice.in_(invoice.select(invoice.id,
                        where=invoice.type == 'out'))))

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.originating_customer, Index.Range()),
                where=t.originating_customer != Null))

    @classmethod
    def get_billing_party(
            cls, customer, account=None, third_party=None, date=None):
        """Return the party invoiced for an obligation of customer billed
        through account and to third_party: the third party, else the
        headquarter when the profile of the account bills it, else customer

        When date is given, raise AccountNotBillableError unless the account
        is billable on date and ThirdPartyError unless the third party is
        authorised on date."""
        if date is not None and account:
            account.check_billable(date)
        if third_party and third_party != customer:
            if date is not None:
                customer.check_third_party(third_party, date=date)
            return third_party
        if (account and account.profile.bill_to == 'headquarter'
                and customer.headquarter):
            return customer.headquarter
        return customer

    def apply_billing_rules(
            self, customer, account=None, third_party=None, date=None,
            pending=None):
        """Apply the headquarter, third-party and originating-customer rules
        of an obligation of customer (billed through account and to
        third_party) to the line and return the party to invoice

        The line keeps customer as originating customer whichever party is
        invoiced.  With date, the checks of get_billing_party are run and,
        with pending too, the amount of the line added to pending (what is
        billed to the third party for customer but not counted yet, e.g. on
        draft invoices) and to the amount already billed must stay within
        the maximum of the authorisation."""
        self.originating_customer = customer
        party = self.get_billing_party(
            customer, account=account, third_party=third_party, date=date)
        if (date is not None and pending is not None
                and party not in {customer, customer.headquarter}):
            customer.check_third_party(
                party, amount=pending + self._get_billing_amount(),
                date=date)
        return party

    def _get_billing_amount(self):
        "Return the untaxed amount of the line counted by authorisations"
        if self.type != 'line':
            return Decimal(0)
        return self.on_change_with_amount()

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

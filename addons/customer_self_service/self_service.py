# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from genshi.template import TextTemplate

from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.transaction import Transaction

CSS_STATUSES = [
    ('not_requested', "Not Requested"),
    ('requested', "Requested"),
    ('registration_sent', "Registration Sent"),
    ('registered', "Registered"),
    ('disabled', "Disabled"),
    ]

# Portal capabilities granted by a CSS type, in menu order
CAPABILITIES = [
    'portal_dashboard', 'portal_invoices', 'portal_invoice_pdf',
    'portal_pending', 'portal_projects', 'portal_service_units',
    'portal_details']


class Type(DeactivableMixin, ModelSQL, ModelView):
    "Customer Self Service Type"
    __name__ = 'customer.self_service.type'

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    portal_dashboard = fields.Boolean(
        "Dashboard", help="Show balance, overdue amount and available credit.")
    portal_invoices = fields.Boolean("Invoices")
    portal_invoice_pdf = fields.Boolean("Invoice Download")
    portal_pending = fields.Boolean("Pending Bills")
    portal_projects = fields.Boolean(
        "Projects", help="Only when the project module is activated.")
    portal_service_units = fields.Boolean(
        "Service Units",
        help="The service units of the projects of the customer, "
        "only when the customer project module is activated.")
    portal_details = fields.Boolean(
        "Change Details",
        help="Let the user propose changes of its details to the staff.")
    credentials_template = fields.Many2One(
        'ir.email.template', "Credentials Email", required=True,
        domain=[('model.name', '=', 'web.user')],
        help="The first email, with the user id and the link to set a "
        "password (variables: record, login, set_password_url, "
        "expire_delay).")
    welcome_template = fields.Many2One(
        'ir.email.template', "Welcome Email", required=True,
        domain=[('model.name', '=', 'web.user')],
        help="Sent once the credentials email is sent.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints = [
            ('code_unique', Unique(t, t.code),
                'customer_self_service.msg_type_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def default_portal_dashboard(cls):
        return True

    @classmethod
    def default_portal_invoices(cls):
        return True

    @classmethod
    def default_portal_invoice_pdf(cls):
        return True

    @classmethod
    def default_portal_pending(cls):
        return True

    @classmethod
    def default_portal_projects(cls):
        return False

    @classmethod
    def default_portal_service_units(cls):
        return False

    @classmethod
    def default_portal_details(cls):
        return True

    @property
    def capabilities(self):
        "The set of portal capabilities granted"
        return {c for c in CAPABILITIES if getattr(self, c)}

    @classmethod
    def render(cls, template, user, **extra):
        """Return (subject, body) of the email template for the web user in
        the recipient's language: its party's (or the language of its email
        contact), as ir.email.template's get_languages gives it"""
        pool = Pool()
        Template = pool.get('ir.email.template')
        WebUser = pool.get('web.user')
        languages = Template.get_languages(WebUser(user.id))
        context = {'language': languages[0].code} if languages else {}
        with Transaction().set_context(context):
            # Read in the language: the subject and body are translated
            template = Template(template.id)
            record = WebUser(user.id)
            values = template.get_context(record)
            values.update(extra)
            subject = TextTemplate(template.subject or '').generate(
                **values).render().strip()
            body = TextTemplate(template.body or '').generate(
                **values).render()
        return subject, body


class History(ModelSQL, ModelView):
    "Customer Self Service History"
    __name__ = 'customer.self_service.history'

    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')
    date = fields.Timestamp("Date", required=True)
    from_status = fields.Selection(
        CSS_STATUSES + [(None, "")], "From Status")
    to_status = fields.Selection(CSS_STATUSES, "To Status", required=True)
    user = fields.Many2One('res.user', "User", ondelete='SET NULL')
    web_user = fields.Many2One('web.user', "Portal User", ondelete='SET NULL')
    delivery = fields.Many2One(
        'customer.email.delivery', "Email", ondelete='SET NULL',
        readonly=True,
        help="The email delivery the entry records.")
    delivery_state = fields.Function(fields.Selection(
            'get_delivery_states', "Email State"), 'get_delivery_state')
    comment = fields.Char("Comment")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls.__access__.add('party')
        cls._sql_indexes.add(Index(
                t, (t.party, Index.Range()), (t.date, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_user(cls):
        return Transaction().user or None

    @classmethod
    def get_delivery_states(cls):
        pool = Pool()
        Delivery = pool.get('customer.email.delivery')
        return [(None, "")] + Delivery.fields_get(
            ['state'])['state']['selection']

    def get_delivery_state(self, name):
        return self.delivery.state if self.delivery else None

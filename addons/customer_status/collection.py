# This file is part of the customer_status module.
from sql import Cast, Literal, Null, Union, Window
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce, Greatest, Least
from sql.operators import Concat

from trytond.model import Check, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction


class CompanyPartyMixin:
    __slots__ = ()
    company = fields.Many2One('company.company', "Company", required=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None


class ReturnedCheck(CompanyPartyMixin, ModelSQL, ModelView):
    "Check of a customer returned unpaid by the bank"
    __name__ = 'customer.returned_check'

    date = fields.Date("Date", required=True)
    payment_line = fields.Many2One(
        'account.move.line', "Payment", ondelete='SET NULL',
        domain=[
            ('party', '=', Eval('party', -1)),
            ('move.company', '=', Eval('company', -1)),
            ('account.type.receivable', '=', True),
            ('credit', '>', 0),
            ],
        help="The receivable line of the payment made by the check.")
    reference = fields.Char("Check Number")
    reason = fields.Char("Reason", required=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True)
    fee = Monetary("Fee", currency='currency', digits='currency')
    representation_date = fields.Date(
        "Re-presentation Date",
        domain=[
            If(Bool(Eval('representation_date')),
                ('representation_date', '>=', Eval('date')),
                ()),
            ])
    represented = fields.Function(
        fields.Boolean("Re-presented"), 'get_represented')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('amount_positive', Check(t, t.amount > 0),
                'customer_status.msg_returned_check_amount_positive'),
            ('fee_positive', Check(t, (t.fee == Null) | (t.fee >= 0)),
                'customer_status.msg_returned_check_fee_positive'),
            ]
        cls._order.insert(0, ('date', 'DESC'))

    def get_represented(self, name):
        return bool(self.representation_date)


class Protest(CompanyPartyMixin, Workflow, ModelSQL, ModelView):
    "Protest of an unpaid bill (open receivable line)"
    __name__ = 'customer.protest'

    line = fields.Many2One(
        'account.move.line', "Bill", required=True, ondelete='RESTRICT',
        domain=[
            ('party', '=', Eval('party', -1)),
            ('move.company', '=', Eval('company', -1)),
            ('account.type.receivable', '=', True),
            ('debit', '>', 0),
            If(Eval('state') == 'protested',
                ('reconciliation', '=', None),
                ()),
            ],
        states={
            'readonly': Eval('state') != 'protested',
            })
    date = fields.Date("Date", required=True)
    reference = fields.Char("Notary / Reference")
    cost = Monetary("Cost", currency='currency', digits='currency')
    withdrawal_date = fields.Date("Withdrawal Date", readonly=True)
    state = fields.Selection([
            ('protested', "Protested"),
            ('withdrawn', "Withdrawn"),
            ], "State", readonly=True, required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('cost_positive', Check(t, (t.cost == Null) | (t.cost >= 0)),
                'customer_status.msg_protest_cost_positive'),
            ]
        cls._transitions |= {('protested', 'withdrawn')}
        cls._buttons.update({
                'withdraw': {
                    'invisible': Eval('state') != 'protested',
                    'depends': ['state'],
                    },
                })
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def default_state(cls):
        return 'protested'

    @fields.depends('line')
    def on_change_line(self):
        if self.line:
            self.party = self.line.party
            self.company = self.line.move.company

    @classmethod
    @ModelView.button
    @Workflow.transition('withdrawn')
    def withdraw(cls, protests):
        pool = Pool()
        Date = pool.get('ir.date')
        cls.write(protests, {'withdrawal_date': Date.today()})


class Reference(ModelSQL, ModelView):
    "Commercial or bank reference of a customer"
    __name__ = 'customer.reference'

    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')
    kind = fields.Selection([
            ('commercial', "Commercial"),
            ('bank', "Bank"),
            ], "Kind", required=True)
    name = fields.Char("Name", required=True)
    contact = fields.Char("Contact")
    phone = fields.Char("Phone")
    email = fields.Char("Email")
    bank_account = fields.Char(
        "Bank Account",
        states={
            'invisible': Eval('kind') != 'bank',
            })
    date = fields.Date("Date", help="When the reference was obtained.")
    notes = fields.Text("Notes")

    @classmethod
    def default_kind(cls):
        return 'commercial'

    @classmethod
    def default_party(cls):
        return Transaction().context.get('party')


CHANNELS = [
    ('phone', "Phone"),
    ('email', "Email"),
    ('letter', "Letter"),
    ('sms', "SMS"),
    ('visit', "Visit"),
    ]
OUTCOMES = [
    (None, ""),
    ('reached', "Reached"),
    ('no_answer', "No Answer"),
    ('promise', "Promise to Pay"),
    ('dispute', "Dispute"),
    ('refused', "Refused"),
    ]


class ContactLog(CompanyPartyMixin, ModelSQL, ModelView):
    "Telecollection contact with a customer"
    __name__ = 'customer.contact_log'

    date = fields.Date("Date", required=True)
    channel = fields.Selection(CHANNELS, "Channel", required=True)
    contact = fields.Char("Contact")
    outcome = fields.Selection(OUTCOMES, "Outcome")
    promise_date = fields.Date(
        "Promise Date",
        states={
            'required': Eval('outcome') == 'promise',
            'invisible': Eval('outcome') != 'promise',
            })
    promise_amount = Monetary(
        "Promise Amount", currency='currency', digits='currency',
        states={
            'required': Eval('outcome') == 'promise',
            'invisible': Eval('outcome') != 'promise',
            })
    next_action = fields.Char("Next Action")
    next_action_date = fields.Date("Next Action Date")
    user = fields.Many2One('res.user', "User", readonly=True)
    notes = fields.Text("Notes")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_channel(cls):
        return 'phone'

    @classmethod
    def default_user(cls):
        return Transaction().user

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            values.setdefault('user', Transaction().user)
        return values


class CollectionEvent(ModelSQL, ModelView):
    "Dunning events and contact logs of a customer"
    __name__ = 'customer.status.collection_event'

    company = fields.Many2One('company.company', "Company")
    party = fields.Many2One(
        'party.party', "Customer",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    date = fields.Date("Date")
    kind = fields.Selection([
            ('dunning', "Dunning"),
            ('contact', "Contact"),
            ], "Kind")
    description = fields.Char("Description")
    outcome = fields.Selection(OUTCOMES, "Outcome")
    promise_date = fields.Date("Promise Date")
    promise_amount = fields.Numeric("Promise Amount", digits=(16, 2))
    next_action = fields.Char("Next Action")
    user = fields.Many2One('res.user', "User")
    origin = fields.Reference("Origin", selection=[
            ('account.dunning', "Dunning"),
            ('customer.contact_log', "Contact Log"),
            ])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def table_query(cls):
        pool = Pool()
        Dunning = pool.get('account.dunning')
        Procedure = pool.get('account.dunning.procedure')
        MoveLine = pool.get('account.move.line')
        Log = pool.get('customer.contact_log')
        dunning = Dunning.__table__()
        procedure = Procedure.__table__()
        line = MoveLine.__table__()
        log = Log.__table__()
        char = cls.description.sql_type().base
        dunnings = (dunning
            .join(line, condition=dunning.line == line.id)
            .join(procedure, condition=dunning.procedure == procedure.id)
            .select(
                (dunning.id * 2 + 1).as_('id'),
                dunning.create_uid.as_('create_uid'),
                dunning.create_date.as_('create_date'),
                dunning.write_uid.as_('write_uid'),
                dunning.write_date.as_('write_date'),
                dunning.company.as_('company'),
                line.party.as_('party'),
                dunning.date.as_('date'),
                Literal('dunning').as_('kind'),
                Cast(procedure.name, char).as_('description'),
                Cast(Literal(None), char).as_('outcome'),
                Cast(Literal(None), cls.promise_date.sql_type().base
                    ).as_('promise_date'),
                Cast(Literal(None), cls.promise_amount.sql_type().base
                    ).as_('promise_amount'),
                Cast(Literal(None), char).as_('next_action'),
                Coalesce(dunning.write_uid, dunning.create_uid).as_('user'),
                Concat(Literal('account.dunning,'),
                    Cast(dunning.id, char)).as_('origin'),
                where=dunning.date != Null))
        logs = log.select(
            (log.id * 2).as_('id'),
            log.create_uid.as_('create_uid'),
            log.create_date.as_('create_date'),
            log.write_uid.as_('write_uid'),
            log.write_date.as_('write_date'),
            log.company.as_('company'),
            log.party.as_('party'),
            log.date.as_('date'),
            Literal('contact').as_('kind'),
            Cast(log.channel, char).as_('description'),
            Cast(log.outcome, char).as_('outcome'),
            log.promise_date.as_('promise_date'),
            log.promise_amount.as_('promise_amount'),
            Cast(log.next_action, char).as_('next_action'),
            log.user.as_('user'),
            Concat(Literal('customer.contact_log,'),
                Cast(log.id, char)).as_('origin'))
        return Union(dunnings, logs, all_=True)


class PendingLine(ModelSQL, ModelView):
    "Open receivable line with its residual amount"
    __name__ = 'customer.status.pending_line'

    line = fields.Many2One('account.move.line', "Line")
    company = fields.Many2One('company.company', "Company")
    party = fields.Many2One(
        'party.party', "Customer",
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    invoice = fields.Many2One('account.invoice', "Invoice")
    date = fields.Date("Date")
    maturity_date = fields.Date("Maturity Date")
    currency = fields.Many2One('currency.currency', "Currency")
    amount = Monetary(
        "Amount", currency='currency', digits='currency')
    residual = Monetary(
        "Residual", currency='currency', digits='currency',
        help="The amount still to be paid after partial payments.")
    partially_paid = fields.Function(
        fields.Boolean("Partially Paid"), 'get_partially_paid')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('maturity_date', 'ASC NULLS FIRST'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Account = pool.get('account.account')
        AccountType = pool.get('account.account.type')
        Company = pool.get('company.company')
        Invoice = pool.get('account.invoice')
        InvoicePayment = pool.get('account.invoice-account.move.line')
        Move = pool.get('account.move')
        MoveLine = pool.get('account.move.line')
        line = MoveLine.__table__()
        move = Move.__table__()
        account = Account.__table__()
        type_ = AccountType.__table__()
        company = Company.__table__()
        invoice = Invoice.__table__()
        payment = InvoicePayment.__table__()
        payment_line = MoveLine.__table__()
        paid = (payment
            .join(payment_line, condition=payment.line == payment_line.id)
            .select(
                payment.invoice.as_('invoice'),
                Sum(payment_line.credit - payment_line.debit).as_('amount'),
                group_by=[payment.invoice]))
        amount = line.debit - line.credit
        cumulate = Sum(amount, window=Window(
                [invoice.id],
                order_by=[line.maturity_date.asc, line.id.asc]))
        allocated = Greatest(
            Least(Coalesce(paid.amount, 0) - (cumulate - amount), amount), 0)
        residual = Case(
            ((invoice.id != Null) & (line.debit > 0), amount - allocated),
            else_=amount)
        return (line
            .join(move, condition=line.move == move.id)
            .join(company, condition=move.company == company.id)
            .join(account, condition=line.account == account.id)
            .join(type_, condition=account.type == type_.id)
            .join(invoice, 'LEFT', condition=(invoice.move == line.move)
                & (invoice.account == line.account))
            .join(paid, 'LEFT', condition=paid.invoice == invoice.id)
            .select(
                line.id.as_('id'),
                line.create_uid.as_('create_uid'),
                line.create_date.as_('create_date'),
                line.write_uid.as_('write_uid'),
                line.write_date.as_('write_date'),
                line.id.as_('line'),
                move.company.as_('company'),
                line.party.as_('party'),
                invoice.id.as_('invoice'),
                move.date.as_('date'),
                line.maturity_date.as_('maturity_date'),
                company.currency.as_('currency'),
                amount.as_('amount'),
                residual.as_('residual'),
                where=type_.receivable
                & (move.state == 'posted')
                & (line.reconciliation == Null)
                & ~line.id.in_(payment.select(payment.line))))

    def get_partially_paid(self, name):
        return self.residual != self.amount

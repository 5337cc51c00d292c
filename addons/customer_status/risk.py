# This file is part of the customer_status module.
from decimal import Decimal

from sql import Literal

from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields,
    sequence_ordered)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .snapshot import _queue_refresh, _queue_refresh_snapshots

CRITERIA = [
    ('overdue_ratio', "Overdue Ratio (%)"),
    ('average_delay', "Average Delay (days)"),
    ('longest_delay', "Longest Delay (days)"),
    ('limit_usage', "Limit Usage (%)"),
    ('returned_checks', "Checks Returned"),
    ('protests', "Bills Protested"),
    ('overdue', "Overdue Amount"),
    ]


class RiskClass(sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'customer.status.risk.class'

    code = fields.Char("Code", required=True)
    name = fields.Char("Name", required=True, translate=True)
    rules = fields.One2Many(
        'customer.status.risk.rule', 'risk_class', "Rules")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'customer_status.msg_risk_class_code_unique'),
            ]

    def get_rec_name(self, name):
        return '%s - %s' % (self.code, self.name)

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        # the first class in sequence order is the default one
        if mode != 'write' or 'sequence' in field_names:
            _queue_refresh_snapshots()


class RiskRule(sequence_ordered(), ModelSQL, ModelView):
    "The first rule, in sequence order, whose condition holds gives the class"
    __name__ = 'customer.status.risk.rule'

    risk_class = fields.Many2One(
        'customer.status.risk.class', "Risk Class", required=True,
        ondelete='CASCADE')
    criterion = fields.Selection(CRITERIA, "Criterion", required=True)
    operator = fields.Selection([
            ('>=', ">="),
            ('>', ">"),
            ], "Operator", required=True)
    threshold = fields.Numeric("Threshold", digits=(16, 2), required=True)

    @classmethod
    def default_operator(cls):
        return '>='

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        _queue_refresh_snapshots()

    @classmethod
    def get_rules(cls):
        "Return the rules as (criterion, operator, threshold, class id)"
        return [(r.criterion, r.operator, r.threshold, r.risk_class.id)
            for r in cls.search([])]

    @classmethod
    def get_default_class(cls):
        "Return the id of the class when no rule matches: the first one"
        pool = Pool()
        RiskClass = pool.get('customer.status.risk.class')
        classes = RiskClass.search([], limit=1)
        return classes[0].id if classes else None

    @classmethod
    def classify(cls, rules, figures, default=None):
        "Return the risk class id for the figures"
        for criterion, operator, threshold, class_id in rules:
            if cls._match(figures.get(criterion), operator, threshold):
                return class_id
        return default

    @staticmethod
    def _match(value, operator, threshold):
        if value is None:
            return False
        value = Decimal(value)
        if operator == '>':
            return value > threshold
        return value >= threshold


class RiskOverride(DeactivableMixin, ModelSQL, ModelView):
    "Manual risk class of a customer decided by a credit manager"
    __name__ = 'customer.status.risk.override'

    company = fields.Many2One('company.company', "Company", required=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    risk_class = fields.Many2One(
        'customer.status.risk.class', "Risk Class", required=True)
    reason = fields.Text("Reason", required=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    date = fields.Date("Date", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.company, Index.Equality()),
                (t.party, Index.Equality()),
                where=t.active == Literal(True)))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Date = pool.get('ir.date')
        values = super().preprocess_values(mode, values)
        if mode == 'create' or 'risk_class' in values:
            values['user'] = Transaction().user
            values['date'] = Date.today()
        return values

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        pool = Pool()
        History = pool.get('customer.status.risk.history')
        super().on_modification(mode, records, field_names=field_names)
        if mode == 'create':
            # deactivate the previous overrides of the same customer
            previous = cls.search([
                    ('id', 'not in', [r.id for r in records]),
                    ['OR'] + [[
                            ('company', '=', r.company.id),
                            ('party', '=', r.party.id),
                            ] for r in records],
                    ])
            if previous:
                cls.write(previous, {'active': False})
            History.create([r._history_values() for r in records])
        _queue_refresh(
            {r.party for r in records}, {r.company for r in records})

    def _history_values(self):
        return {
            'company': self.company.id,
            'party': self.party.id,
            'risk_class': self.risk_class.id,
            'kind': 'override',
            'reason': self.reason,
            'user': self.user.id if self.user else None,
            }

    @classmethod
    def get_overrides(cls, party_ids, company):
        "Return {party id: risk class id} of the active overrides"
        Status = Pool().get('customer.status')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        result = {}
        for sub_ids in grouped_slice(party_ids, Status._batch_size):
            cursor.execute(*table.select(
                    table.party, table.risk_class,
                    where=fields.SQL_OPERATORS['in'](table.party, sub_ids)
                    & (table.company == company.id)
                    & (table.active == Literal(True))))
            result.update(cursor)
        return result


class RiskHistory(ModelSQL, ModelView):
    "Change of the risk class of a customer"
    __name__ = 'customer.status.risk.history'

    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True,
        ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    risk_class = fields.Many2One(
        'customer.status.risk.class', "Risk Class", readonly=True)
    previous_class = fields.Many2One(
        'customer.status.risk.class', "Previous Class", readonly=True)
    kind = fields.Selection([
            ('computed', "Computed"),
            ('override', "Manual Override"),
            ], "Kind", required=True, readonly=True)
    reason = fields.Text("Reason", readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

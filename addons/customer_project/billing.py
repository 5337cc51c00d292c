# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from trytond.i18n import gettext
from trytond.model import Check, Index, ModelSQL, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If

from .exceptions import BillingPlanValidationError
from .planning import ProjectDocumentMixin


class BillingPlanMixin(ProjectDocumentMixin):
    __slots__ = ()

    project = fields.Many2One(
        'project.work', "Project", required=True, ondelete='CASCADE',
        readonly=True, domain=[('type', '=', 'project')])
    work_package = fields.Many2One(
        'project.work', "Work Package", required=True, ondelete='CASCADE',
        domain=[
            ('type', '=', 'task'),
            If(Eval('project'), ('parent', '=', Eval('project', -1)), ()),
            ])
    name = fields.Char("Description", required=True)
    product = fields.Many2One(
        'product.product', "Product", required=True,
        domain=[('type', '=', 'service')],
        context={
            'company': Eval('_parent_project', {}).get('company', -1),
            },
        help="The service invoiced.")
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True)
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('amount_positive', Check(t, t.amount >= 0),
                'customer_project.msg_billing_plan_amount_positive'),
            ]
        cls._sql_indexes.add(Index(t, (t.project, Index.Range())))

    @fields.depends('work_package', '_parent_work_package.parent')
    def on_change_work_package(self):
        if self.work_package:
            self.project = self.work_package.parent

    def get_currency(self, name):
        project = self.project
        return (project.project_currency or project.company.currency).id

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            if record.amount is not None and record.amount < 0:
                raise BillingPlanValidationError(gettext(
                        'customer_project.msg_billing_plan_amount_positive'))
        cls.check_project_open(
            records, 'customer_project.msg_billing_plan_closed_project')


class Milestone(BillingPlanMixin, ModelSQL, ModelView):
    "Fixed price milestone"
    __name__ = 'project.billing.milestone'

    planned_date = fields.Date("Planned Date", required=True)
    reached = fields.Boolean("Reached")
    reached_date = fields.Date(
        "Reached Date",
        states={
            'invisible': ~Eval('reached'),
            'required': Eval('reached', False),
            })

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('planned_date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_reached(cls):
        return False

    @fields.depends('reached', 'reached_date', 'planned_date')
    def on_change_reached(self):
        pool = Pool()
        Date = pool.get('ir.date')
        if self.reached and not self.reached_date:
            self.reached_date = Date.today()
        elif not self.reached:
            self.reached_date = None

    @classmethod
    def check_modification(cls, mode, milestones, values=None,
            external=False):
        pool = Pool()
        RequestLine = pool.get('project.billing.request.line')
        super().check_modification(
            mode, milestones, values=values, external=external)
        if mode == 'delete' or (mode == 'write' and values.keys() & {
                    'amount', 'reached', 'reached_date', 'product'}):
            settled = RequestLine.settled_origins(milestones)
            if settled:
                milestone = cls(settled[0])
                raise AccessError(gettext(
                        'customer_project.msg_milestone_billed',
                        milestone=milestone.rec_name))


class Fee(BillingPlanMixin, ModelSQL, ModelView):
    "Periodic service fee"
    __name__ = 'project.billing.fee'

    period = fields.Selection([
            ('month', "Month"),
            ('year', "Year"),
            ], "Period", required=True)
    start_date = fields.Date("Start Date", required=True,
        help="The first period billed starts at this date's period.")
    end_date = fields.Date("End Date",
        domain=[
            If(Eval('end_date'),
                ('end_date', '>=', Eval('start_date')),
                ()),
            ])

    @classmethod
    def default_period(cls):
        return 'month'


class TimesheetLine(metaclass=PoolMeta):
    __name__ = 'timesheet.line'

    approved = fields.Boolean("Approved", readonly=True,
        help="Only approved time is billed on time and material.")
    role = fields.Many2One(
        'product.product', "Role",
        domain=[('type', '=', 'service')],
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The role whose sales rate bills this time.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'approve': {
                    'invisible': Eval('approved', False),
                    'depends': ['approved'],
                    },
                'disapprove': {
                    'invisible': ~Eval('approved', False),
                    'depends': ['approved', 'invoice_line'],
                    'readonly': Bool(Eval('invoice_line')),
                    },
                })

    @classmethod
    def default_approved(cls):
        return False

    @fields.depends('employee', 'role')
    def on_change_employee(self):
        try:
            super().on_change_employee()
        except AttributeError:
            pass
        if self.employee and not self.role:
            self.role = self.employee.project_role

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Employee = pool.get('company.employee')
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and values.get('employee')
                and not values.get('role')):
            role = Employee(values['employee']).project_role
            values['role'] = role.id if role else None
        return values

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('approved', False)
        return super().copy(lines, default=default)

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if (mode == 'write' and external
                and values.keys() & {'duration', 'work', 'date', 'role'}
                and any(l.approved for l in lines)):
            line = next(l for l in lines if l.approved)
            raise AccessError(gettext(
                    'customer_project.msg_timesheet_approved_modify',
                    line=line.rec_name))

    @classmethod
    @ModelView.button
    def approve(cls, lines):
        cls.write(lines, {'approved': True})

    @classmethod
    @ModelView.button
    def disapprove(cls, lines):
        pool = Pool()
        RequestLine = pool.get('project.billing.request.line')
        settled = RequestLine.settled_origins(lines)
        if settled:
            raise AccessError(gettext(
                    'customer_project.msg_timesheet_billed_disapprove',
                    line=cls(settled[0]).rec_name))
        cls.write(lines, {'approved': False})

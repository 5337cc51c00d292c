# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from collections import defaultdict
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Check, Index, ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice, sqlite_apply_types
from trytond.transaction import Transaction

from .common import PERIODS, period_end, period_start
from .exceptions import PlanningValidationError, StaffingWarning

# Above this number of analysis rows read at once, aggregating every group is
# cheaper than looking up the groups of the ids first
ANALYSIS_READ_RESTRICT_MAX = 1000


class ProjectDocumentMixin:
    "Records hanging off a work package of a customer project"
    __slots__ = ()

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Work = pool.get('project.work')
        values = super().preprocess_values(mode, values)
        if values.get('work_package') and 'project' not in values:
            package = Work(values['work_package'])
            values['project'] = package.parent.id if package.parent else None
        return values

    @classmethod
    def check_project_open(cls, records, msg_id):
        for record in records:
            if record.project and record.project.stage == 'closed':
                raise PlanningValidationError(gettext(
                        msg_id, project=record.project.rec_name))


class ResourceDemand(ProjectDocumentMixin, ModelSQL, ModelView):
    __name__ = 'project.resource.demand'

    project = fields.Many2One(
        'project.work', "Project", required=True, ondelete='CASCADE',
        readonly=True, domain=[('type', '=', 'project')])
    work_package = fields.Many2One(
        'project.work', "Work Package", required=True, ondelete='CASCADE',
        domain=[
            ('type', '=', 'task'),
            If(Eval('project'), ('parent', '=', Eval('project', -1)), ()),
            ])
    role = fields.Many2One(
        'product.product', "Role", required=True,
        domain=[('type', '=', 'service')],
        context={
            'company': Eval('_parent_project', {}).get('company', -1),
            },
        help="The service sold for the effort.")
    period = fields.Selection(PERIODS, "Period", required=True)
    period_start = fields.Date(
        "Period Start", required=True,
        help="Normalized to the first day of the week or month.")
    period_end = fields.Function(fields.Date("Period End"), 'get_period_end')
    hours = fields.Float("Hours", digits=(16, 2), required=True)
    cost_rate = fields.Numeric(
        "Cost Rate", digits=price_digits, required=True,
        help="The hourly cost of the role.")
    sales_rate = fields.Numeric(
        "Sales Rate", digits=price_digits, required=True,
        help="The hourly sales price of the role.")
    planned_cost = fields.Function(Monetary(
            "Planned Cost", currency='currency', digits='currency'),
        'get_amounts')
    planned_revenue = fields.Function(Monetary(
            "Planned Revenue", currency='currency', digits='currency'),
        'get_amounts')
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"), 'get_currency')
    staffing = fields.One2Many('project.staffing', 'demand', "Staffing")
    staffed_hours = fields.Function(
        fields.Float("Staffed Hours", digits=(16, 2)), 'get_staffed_hours')
    unstaffed_hours = fields.Function(
        fields.Float("Unstaffed Hours", digits=(16, 2)),
        'get_staffed_hours', searcher='search_unstaffed_hours')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('hours_positive', Check(t, t.hours >= 0),
                'customer_project.msg_demand_hours_positive'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.project, Index.Range()),
                    (t.period_start, Index.Range())),
                })
        cls._order = [('period_start', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_period(cls):
        return 'week'

    @classmethod
    def default_period_start(cls):
        "The current period (of the default period)"
        pool = Pool()
        Date = pool.get('ir.date')
        return period_start(Date.today(), cls.default_period())

    @fields.depends('role', 'project', '_parent_project.company')
    def on_change_role(self):
        pool = Pool()
        Product = pool.get('product.product')
        if self.role:
            company = (self.project.company.id if self.project
                else Transaction().context.get('company'))
            with Transaction().set_context(company=company):
                role = Product(self.role.id)
                self.cost_rate = role.cost_price
                self.sales_rate = role.list_price_used

    @fields.depends('work_package', '_parent_work_package.parent')
    def on_change_work_package(self):
        if self.work_package:
            self.project = self.work_package.parent

    @fields.depends('period', 'period_start')
    def on_change_period_start(self):
        self.period_start = period_start(self.period_start, self.period)

    @fields.depends(methods=['on_change_period_start'])
    def on_change_period(self):
        self.on_change_period_start()

    def get_period_end(self, name):
        return period_end(self.period_start, self.period)

    def get_currency(self, name):
        return self.project.company.currency.id

    @classmethod
    def get_amounts(cls, demands, names):
        result = {n: {} for n in names}
        for demand in demands:
            hours = Decimal(str(demand.hours or 0))
            round_ = demand.currency.round
            if 'planned_cost' in names:
                result['planned_cost'][demand.id] = round_(
                    hours * (demand.cost_rate or 0))
            if 'planned_revenue' in names:
                result['planned_revenue'][demand.id] = round_(
                    hours * (demand.sales_rate or 0))
        return result

    @classmethod
    def _staffed_hours_query(cls):
        "Return the query of staffed and unstaffed hours and its tables"
        pool = Pool()
        Staffing = pool.get('project.staffing')
        demand = cls.__table__()
        staffing = Staffing.__table__()
        staffed = Coalesce(Sum(staffing.hours), 0.0)
        query = demand.join(staffing, 'LEFT',
            condition=staffing.demand == demand.id
            ).select(demand.id, staffed, Min(demand.hours) - staffed,
            group_by=demand.id)
        return query, demand, staffing

    @classmethod
    def get_staffed_hours(cls, demands, names):
        cursor = Transaction().connection.cursor()
        result = {n: {d.id: 0. for d in demands} for n in names}
        query, demand, _ = cls._staffed_hours_query()
        for sub_ids in grouped_slice([d.id for d in demands], 1000):
            query.where = fields.SQL_OPERATORS['in'](demand.id, sub_ids)
            cursor.execute(*query)
            for demand_id, staffed, unstaffed in cursor:
                if 'staffed_hours' in names:
                    result['staffed_hours'][demand_id] = staffed
                if 'unstaffed_hours' in names:
                    result['unstaffed_hours'][demand_id] = unstaffed
        return result

    @classmethod
    def search_unstaffed_hours(cls, name, clause):
        _, operator, value = clause
        query, demand, staffing = cls._staffed_hours_query()
        Operator = fields.SQL_OPERATORS[operator]
        query.having = Operator(
            Min(demand.hours) - Coalesce(Sum(staffing.hours), 0.0), value)
        query.columns = [demand.id]
        return [('id', 'in', query)]

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Product = pool.get('product.product')
        values = super().preprocess_values(mode, values)
        if values.get('period_start'):
            values['period_start'] = period_start(
                values['period_start'], values.get('period', 'week'))
        if mode == 'create' and values.get('role'):
            role = Product(values['role'])
            if values.get('cost_rate') is None:
                values['cost_rate'] = role.cost_price or 0
            if values.get('sales_rate') is None:
                values['sales_rate'] = role.list_price_used or 0
        return values

    @classmethod
    def validate_fields(cls, demands, field_names):
        super().validate_fields(demands, field_names)
        cls.check_project_open(
            demands, 'customer_project.msg_demand_closed_project')
        cls.check_dates(demands, field_names)

    @classmethod
    def check_dates(cls, demands, field_names=None):
        "Check that the period of a demand overlaps its project dates"
        if field_names and not (
                field_names & {'period_start', 'period', 'work_package'}):
            return
        for demand in demands:
            project = demand.project
            end = period_end(demand.period_start, demand.period)
            if ((project.start_date and end < project.start_date)
                    or (project.end_date
                        and demand.period_start > project.end_date)):
                lang = Pool().get('ir.lang').get()
                raise PlanningValidationError(gettext(
                        'customer_project.msg_demand_outside_project',
                        demand=demand.rec_name, project=project.rec_name,
                        start=lang.strftime(project.start_date)
                        if project.start_date else '',
                        end=lang.strftime(project.end_date)
                        if project.end_date else ''))

    def get_rec_name(self, name):
        "The role, the start of the period (by the language), the package"
        lang = Pool().get('ir.lang').get()
        return '%s @ %s (%s)' % (self.role.rec_name,
            lang.strftime(self.period_start) if self.period_start else '',
            self.work_package.rec_name)

    @classmethod
    def copy(cls, demands, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('staffing', None)
        return super().copy(demands, default=default)


class Staffing(ModelSQL, ModelView):
    __name__ = 'project.staffing'

    demand = fields.Many2One(
        'project.resource.demand', "Demand", required=True,
        ondelete='CASCADE')
    project = fields.Many2One(
        'project.work', "Project", required=True, readonly=True,
        ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True)
    hours = fields.Float("Hours", digits=(16, 2), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('hours_positive', Check(t, t.hours >= 0),
                'customer_project.msg_staffing_hours_positive'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.employee, Index.Range())),
                Index(t, (t.demand, Index.Range())),
                })

    @fields.depends('demand', '_parent_demand.project')
    def on_change_demand(self):
        if self.demand:
            self.project = self.demand.project

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        values = super().preprocess_values(mode, values)
        if values.get('demand') and 'project' not in values:
            values['project'] = Demand(values['demand']).project.id
        return values

    @classmethod
    def validate_fields(cls, staffings, field_names):
        super().validate_fields(staffings, field_names)
        for staffing in staffings:
            if staffing.project.stage in {'completed', 'closed'}:
                raise PlanningValidationError(gettext(
                        'customer_project.msg_staffing_closed_project',
                        project=staffing.project.rec_name))
        cls.check_package_dates(staffings)
        cls.check_capacity(staffings)

    @classmethod
    def check_package_dates(cls, staffings):
        pool = Pool()
        Warning = pool.get('res.user.warning')
        outside = []
        for staffing in staffings:
            demand = staffing.demand
            package = demand.work_package
            end = period_end(demand.period_start, demand.period)
            start_date = package.start_date or demand.project.start_date
            end_date = package.end_date or demand.project.end_date
            if ((start_date and demand.period_start < start_date)
                    or (end_date and end > end_date)):
                outside.append(staffing)
        if outside:
            key = Warning.format('staffing_outside_package', outside)
            if Warning.check(key):
                staffing = outside[0]
                raise StaffingWarning(key, gettext(
                        'customer_project.msg_staffing_outside_package',
                        employee=staffing.employee.rec_name,
                        package=staffing.demand.work_package.rec_name))

    @classmethod
    def _capacity(cls, employee, period):
        company = employee.company
        if period == 'week':
            return company.hours_per_work_week or 0
        return company.hours_per_work_month or 0

    @classmethod
    def booked_hours(cls, keys):
        """Return {(employee, period, period_start): hours} over all
        projects for the keys"""
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        cursor = Transaction().connection.cursor()
        staffing = cls.__table__()
        demand = Demand.__table__()
        employees = {k[0] for k in keys}
        starts = {k[2] for k in keys}
        result = defaultdict(float)
        query = staffing.join(demand, condition=staffing.demand == demand.id
            ).select(staffing.employee, demand.period,
            demand.period_start.as_('period_start'), Sum(staffing.hours),
            group_by=[staffing.employee, demand.period, demand.period_start])
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, None, 'DATE', None])
        for sub_employees in grouped_slice(list(employees), 500):
            query.where = (
                fields.SQL_OPERATORS['in'](staffing.employee, sub_employees)
                & fields.SQL_OPERATORS['in'](demand.period_start, starts))
            cursor.execute(*query)
            for employee, period, start, hours in cursor:
                result[(employee, period, start)] += hours or 0
        return result

    @classmethod
    def check_capacity(cls, staffings):
        "Warn when an employee is booked beyond the company working time"
        pool = Pool()
        Warning = pool.get('res.user.warning')
        keys = {(s.employee.id, s.demand.period, s.demand.period_start): s
            for s in staffings}
        booked = cls.booked_hours(keys)
        over = []
        for key, staffing in keys.items():
            capacity = cls._capacity(staffing.employee, key[1])
            if booked.get(key, 0) > capacity:
                over.append((staffing, booked[key], capacity))
        if over:
            key = Warning.format(
                'staffing_capacity', [o[0] for o in over])
            if Warning.check(key):
                staffing, hours, capacity = over[0]
                lang = Pool().get('ir.lang').get()
                raise StaffingWarning(key, gettext(
                        'customer_project.msg_staffing_over_capacity',
                        employee=staffing.employee.rec_name,
                        period=lang.strftime(staffing.demand.period_start),
                        hours=lang.format_number(hours, digits=2),
                        capacity=lang.format_number(capacity, digits=2)))


class StaffingAnalysisContext(ModelView):
    __name__ = 'project.staffing.analysis.context'

    project_manager = fields.Many2One(
        'company.employee', "Project Manager")
    from_date = fields.Date("From Date")
    to_date = fields.Date("To Date")
    period = fields.Selection([(None, "")] + PERIODS, "Period")


class StaffingAnalysis(ModelSQL, ModelView):
    "Demand against staffed hours and capacity per period and role"
    __name__ = 'project.staffing.analysis'

    project = fields.Many2One('project.work', "Project")
    project_manager = fields.Many2One('company.employee', "Project Manager")
    role = fields.Many2One('product.product', "Role")
    period = fields.Selection(PERIODS, "Period")
    period_start = fields.Date("Period Start")
    demand_hours = fields.Float("Demand", digits=(16, 2))
    staffed_hours = fields.Float("Staffed", digits=(16, 2))
    unstaffed_hours = fields.Float("Unstaffed", digits=(16, 2))
    capacity_hours = fields.Float(
        "Capacity", digits=(16, 2),
        help="Working time of the employees having the role.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('period_start', 'ASC'),
            ('project', 'ASC'),
            ('role', 'ASC'),
            ('id', 'ASC'),
            ]

    @classmethod
    def read(cls, ids, fields_names):
        # A row is a group of demands whose id is the smallest demand of the
        # group: table_query aggregates only the projects and periods of the
        # rows read instead of every group of the context for each batch the
        # client reads
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        context = {}
        if 0 < len(ids) <= ANALYSIS_READ_RESTRICT_MAX:
            cursor = Transaction().connection.cursor()
            demand = Demand.__table__()
            query = demand.select(
                demand.project, demand.period_start.as_('period_start'),
                where=fields.SQL_OPERATORS['in'](demand.id, list(ids)))
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, 'DATE'])
            cursor.execute(*query)
            projects, starts = set(), set()
            for project, start in cursor:
                projects.add(project)
                starts.add(start)
            context['_staffing_analysis_groups'] = (
                sorted(projects), sorted(starts))
        with Transaction().set_context(context):
            return super().read(ids, fields_names)

    @classmethod
    def table_query(cls):
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        Staffing = pool.get('project.staffing')
        Work = pool.get('project.work')
        Employee = pool.get('company.employee')
        Company = pool.get('company.company')
        context = Transaction().context
        demand = Demand.__table__()
        staffing = Staffing.__table__()
        work = Work.__table__()
        employee = Employee.__table__()
        company = Company.__table__()

        where = Literal(True)
        if context.get('project_manager'):
            where &= work.project_manager == context['project_manager']
        if context.get('from_date'):
            where &= demand.period_start >= context['from_date']
        if context.get('to_date'):
            where &= demand.period_start <= context['to_date']
        if context.get('period'):
            where &= demand.period == context['period']
        if context.get('_staffing_analysis_groups'):
            # Filtering on group columns keeps whole groups (set by read)
            projects, starts = context['_staffing_analysis_groups']
            where &= fields.SQL_OPERATORS['in'](demand.project, projects)
            where &= fields.SQL_OPERATORS['in'](demand.period_start, starts)

        # Staffed hours per demand, for the filtered demands only
        keys = [demand.project, work.project_manager, demand.role,
            demand.period, demand.period_start]
        per_demand = (demand
            .join(work, condition=demand.project == work.id)
            .join(staffing, 'LEFT', condition=staffing.demand == demand.id)
            .select(
                demand.id.as_('id'),
                *(k.as_(k.name) for k in keys),
                Min(demand.hours).as_('hours'),
                Coalesce(Sum(staffing.hours), 0.0).as_('staffed'),
                where=where,
                group_by=[demand.id, *keys]))
        capacity = employee.join(company,
            condition=employee.company == company.id
            ).select(employee.project_role.as_('role'),
            Sum(company.hours_per_work_week).as_('week'),
            Sum(company.hours_per_work_month).as_('month'),
            where=employee.project_role != Null,
            group_by=employee.project_role)

        demand_hours = Sum(per_demand.hours)
        staffed_hours = Sum(per_demand.staffed)
        capacity_hours = Min(Coalesce(Case(
                    (per_demand.period == 'week', capacity.week),
                    else_=capacity.month), 0))
        keys = [per_demand.project, per_demand.project_manager,
            per_demand.role, per_demand.period, per_demand.period_start]
        # The id is the smallest demand of the group; the analysis is
        # read-only
        return (per_demand
            .join(capacity, 'LEFT', condition=capacity.role == per_demand.role)
            .select(
                Min(per_demand.id).as_('id'),
                *(k.as_(k.name) for k in keys),
                demand_hours.as_('demand_hours'),
                staffed_hours.as_('staffed_hours'),
                (demand_hours - staffed_hours).as_('unstaffed_hours'),
                capacity_hours.as_('capacity_hours'),
                Count(per_demand.id).as_('demand_count'),
                group_by=keys))

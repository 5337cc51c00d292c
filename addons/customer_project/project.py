# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime
from decimal import Decimal
from functools import wraps

from sql import Literal, Null
from sql.aggregate import Max, Sum
from sql.conditionals import Case, Coalesce
from sql.operators import Concat

from trytond import backend
from trytond.i18n import gettext, ngettext
from trytond.model import ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.modules.currency.fields import Monetary
from trytond.modules.customer_billing.upgrade import post_text_column
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.rpc import RPC
from trytond.tools import grouped_slice, sqlite_apply_types
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .common import WizardStartMixin, duration_hours, project_of_work
from .exceptions import (
    ProjectAPIError, ProjectStageError, ProjectValidationError)

STAGES = [
    ('planning', "In Planning"),
    ('contract', "Contract Preparation"),
    ('contracted', "Contracted"),
    ('completed', "Completed"),
    ('closed', "Closed"),
    ]
_is_project = Eval('type') == 'project'
_is_package = (Eval('type') == 'task') & Bool(Eval('parent'))


def stage_transition(stage, sources=None):
    """Refuse the change of the projects among the records to stage when the
    transition is not allowed (from sources only when given), then pass the
    projects only (work packages have no stage) to Workflow.transition"""
    def decorator(func):
        @wraps(func)
        def wrapper(cls, works, *args, **kwargs):
            projects = [w for w in works if w.type == 'project']
            for work in projects:
                if ((work.stage, stage) not in cls._transitions
                        or (sources is not None
                            and work.stage not in sources)):
                    raise ProjectStageError(gettext(
                            'customer_project.msg_stage_transition',
                            project=work.rec_name,
                            from_=work.stage, to=stage))
            return func(cls, projects, *args, **kwargs)
        return wrapper
    return decorator


def _shift(delta, name):
    def shift(data):
        value = data.get(name)
        return value + delta if value else value
    return shift


def _decimal(value):
    "Convert a SQL result (float on some backends) to Decimal"
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


class Work(Workflow, metaclass=PoolMeta):
    __name__ = 'project.work'

    project_manager = fields.Many2One(
        'company.employee', "Project Manager",
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'invisible': ~_is_project,
            })
    start_date = fields.Date(
        "Start Date",
        domain=[
            If(Eval('start_date') & Eval('end_date'),
                ('start_date', '<=', Eval('end_date')),
                ()),
            ])
    end_date = fields.Date(
        "End Date",
        domain=[
            If(Eval('start_date') & Eval('end_date'),
                ('end_date', '>=', Eval('start_date')),
                ()),
            ])
    project_currency = fields.Many2One(
        'currency.currency', "Project Currency",
        states={
            'invisible': ~_is_project,
            },
        help="The currency of the customer invoices "
        "(the company currency when empty).")
    stage = fields.Selection(STAGES, "Stage", readonly=True, required=True,
        states={
            'invisible': ~_is_project,
            })
    stage_string = stage.translated('stage')
    confidentiality = fields.Selection([
            ('public', "Public"),
            ('internal', "Internal"),
            ('confidential', "Confidential"),
            ('strict', "Strictly Confidential"),
            ], "Confidentiality", required=True,
        states={
            'invisible': ~_is_project,
            })
    time_and_material = fields.Boolean(
        "Time and Material",
        states={
            'invisible': ~_is_package,
            },
        help="Bill approved timesheets at the role's sales rate.")
    demands = fields.One2Many(
        'project.resource.demand', 'work_package', "Resource Demands",
        states={
            'invisible': ~_is_package,
            })
    milestones = fields.One2Many(
        'project.billing.milestone', 'work_package', "Milestones",
        states={
            'invisible': ~_is_package,
            })
    fees = fields.One2Many(
        'project.billing.fee', 'work_package', "Periodic Fees",
        states={
            'invisible': ~_is_package,
            })
    service_units = fields.One2Many(
        'project.service.unit', 'project', "Service Units",
        states={
            'invisible': ~_is_project,
            })
    billing_requests = fields.One2Many(
        'project.billing.request', 'project', "Billing Requests",
        readonly=True,
        states={
            'invisible': ~_is_project,
            })
    revenue_recognised_date = fields.Date(
        "Revenue Recognised To",
        states={
            'invisible': ~_is_project,
            },
        help="The date up to which revenue has been recognised.")
    revenue_recognised = Monetary(
        "Revenue Recognised", currency='currency', digits='currency',
        states={
            'invisible': ~_is_project,
            })
    stage_history = fields.Function(fields.Many2Many(
            'ir.model.log', None, None, "Stage History",
            states={
                'invisible': ~_is_project,
                },
            help="The stage transitions of the project."),
        'get_stage_history')

    planned_hours = fields.Function(
        fields.Float("Planned Hours", digits=(16, 2)), 'get_kpis')
    actual_hours = fields.Function(
        fields.Float("Actual Hours", digits=(16, 2)), 'get_kpis')
    planned_cost = fields.Function(Monetary(
            "Planned Cost", currency='currency', digits='currency'),
        'get_kpis')
    planned_revenue = fields.Function(Monetary(
            "Planned Revenue", currency='currency', digits='currency'),
        'get_kpis')
    actual_cost = fields.Function(Monetary(
            "Actual Cost", currency='currency', digits='currency'),
        'get_kpis')
    billed_revenue = fields.Function(Monetary(
            "Billed Revenue", currency='currency', digits='currency'),
        'get_kpis')
    unbilled_revenue = fields.Function(Monetary(
            "Unbilled Revenue (WIP)", currency='currency', digits='currency'),
        'get_kpis')
    margin = fields.Function(Monetary(
            "Margin", currency='currency', digits='currency'),
        'get_kpis')
    burn_rate = fields.Function(
        fields.Float("Burn Rate", digits=(16, 4),
            help="Actual cost divided by planned cost."),
        'get_kpis')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._transition_state = 'stage'
        # the children of a project are its work packages, even when the
        # project was opened from an action creating projects
        cls.children.context = dict(
            cls.children.context or {}, default_type='task')
        cls._transitions |= {
            ('planning', 'contract'),
            ('contract', 'contracted'),
            ('planning', 'contracted'),
            ('contracted', 'completed'),
            ('completed', 'closed'),
            ('closed', 'completed'),
            }
        cls._buttons.update({
                'prepare_contract': {
                    'invisible': ~_is_project | (Eval('stage') != 'planning'),
                    'depends': ['type', 'stage'],
                    },
                'sign_contract': {
                    'invisible': ~_is_project | (Eval('stage') != 'contract'),
                    'depends': ['type', 'stage'],
                    },
                'complete': {
                    'invisible': (
                        ~_is_project | (Eval('stage') != 'contracted')),
                    'depends': ['type', 'stage'],
                    },
                'close': {
                    'invisible': (
                        ~_is_project | (Eval('stage') != 'completed')),
                    'depends': ['type', 'stage'],
                    },
                'reopen': {
                    'invisible': ~_is_project | (Eval('stage') != 'closed'),
                    'depends': ['type', 'stage'],
                    },
                })
        cls.__rpc__.update({
                'save_customer_projects': RPC(
                    readonly=False, instantiate=None, result=list),
                })

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        upgrade = not table_h.column_exist('stage')
        super().__register__(module)
        if upgrade:
            cls._upgrade_stage()
        # the reopening reasons of an earlier version
        post_text_column(cls, module, 'stage_log')

    @classmethod
    def _upgrade_stage(cls):
        """Set the projects that existed before the module was activated
        with invoiced time or work to contracted (others keep planning)"""
        pool = Pool()
        TimesheetLine = pool.get('timesheet.line')
        TimesheetWork = pool.get('timesheet.work')
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        line = TimesheetLine.__table__()
        work = TimesheetWork.__table__()
        cursor.execute(*table.select(table.id, table.parent, table.type))
        parents, types = {}, {}
        for id_, parent, type_ in cursor:
            parents[id_], types[id_] = parent, type_
        cursor.execute(*line.join(work, condition=line.work == work.id
                ).select(work.origin,
                where=(line.invoice_line != Null)
                & work.origin.like(cls.__name__ + ',%')))
        invoiced = {int(o.split(',')[1]) for o, in cursor}
        cursor.execute(*table.select(table.id,
                where=table.invoice_line != Null))
        invoiced.update(i for i, in cursor)
        projects = set()
        for id_ in invoiced:
            while id_ is not None and id_ in parents:
                if types[id_] == 'project':
                    projects.add(id_)
                id_ = parents[id_]
        for sub_ids in grouped_slice(sorted(projects), 500):
            cursor.execute(*table.update([table.stage], ['contracted'],
                    where=fields.SQL_OPERATORS['in'](table.id, sub_ids)))

    @classmethod
    def default_stage(cls):
        return 'planning'

    @classmethod
    def default_project_currency(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company = cls.default_company()
        if company is not None and company >= 0:
            return Company(company).currency.id

    @classmethod
    def default_confidentiality(cls):
        return 'internal'

    @classmethod
    def default_time_and_material(cls):
        return False

    @classmethod
    def copy(cls, works, default=None):
        default = default.copy() if default is not None else {}
        for name in ['demands', 'milestones', 'fees', 'service_units',
                'billing_requests', 'revenue_recognised_date',
                'revenue_recognised']:
            default.setdefault(name, None)
        default.setdefault('stage', 'planning')
        return super().copy(works, default=default)

    @classmethod
    def validate_fields(cls, works, field_names):
        super().validate_fields(works, field_names)
        cls.check_package_dates(works, field_names)
        cls.check_stage_status(works, field_names)

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Status = pool.get('project.work.status')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and values.get('type') == 'project':
            status = values.get('status')
            if status is None or not Status(status).stage:
                stage = values.get('stage') or cls.default_stage()
                values['status'] = Status.get_stage_status(stage, status)
        elif mode == 'write' and values.get('stage'):
            values['status'] = Status.get_stage_status(
                values['stage'], values.get('status'))
        return values

    @classmethod
    def check_stage_status(cls, works, field_names=None):
        "Check the status of the projects is the one of their stage"
        pool = Pool()
        Status = pool.get('project.work.status')
        if field_names and not (field_names & {'status', 'stage', 'type'}):
            return
        for work in works:
            if work.type != 'project':
                continue
            expected = Status.get_stage_status(work.stage, None)
            if expected is not None and work.status.id != expected:
                raise ProjectStageError(gettext(
                        'customer_project.msg_project_status_stage',
                        project=work.rec_name, status=work.status.rec_name,
                        stage=work.stage_string))

    @classmethod
    def get_stage_history(cls, works, name):
        pool = Pool()
        Log = pool.get('ir.model.log')
        history = {w.id: [] for w in works}
        logs = Log.search([
                ('resource', 'in', [str(w) for w in works]),
                ('event', '=', 'transition'),
                ('target', 'like', 'stage:%'),
                ], order=[('create_date', 'ASC'), ('id', 'ASC')])
        for log in logs:
            history[log.resource.id].append(log.id)
        return history

    @classmethod
    def check_package_dates(cls, works, field_names=None):
        "Check that work packages lie within the dates of their project"
        if field_names and not (
                field_names & {'start_date', 'end_date', 'parent'}):
            return
        for work in works:
            parent = work.parent
            if work.type != 'task' or not parent:
                continue
            before_start = (parent.start_date and work.start_date
                and work.start_date < parent.start_date)
            after_end = (parent.end_date and work.end_date
                and work.end_date > parent.end_date)
            if before_start or after_end:
                raise ProjectValidationError(gettext(
                        'customer_project.msg_package_outside_project',
                        package=work.rec_name, project=parent.rec_name))

    @classmethod
    def check_modification(cls, mode, works, values=None, external=False):
        super().check_modification(
            mode, works, values=values, external=external)
        if mode == 'delete':
            for work in works:
                if work.type == 'project' and work.billing_requests:
                    raise AccessError(gettext(
                            'customer_project.msg_project_delete_billed',
                            project=work.rec_name))

    # Stages

    @classmethod
    @ModelView.button
    @stage_transition('contract')
    @Workflow.transition('contract')
    def prepare_contract(cls, works):
        pass

    @classmethod
    @ModelView.button
    @stage_transition('contracted')
    @Workflow.transition('contracted')
    def sign_contract(cls, works):
        pass

    @classmethod
    @ModelView.button
    @stage_transition('completed', sources={'contracted'})
    @Workflow.transition('completed')
    def complete(cls, works):
        pass

    @classmethod
    @ModelView.button
    @stage_transition('closed')
    @Workflow.transition('closed')
    def close(cls, works):
        cls.check_close(works)

    @classmethod
    @stage_transition('completed', sources={'closed'})
    @Workflow.transition('completed')
    def _reopen_completed(cls, works):
        "Reset closed projects to completed (through reopen_closed only)"
        pass

    @classmethod
    @ModelView.button_action('customer_project.wizard_project_reopen')
    def reopen(cls, works):
        pass

    @classmethod
    def check_close(cls, works):
        "Raise when a project does not meet the closing preconditions"
        pool = Pool()
        Request = pool.get('project.billing.request')
        Date = pool.get('ir.date')
        today = Date.today()
        open_requests = Request.search([
                ('project', 'in', [w.id for w in works]),
                ('state', 'in', ['draft', 'released']),
                ], limit=1)
        if open_requests:
            request, = open_requests
            raise ProjectStageError(gettext(
                    'customer_project.msg_close_open_request',
                    project=request.project.rec_name,
                    request=request.rec_name))
        last_billed = cls._last_billing_dates(works)
        for work in works:
            date = max(filter(None, [today, work.end_date]))
            items = Request._collect_items(work, date, ignore_postpone=True)
            if items:
                raise ProjectStageError(ngettext(
                        'customer_project.msg_close_unbilled_items',
                        len(items),
                        project=work.rec_name, count=len(items)))
            unapproved = Request._unapproved_timesheets(work)
            if unapproved:
                raise ProjectStageError(ngettext(
                        'customer_project.msg_close_unapproved_timesheets',
                        unapproved,
                        project=work.rec_name, count=unapproved))
            last = last_billed.get(work.id)
            if (not work.revenue_recognised_date
                    or (last and work.revenue_recognised_date < last)):
                raise ProjectStageError(gettext(
                        'customer_project.msg_close_revenue_recognition',
                        project=work.rec_name))

    @classmethod
    def _last_billing_dates(cls, works):
        pool = Pool()
        Request = pool.get('project.billing.request')
        cursor = Transaction().connection.cursor()
        request = Request.__table__()
        query = request.select(
            request.project, Max(request.date).as_('date'),
            where=fields.SQL_OPERATORS['in'](
                request.project, [w.id for w in works])
            & (request.state == 'invoiced'),
            group_by=request.project)
        if backend.name == 'sqlite':
            sqlite_apply_types(query, [None, 'DATE'])
        cursor.execute(*query)
        return dict(cursor)

    @classmethod
    def reopen_closed(cls, works, reason):
        "Reset closed projects to completed, recording the reason"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        group = ModelData.get_id('customer_project', 'group_project_reopen')
        if (Transaction().user
                and group not in User.get_groups()):
            raise ProjectStageError(gettext(
                    'customer_project.msg_reopen_group'))
        if not reason or not reason.strip():
            raise ProjectStageError(gettext(
                    'customer_project.msg_reopen_reason'))
        cls._reopen_completed(works)
        cls.chat_post(works, 'customer_project.msg_project_reopened',
            reason=reason.strip())

    # Key figures

    @classmethod
    def get_kpis(cls, works, names):
        pool = Pool()
        Request = pool.get('project.billing.request')
        ids = [w.id for w in works]
        zero = Decimal(0)
        result = {n: {i: None for i in ids} for n in names}
        planned = cls._planned_figures(ids)
        actual = cls._actual_figures(ids)
        billed = cls._billed_revenue(ids)
        released = cls._released_revenue(ids)
        for work in works:
            if work.type != 'project':
                continue
            round_ = work.company.currency.round
            p_hours, p_cost, p_revenue = map(_decimal, planned.get(
                    work.id, (0, zero, zero)))
            a_hours, a_cost = map(_decimal, actual.get(work.id, (0, zero)))
            billed_revenue = billed.get(work.id, zero)
            # work in progress: what is due and not billed, released
            # requests waiting for the invoicing run included
            unbilled = released.get(work.id, zero)
            if 'unbilled_revenue' in names or 'margin' in names:
                unbilled += sum((i['amount'] for i in Request._collect_items(
                                work, Request.default_date())), zero)
            values = {
                'planned_hours': float(p_hours or 0),
                'actual_hours': float(a_hours or 0),
                'planned_cost': round_(Decimal(p_cost or 0)),
                'planned_revenue': round_(Decimal(p_revenue or 0)),
                'actual_cost': round_(Decimal(a_cost or 0)),
                'billed_revenue': round_(billed_revenue),
                'unbilled_revenue': round_(unbilled),
                'margin': round_(
                    billed_revenue + unbilled - Decimal(a_cost or 0)),
                'burn_rate': (
                    float(Decimal(a_cost or 0) / Decimal(p_cost))
                    if p_cost else None),
                }
            for name in names:
                result[name][work.id] = values[name]
        return result

    @classmethod
    def _planned_figures(cls, ids):
        """Return {project id: (hours, cost, revenue)} planned: the hours
        and cost of the demands; the revenue of the demands of the time and
        material packages (at the sales rate) and of the milestones (the
        fixed prices; periodic fees, possibly open-ended, are not counted)"""
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        Milestone = pool.get('project.billing.milestone')
        cursor = Transaction().connection.cursor()
        demand = Demand.__table__()
        package = cls.__table__()
        milestone = Milestone.__table__()
        in_ = fields.SQL_OPERATORS['in']
        result = {}
        for sub_ids in grouped_slice(ids, 1000):
            sub_ids = list(sub_ids)
            query = demand.join(package,
                condition=demand.work_package == package.id
                ).select(
                demand.project, Sum(demand.hours),
                Sum(demand.hours * demand.cost_rate).as_('cost'),
                Sum(Case((package.time_and_material == Literal(True),
                            demand.hours * demand.sales_rate),
                        else_=0)).as_('revenue'),
                where=in_(demand.project, sub_ids),
                group_by=demand.project)
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, None, 'NUMERIC', 'NUMERIC'])
            cursor.execute(*query)
            result.update((r[0], list(r[1:])) for r in cursor)
            query = milestone.select(
                milestone.project, Sum(milestone.amount).as_('amount'),
                where=in_(milestone.project, sub_ids),
                group_by=milestone.project)
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, 'NUMERIC'])
            cursor.execute(*query)
            for project, amount in cursor:
                figures = result.setdefault(project, [0, 0, 0])
                figures[2] = _decimal(figures[2] or 0) + _decimal(amount)
        return result

    @classmethod
    def _actual_figures(cls, ids):
        "Return {project id: (hours, cost)} of the timesheets"
        pool = Pool()
        Line = pool.get('timesheet.line')
        TWork = pool.get('timesheet.work')
        cursor = Transaction().connection.cursor()
        work = cls.__table__()
        twork = TWork.__table__()
        line = Line.__table__()
        project = project_of_work(work)
        hours = duration_hours(line.duration)
        result = {}
        for sub_ids in grouped_slice(ids, 1000):
            sub_ids = list(sub_ids)
            in_ = fields.SQL_OPERATORS['in']
            lines = (work.join(twork,
                    condition=Concat(cls.__name__ + ',', work.id)
                    == twork.origin)
                .join(line, condition=line.work == twork.id)
                .select(project.as_('project'), hours.as_('hours'),
                    Coalesce(line.cost_price * hours, 0).as_('cost'),
                    where=in_(work.id, sub_ids) | in_(work.parent, sub_ids)))
            query = lines.select(lines.project, Sum(lines.hours),
                Sum(lines.cost).as_('cost'),
                group_by=[lines.project])
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, None, 'NUMERIC'])
            cursor.execute(*query)
            result.update((r[0], r[1:]) for r in cursor)
        return result

    @classmethod
    def _billed_revenue(cls, ids):
        "Return {project id: amount} of the invoiced request lines"
        return cls._request_revenue(
            ids, lambda request, line: line.invoice_line != Null)

    @classmethod
    def _released_revenue(cls, ids):
        """Return {project id: amount} of the lines of released requests
        not invoiced yet (an invoicing run bills them)"""
        from .billing_request import INVOICING_ACTIONS
        return cls._request_revenue(
            ids, lambda request, line: (request.state == 'released')
            & (line.invoice_line == Null)
            & line.action.in_(list(INVOICING_ACTIONS)))

    @classmethod
    def _request_revenue(cls, ids, condition):
        "Return {project id: amount} of the request lines meeting condition"
        pool = Pool()
        Request = pool.get('project.billing.request')
        RequestLine = pool.get('project.billing.request.line')
        cursor = Transaction().connection.cursor()
        request = Request.__table__()
        line = RequestLine.__table__()
        result = {}
        for sub_ids in grouped_slice(ids, 1000):
            query = line.join(request, condition=line.request == request.id
                ).select(request.project, Sum(line.amount).as_('amount'),
                where=fields.SQL_OPERATORS['in'](request.project, sub_ids)
                & condition(request, line),
                group_by=request.project)
            if backend.name == 'sqlite':
                sqlite_apply_types(query, [None, 'NUMERIC'])
            cursor.execute(*query)
            result.update(
                (p, Decimal(a or 0)) for p, a in cursor)
        return result

    @classmethod
    def copy_customer_project(
            cls, project, name, start_date, work_packages=True, planning=True,
            staffing=False, billing_plan=True):
        """Copy project as a basis for a new one, shifting the dates

        Never copies timesheets, service units nor billing history."""
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        Staffing = pool.get('project.staffing')
        Milestone = pool.get('project.billing.milestone')
        Fee = pool.get('project.billing.fee')
        delta = (start_date - project.start_date
            if project.start_date else datetime.timedelta(0))
        new, = cls.copy([project], default={
                'name': name,
                'children': None,
                'start_date': _shift(delta, 'start_date'),
                'end_date': _shift(delta, 'end_date'),
                })
        if not work_packages:
            return new
        packages = [c for c in project.children if c.type == 'task']
        new_packages = cls.copy(packages, default={
                'parent': new.id,
                'children': None,
                'start_date': _shift(delta, 'start_date'),
                'end_date': _shift(delta, 'end_date'),
                })
        package_map = {o.id: n.id for o, n in zip(packages, new_packages)}
        if planning:
            demands = [d for p in packages for d in p.demands]
            new_demands = Demand.copy(demands, default={
                    'project': new.id,
                    'work_package': lambda d: package_map[d['work_package']],
                    'period_start': _shift(delta, 'period_start'),
                    'staffing': None,
                    })
            if staffing:
                demand_map = {
                    o.id: n.id for o, n in zip(demands, new_demands)}
                staffings = [s for d in demands for s in d.staffing]
                Staffing.copy(staffings, default={
                        'demand': lambda s: demand_map[s['demand']],
                        'project': new.id,
                        })
        if billing_plan:
            milestones = [m for p in packages for m in p.milestones]
            Milestone.copy(milestones, default={
                    'project': new.id,
                    'work_package': lambda m: package_map[m['work_package']],
                    'planned_date': _shift(delta, 'planned_date'),
                    'reached': False,
                    'reached_date': None,
                    })
            Fee.copy([f for p in packages for f in p.fees], default={
                    'project': new.id,
                    'work_package': lambda f: package_map[f['work_package']],
                    'start_date': _shift(delta, 'start_date'),
                    'end_date': _shift(delta, 'end_date'),
                    })
        return new

    # API

    _api_project_fields = {
        'name', 'party', 'customer_account', 'third_party',
        'project_manager', 'start_date', 'end_date', 'project_currency',
        'confidentiality', 'company', 'comment'}
    _api_package_fields = {
        'name', 'start_date', 'end_date', 'time_and_material', 'product',
        'list_price', 'comment'}
    _api_demand_fields = {'role', 'period', 'period_start', 'hours'}
    _api_staffing_fields = {'employee', 'hours'}

    @classmethod
    def save_customer_projects(cls, projects):
        """Create or update customer projects in one validated call

        projects is a list of dictionaries with the project fields (an 'id'
        updates an existing project) and 'work_packages': a list of
        dictionaries matched by name, each with 'demands' (replacing the
        existing ones when given) holding 'staffing'.
        Return the ids of the projects."""
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        to_save, to_delete = [], []
        for values in projects:
            project, demands = cls._api_project(values)
            to_save.append(project)
            to_delete.extend(demands)
        Demand.delete(to_delete)
        cls.save(to_save)
        return [p.id for p in to_save]

    @classmethod
    def _api_check_keys(cls, values, allowed, what):
        if not isinstance(values, dict):
            raise ProjectAPIError(gettext(
                    'customer_project.msg_api_not_dict', what=what))
        unknown = set(values) - allowed
        if unknown:
            raise ProjectAPIError(gettext(
                    'customer_project.msg_api_unknown_fields',
                    what=what, fields=', '.join(sorted(unknown))))

    @classmethod
    def _api_project(cls, values):
        "Return an unsaved project and the demands to delete"
        values = dict(values)
        packages = values.pop('work_packages', [])
        project_id = values.pop('id', None)
        cls._api_check_keys(values, cls._api_project_fields, 'project')
        if project_id is not None:
            project, = cls.browse([project_id])
            if project.type != 'project' or project.stage == 'closed':
                raise ProjectAPIError(gettext(
                        'customer_project.msg_api_project_not_updatable',
                        project=project.rec_name))
        else:
            project = cls()
            for name, default in cls.default_get(
                    list(cls._fields), with_rec_name=False).items():
                setattr(project, name, default)
            project.type = 'project'
        for name, value in values.items():
            setattr(project, name, value)
        by_name = {c.name: c for c in getattr(project, 'children', [])}
        children = list(getattr(project, 'children', []))
        to_delete = []
        for package_values in packages:
            package, demands = cls._api_package(package_values, by_name)
            to_delete.extend(demands)
            if package not in children:
                children.append(package)
        project.children = children
        return project, to_delete

    @classmethod
    def _api_package(cls, values, by_name):
        pool = Pool()
        Demand = pool.get('project.resource.demand')
        Staffing = pool.get('project.staffing')
        values = dict(values)
        demands = values.pop('demands', None)
        cls._api_check_keys(values, cls._api_package_fields, 'work package')
        package = by_name.get(values.get('name'))
        if package is None:
            package = cls(type='task')
            package.company = Transaction().context.get('company')
        for name, value in values.items():
            setattr(package, name, value)
        to_delete = []
        if demands is not None:
            to_delete = [d for d in getattr(package, 'demands', [])
                if d.id is not None and d.id >= 0]
            new_demands = []
            for demand_values in demands:
                demand_values = dict(demand_values)
                staffing = demand_values.pop('staffing', [])
                cls._api_check_keys(
                    demand_values, cls._api_demand_fields, 'demand')
                demand = Demand(**demand_values)
                demand.staffing = []
                for staffing_values in staffing:
                    cls._api_check_keys(
                        staffing_values, cls._api_staffing_fields,
                        'staffing')
                    demand.staffing += (Staffing(**staffing_values),)
                new_demands.append(demand)
            package.demands = new_demands
        return package, to_delete


class WorkStatus(metaclass=PoolMeta):
    __name__ = 'project.work.status'

    stage = fields.Selection([(None, "")] + STAGES, "Customer Project Stage",
        help="The stage of the customer projects that have this status.")

    @classmethod
    def get_stage_status(cls, stage, default):
        "Return the id of the project status of stage (or default)"
        statuses = cls.search([
                ('stage', '=', stage),
                ('types', 'in', ['project']),
                ], limit=1)
        return statuses[0].id if statuses else default

    @classmethod
    def get_default_status(cls, type_=None):
        if type_ == 'project':
            pool = Pool()
            Work = pool.get('project.work')
            status = cls.get_stage_status(Work.default_stage(), None)
            if status is not None:
                return status
        return super().get_default_status(type_)

    @classmethod
    def on_modification(cls, mode, statuses, field_names=None):
        pool = Pool()
        Work = pool.get('project.work')
        super().on_modification(mode, statuses, field_names=field_names)
        if mode == 'create':
            # the projects that existed before their stage had a status
            for status in statuses:
                if status.stage and 'project' in status.types:
                    Work.write(Work.search([
                                ('type', '=', 'project'),
                                ('stage', '=', status.stage),
                                ('status.stage', '=', None),
                                ]), {'status': status.id})


class Employee(metaclass=PoolMeta):
    __name__ = 'company.employee'

    project_role = fields.Many2One(
        'product.product', "Project Role",
        domain=[
            ('type', '=', 'service'),
            ],
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The role used for the capacity in the staffing analysis.")


class CopyStart(ModelView):
    __name__ = 'project.work.customer_copy.start'

    project = fields.Many2One('project.work', "Project", readonly=True)
    name = fields.Char("Name", required=True)
    start_date = fields.Date("New Start Date", required=True,
        help="The dates of the copy are shifted by the difference "
        "with the start date of the project.")
    work_packages = fields.Boolean("Work Packages")
    planning = fields.Boolean("Planning",
        states={
            'readonly': ~Eval('work_packages'),
            })
    staffing = fields.Boolean("Staffing",
        states={
            'readonly': ~Eval('planning'),
            })
    billing_plan = fields.Boolean("Billing Plan",
        states={
            'readonly': ~Eval('work_packages'),
            })

    @fields.depends('work_packages', 'planning', 'staffing', 'billing_plan')
    def on_change_work_packages(self):
        if not self.work_packages:
            self.planning = self.staffing = self.billing_plan = False

    @fields.depends('planning', 'staffing')
    def on_change_planning(self):
        if not self.planning:
            self.staffing = False


class Copy(WizardStartMixin, Wizard):
    __name__ = 'project.work.customer_copy'

    start = StateView('project.work.customer_copy.start',
        'customer_project.project_copy_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Copy", 'copy', 'tryton-ok', default=True),
            ])
    copy = StateTransition()

    def _project(self):
        "Return the project to copy"
        project = self.record
        if not project:
            raise ProjectStageError(gettext(
                    'customer_project.msg_wizard_no_record'))
        if project.type != 'project':
            raise ProjectStageError(gettext(
                    'customer_project.msg_copy_not_project',
                    work=project.rec_name))
        return project

    def default_start(self, fields):
        project = self._project()
        return {
            'project': project.id,
            'name': project.name,
            'start_date': project.start_date,
            'work_packages': True,
            'planning': True,
            'staffing': False,
            'billing_plan': True,
            }

    def transition_copy(self):
        copies = self.model.copy_customer_project(
            self._project(), self.start.name, self.start.start_date,
            work_packages=self.start.work_packages,
            planning=self.start.planning,
            staffing=self.start.staffing,
            billing_plan=self.start.billing_plan)
        self.copied = copies
        return 'end'

    def end(self):
        return 'reload'


class ReopenStart(ModelView):
    __name__ = 'project.work.customer_reopen.start'

    reason = fields.Text("Reason", required=True)


class Reopen(WizardStartMixin, Wizard):
    __name__ = 'project.work.customer_reopen'

    start = StateView('project.work.customer_reopen.start',
        'customer_project.project_reopen_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reset to Completed", 'reopen', 'tryton-ok',
                default=True),
            ])
    reopen = StateTransition()

    def transition_reopen(self):
        self.model.reopen_closed(self.records, self.start.reason)
        return 'end'

    def end(self):
        return 'reload'

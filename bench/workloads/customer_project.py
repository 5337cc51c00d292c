"""Workloads of customer_project (PostgreSQL)

customer_project.staffing_analysis
    The staffing analysis of one project manager owning 500 projects, each
    with one work package demanding 30 hours a week for 52 weeks (26,000
    demands) staffed 24 hours by one of 10 employees (26,000 staffings).
    Measures what the sao web client does on the ``table_query`` model
    (``sao_load``: search with limit 1000, search_count, reads by batches of
    the view's fields; and search_read of 1000 rows), one batch read alone,
    its query alone, a naive ORM walk (projects -> demands -> staffing,
    capacity searched per row; on 50 projects, times 10) and a hand-written
    SQL floor.

    Before and after the fix (s, queries; load 4.5 on 2 cores):
    list 2.24 (13) -> 0.94 (23); graph 2.29 (12) -> 0.61 (22); one read of
    100 rows 0.196 (1) -> 0.024 (2); search_read of 1000 rows 0.84 (2) ->
    0.70 (3).  Each read recomputed every group of the context (the id filter
    is on an aggregate); ``read`` now restricts the query to the projects and
    period starts of the ids read.  The "95 s" was an unlimited ORM
    search_read of the 26,000 rows (86 s, 3 queries, SQL 0.5 s): trytond's
    ``ModelStorage.__init__`` asserts that each id is in the batch, which is
    quadratic in the number of records searched; the client never does it.
customer_project.billing_request
    The items due on a project with 10,000 then 100,000 approved time and
    material timesheet lines and 5,000 then 50,000 service units (10 each,
    1,000 included per month): ``_collect_items`` (a fixed number of
    queries at both sizes), ``collect`` (the items, one DELETE and one
    ``executemany`` INSERT of the lines) and ``release`` (one query per
    check, one UPDATE settling the lines; the invoicing run invoices, as it
    is activated).  The naive ORM version (a settled check per item)
    is measured on 1,000 lines and 500 units and multiplied by 100; that is
    generous to it: its ``search`` of every timesheet line is quadratic in
    trytond's record constructor.

    Before: ``collect`` created the lines with the ORM: 488 s for 13,800
    lines (profiled; 367 million id checks in ``ModelStorage.__init__``),
    never finishing for 148,800 (the "hang"); ``release`` read and wrote
    every line through the ORM as well.

The data is inserted in the (untimed, rolled back) setup of each variant:
the projects and their work packages through the ORM, the demands,
staffings, timesheet lines and service units with ``INSERT ... SELECT``
from ``generate_series``.
"""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from bench.harness import workload

PROJECTS = 500
WEEKS = 52
EMPLOYEES = 10
TIMESHEETS = 100_000
UNITS = 50_000
START = dt.date(2026, 1, 5)


def _cursor():
    from trytond.transaction import Transaction
    return Transaction().connection.cursor()


def _roles_and_employees(ctx):
    "Create a role product and employees having it; return their ids"
    pool = ctx.pool
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Party = pool.get('party.party')
    Employee = pool.get('company.employee')
    hour, = Uom.search([('name', '=', 'Hour')])
    template, = Template.create([{
                'name': "Bench Consultant", 'type': 'service',
                'default_uom': hour.id, 'list_price': Decimal(100),
                'products': [('create', [{'cost_price': Decimal(60)}])],
                }])
    role, = template.products
    parties = Party.create([{'name': f"Bench Employee {i}"}
            for i in range(EMPLOYEES)])
    employees = Employee.create([{
                'party': p.id, 'company': ctx.company,
                'project_role': role.id} for p in parties])
    return role.id, [e.id for e in employees]


def _projects(ctx, count, manager, time_and_material=False):
    "Create count projects with one work package each; return the projects"
    Work = ctx.pool.get('project.work')
    end = START + dt.timedelta(weeks=WEEKS) - dt.timedelta(days=1)
    return Work.create([{
                'name': f"Bench Project {i}", 'type': 'project',
                'company': ctx.company, 'project_manager': manager,
                'start_date': START, 'end_date': end,
                'children': [('create', [{
                                'name': "Package", 'type': 'task',
                                'company': ctx.company,
                                'start_date': START, 'end_date': end,
                                'time_and_material': time_and_material,
                                'timesheet_available': time_and_material,
                                }])],
                } for i in range(count)])


def staffing_fixture(ctx):
    role, employees = _roles_and_employees(ctx)
    projects = _projects(ctx, PROJECTS, employees[0])
    ids = [p.id for p in projects]
    cursor = _cursor()
    cursor.execute("""
        INSERT INTO project_resource_demand (project, work_package, role,
            period, period_start, hours, cost_rate, sales_rate,
            create_uid, create_date)
        SELECT w.parent, w.id, %s, 'week', %s::date + 7 * g, 30, 60, 100,
            0, now()
        FROM project_work w, generate_series(0, %s) g
        WHERE w.parent = ANY(%s)""", (role, START, WEEKS - 1, ids))
    cursor.execute("""
        INSERT INTO project_staffing (demand, project, employee, hours,
            create_uid, create_date)
        SELECT d.id, d.project, (%s::int[])[1 + d.id %% %s], 24, 0, now()
        FROM project_resource_demand d
        WHERE d.project = ANY(%s)""", (employees, EMPLOYEES, ids))
    return {'manager': employees[0], 'projects': ids}


STAFFING_FLOOR = """
SELECT d.project, d.role, d.period, d.period_start, SUM(d.hours),
    SUM(COALESCE(s.hours, 0)), MIN(COALESCE(CASE WHEN d.period = 'week'
        THEN c.week ELSE c.month END, 0))
FROM project_resource_demand d
JOIN project_work w ON w.id = d.project
LEFT JOIN (SELECT demand, SUM(hours) AS hours FROM project_staffing
    GROUP BY demand) s ON s.demand = d.id
LEFT JOIN (SELECT e.project_role AS role,
        SUM(co.hours_per_work_week) AS week,
        SUM(co.hours_per_work_month) AS month
    FROM company_employee e JOIN company_company co ON co.id = e.company
    WHERE e.project_role IS NOT NULL GROUP BY e.project_role) c
    ON c.role = d.role
WHERE w.project_manager = %s
GROUP BY d.project, d.role, d.period, d.period_start
"""


# What the sao web client does when it opens a list or graph view:
# ``search`` with the view limit (Sao.config.limit), ``search_count`` when
# the page is full, then ``read`` of the view's fields (plus ``rec_name`` of
# the Many2One fields, ``rec_name``, ``_timestamp``, ``_write``, ``_delete``)
# by eager batches of limit / min(number of fields, 10) records
# (sao/src/model.js, Record.load); the context carries the values of the
# action's context model (unset: None).
SAO_LIMIT = 1000


def sao_fields(Model, view_type):
    "Return the field names sao reads for the default view of view_type"
    view = Model.fields_view_get(view_type=view_type)
    names = list(view['fields'])
    fetch = list(names)
    for name in names:
        if view['fields'][name]['type'] in {
                'many2one', 'one2one', 'reference'}:
            fetch.append(name + '.rec_name')
    if 'rec_name' not in names:
        fetch.append('rec_name')
    return fetch + ['_timestamp', '_write', '_delete']


def sao_context(data):
    return {'project_manager': data['manager'], 'from_date': None,
        'to_date': None, 'period': None}


def sao_load(Model, fetch):
    "Search and read the first page of Model as sao; return the row count"
    ids = [r.id for r in Model.search([], 0, SAO_LIMIT, None)]
    if len(ids) == SAO_LIMIT:
        Model.search_count([], 0, SAO_LIMIT * 100)
    batch = SAO_LIMIT // min(len(fetch), 10)
    rows = 0
    for i in range(0, len(ids), batch):
        rows += len(Model.read(ids[i:i + batch], fetch))
    return rows


# The naive ORM walk of the staffing analysis runs over this many projects
# and its time is multiplied by PROJECTS / NAIVE_PROJECTS (it is linear:
# a fixed number of queries per demand; 344.6 s for all 500 projects at
# a load of 8-11)
NAIVE_PROJECTS = 50


def extrapolate(ctx, factor):
    "Scale the time of the last measured variant by factor, marking it"
    variant = ctx.variants[-1]
    variant['measured_seconds'] = variant['seconds']
    variant['measured_queries'] = variant['queries']
    variant['seconds'] *= factor
    variant['queries'] = round(variant['queries'] * factor)
    variant['extrapolated'] = factor


@workload('customer_project.staffing_analysis',
    modules=['customer_project'],
    description=f"staffing analysis of {PROJECTS} projects x {WEEKS} weeks")
def staffing_analysis(ctx):
    from trytond.transaction import Transaction
    pool = ctx.pool
    Analysis = pool.get('project.staffing.analysis')
    Work = pool.get('project.work')
    Employee = pool.get('company.employee')

    with ctx.transaction():
        list_fields = sao_fields(Analysis, 'tree')
        graph_fields = sao_fields(Analysis, 'graph')

    def sao_search_read(data):
        with Transaction().set_context(**sao_context(data)):
            return len(Analysis.search_read(
                    [], 0, SAO_LIMIT, None, fields_names=list_fields))

    def sao_list(data):
        with Transaction().set_context(**sao_context(data)):
            return sao_load(Analysis, list_fields)

    def sao_graph(data):
        with Transaction().set_context(**sao_context(data)):
            return sao_load(Analysis, graph_fields)

    def batch_fixture():
        data = staffing_fixture(ctx)
        with Transaction().set_context(**sao_context(data)):
            data['ids'] = [r.id for r in Analysis.search(
                    [], 0, SAO_LIMIT, None)][-(SAO_LIMIT // 10):]
        return data

    def sao_batch(data):
        with Transaction().set_context(**sao_context(data)):
            return len(Analysis.read(data['ids'], list_fields))

    def query(data):
        with Transaction().set_context(project_manager=data['manager']):
            cursor = _cursor()
            cursor.execute(*Analysis.table_query())
            return len(cursor.fetchall())

    def naive(data):
        rows = {}
        for project in Work.browse(data['projects'][:NAIVE_PROJECTS]):
            for package in project.children:
                for demand in package.demands:
                    key = (project.id, demand.role.id, demand.period,
                        demand.period_start)
                    staffed = sum(s.hours for s in demand.staffing)
                    capacity = sum(
                        e.company.hours_per_work_week
                        for e in Employee.search([
                                ('project_role', '=', demand.role.id)]))
                    row = rows.setdefault(key, [0, 0, capacity])
                    row[0] += demand.hours
                    row[1] += staffed
        return len(rows)

    def floor(data):
        cursor = _cursor()
        cursor.execute(STAFFING_FLOOR, (data['manager'],))
        return len(cursor.fetchall())

    ctx.measure('sao list: search_read 1000 rows, view fields',
        sao_search_read, setup=lambda: staffing_fixture(ctx))
    ctx.measure('sao list: search, search_count, reads of 100',
        sao_list, setup=lambda: staffing_fixture(ctx))
    ctx.measure('sao graph: search, search_count, reads of 125',
        sao_graph, setup=lambda: staffing_fixture(ctx))
    ctx.measure('sao list: one read of 100 rows (rows 901-1000)',
        sao_batch, setup=batch_fixture)
    rows = ctx.measure('table_query SQL alone', query,
        setup=lambda: staffing_fixture(ctx))
    factor = PROJECTS / NAIVE_PROJECTS
    assert ctx.measure(f'naive ORM ({NAIVE_PROJECTS} projects, x{factor:g})',
        naive, baseline='naive',
        setup=lambda: staffing_fixture(ctx)) * factor == rows
    extrapolate(ctx, factor)
    ctx.measure('raw SQL', floor, baseline='floor',
        setup=lambda: staffing_fixture(ctx))


def billing_fixture(ctx, timesheets=TIMESHEETS, units=UNITS):
    pool = ctx.pool
    UnitType = pool.get('project.service.unit.type')
    Request = pool.get('project.billing.request')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Account = pool.get('customer.account')
    role, employees = _roles_and_employees(ctx)
    project, = _projects(ctx, 1, employees[0], time_and_material=True)
    account, = Account.search([
            ('company', '=', ctx.company), ('state', '=', 'active'),
            ], limit=1, order=[('id', 'ASC')])
    project.party = account.party
    project.customer_account = account
    project.save()
    package, = project.children
    twork, = package.timesheet_works
    unit, = Uom.search([('name', '=', 'Unit')])
    template, = Template.create([{
                'name': "Bench API Call", 'type': 'service',
                'default_uom': unit.id, 'list_price': Decimal(0),
                'products': [('create', [{}])],
                }])
    type_, = UnitType.create([{
                'name': "Bench API", 'code': 'BENCH-API',
                'company': ctx.company, 'product': template.products[0].id,
                'unit_price': Decimal('0.05'), 'base_quantity': 1000,
                'period': 'month'}])
    cursor = _cursor()
    cursor.execute("""
        INSERT INTO timesheet_line (company, employee, date, duration,
            work, cost_price, approved, role, create_uid, create_date)
        SELECT %s, (%s::int[])[1 + g %% %s], %s::date + g %% 350,
            interval '1 hour' * (1 + g %% 8), %s, 50, true, %s, 0, now()
        FROM generate_series(1, %s) g""",
        (ctx.company, employees, EMPLOYEES, START, twork.id, role,
            timesheets))
    cursor.execute("""
        INSERT INTO project_service_unit (project, type, date, quantity,
            create_uid, create_date)
        SELECT %s, %s, %s::date + g %% 350, 10, 0, now()
        FROM generate_series(1, %s) g""",
        (project.id, type_.id, START, units))
    request, = Request.create([{
                'company': ctx.company, 'project': project.id,
                'date': START + dt.timedelta(days=360)}])
    return {'project': project.id, 'request': request.id}


# (timesheet lines, service units) of the two measured sizes and of the
# naive ORM variant, whose time is extrapolated linearly to the large size
SIZES = [(10_000, 5_000), (TIMESHEETS, UNITS)]
NAIVE_SIZE = (1_000, 500)


@workload('customer_project.billing_request',
    modules=['customer_project'],
    description=f"billing request over {TIMESHEETS} timesheet lines "
    f"and {UNITS} service units")
def billing_request(ctx):
    pool = ctx.pool
    Request = pool.get('project.billing.request')
    RequestLine = pool.get('project.billing.request.line')
    Work = pool.get('project.work')
    TimesheetLine = pool.get('timesheet.line')
    Unit = pool.get('project.service.unit')

    def items(data):
        request = Request(data['request'])
        return len(Request._collect_items(request.project, request.date))

    def collect(data):
        request = Request(data['request'])
        Request.collect([request])
        return RequestLine.search_count([('request', '=', request.id)])

    def collected(timesheets, units):
        def setup():
            data = billing_fixture(ctx, timesheets, units)
            Request.collect([Request(data['request'])])
            return data
        return setup

    def release(data):
        request = Request(data['request'])
        Request.release([request])
        return RequestLine.search_count([
                ('request', '=', request.id), ('settled', '=', True)])

    def naive(data):
        request = Request(data['request'])
        project = Work(data['project'])
        count = 0

        def settled(origin):
            return RequestLine.search([
                    ('origin', '=', origin), ('settled', '=', True)])
        for package in project.children:
            for twork in package.timesheet_works:
                for line in TimesheetLine.search([
                            ('work', '=', twork.id),
                            ('approved', '=', True),
                            ('date', '<=', request.date)]):
                    if not settled(str(line)):
                        line.role.list_price_used
                        count += 1
        included = defaultdict(float)
        for unit in Unit.search([('project', '=', project.id)],
                order=[('id', 'ASC')]):
            key = (unit.type.id, unit.date.year, unit.date.month)
            included[key] += unit.quantity
            billable = min(unit.quantity,
                max(0, included[key] - unit.type.base_quantity))
            if (billable > 0 and unit.date <= request.date
                    and not settled(str(unit))):
                count += 1
        return count

    def size(timesheets, units):
        return f'{timesheets:,} lines/{units:,} units'

    # Warm the caches of the process (models, access, rates) once, so that
    # the query counts of the two sizes compare the same work
    with ctx.transaction():
        data = billing_fixture(ctx, 10, 5)
        items(data)
        collect(data)
        release(data)

    counts = {}
    for timesheets, units in SIZES:
        def setup(timesheets=timesheets, units=units):
            return billing_fixture(ctx, timesheets, units)
        label = size(timesheets, units)
        counts[timesheets, units] = ctx.measure(
            f'_collect_items (SQL), {label}', items, setup=setup)
        assert ctx.measure(f'collect: items + insert of the lines, {label}',
            collect, setup=setup) == counts[timesheets, units]
        ctx.measure(f'release: checks + settle, {label}', release,
            setup=collected(timesheets, units))
    timesheets, units = NAIVE_SIZE
    factor = TIMESHEETS / timesheets
    naive_count = ctx.measure(
        f'naive ORM ({size(timesheets, units)}, x{factor:g})', naive,
        baseline='naive',
        setup=lambda: billing_fixture(ctx, timesheets, units))
    extrapolate(ctx, factor)
    assert naive_count == ctx.measure(
        f'_collect_items (SQL), {size(timesheets, units)}', items,
        setup=lambda: billing_fixture(ctx, timesheets, units))

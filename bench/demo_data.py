"""The demo's showcase data, loaded by ``scripts/demo`` after the generator.

Usage::

    python -m bench.demo_data --database NAME [--config FILE]
        [--credentials FILE]

On a database filled by :mod:`bench.generator` (companies, charts,
customers with accounts and a year of invoices) it adds what a new user
needs to walk every module's main flow without creating master data first:

* the module configuration wizard marked done (as running it to its end
  does), so the first login opens the menu;
* risk classes with rules (customer_status) and credit limits;
* services sold by the hour with cost prices, employees with a project role
  and an hourly cost, so cost, margin and capacity are not 0;
* a service unit type with an included (base) quantity per month;
* a customer project planned, staffed, with time recorded and approved, a
  billing plan (a reached milestone, a milestone past its date, a monthly
  fee) and service units;
* things to bill for an invoicing run: sales on manual invoicing confirmed,
  a subscription with consumptions, a manual billable item (the scheduled
  run's next call postponed to tomorrow, so that the user's run finds them);
* a self-service type with every portal page on and portal users with
  known passwords: one English customer (the project's) and one customer
  per language (de, es, fr, pt) speaking it;
* one internal user per language with the suite's functional groups.

The logins and passwords are written to ``--credentials`` (printed by
``scripts/demo``).  Dates are relative to today.
"""
import argparse
import datetime as dt
import sys
import warnings
from decimal import Decimal

PORTAL_PASSWORD = 'Portal-Demo-2026'
LANGUAGES = [
    # code, internal user, persona, portal customer, city
    ('de', 'anna', "Anna Schneider", "Müller Maschinenbau GmbH", 'Berlin'),
    ('es', 'carlos', "Carlos García", "Distribuciones Ibéricas S.L.",
        'Madrid'),
    ('fr', 'claire', "Claire Dubois", "Boulangerie Lefèvre SARL", 'Lyon'),
    ('pt', 'joao', "João Silva", "Transportes Atlântico Lda", 'Porto'),
    ]
# internal user passwords: login + this suffix (trytond's length rule)
INTERNAL_SUFFIX = '-Demo-2026'


def mark_config_wizard_done():
    "What running the Module Configuration wizard to its end leaves"
    from proteus import Model
    Item = Model.get('ir.module.config_wizard.item')
    items = Item.find([('state', '!=', 'done')])
    for item in items:
        item.state = 'done'
    Item.save(items)


def model_data(config, module, fs_id):
    "The id of the record with the XML id (ir.model.data is not searchable)"
    from proteus import Model
    ModelData = Model.get('ir.model.data')
    return ModelData.get_id(module, fs_id, config.context)


class DemoData:

    def __init__(self, config):
        from proteus import Model
        self.config = config
        self.today = dt.date.today()
        self.company, = Model.get('company.company').find(
            [('party.name', '=', 'Acme Distribution')])
        self.credentials = []

    def build(self):
        mark_config_wizard_done()
        self.create_risk_classes()
        self.create_products()
        self.create_employees()
        self.create_project()
        self.create_billables()
        self.postpone_scheduled_run()
        self.create_self_service()
        self.create_internal_users()
        self.set_credit_limits()

    # -- customer_status ---------------------------------------------------

    def create_risk_classes(self):
        "Low risk first (the class when no rule matches), then the rules"
        from proteus import Model
        RiskClass = Model.get('customer.status.risk.class')
        classes = {}
        for sequence, (code, name) in enumerate([
                    ('A', "Low risk"), ('B', "Watch"), ('C', "High risk")]):
            classes[code] = RiskClass(code=code, name=name,
                sequence=sequence)
        # rules are tried in their sequence, the first matching classifies:
        # the high risk ones first
        for sequence, (code, criterion, threshold) in enumerate([
                ('C', 'overdue_ratio', 40), ('C', 'longest_delay', 90),
                ('C', 'protests', 1), ('C', 'limit_usage', 100),
                ('B', 'overdue_ratio', 10), ('B', 'average_delay', 15),
                ('B', 'returned_checks', 1), ('B', 'limit_usage', 80)]):
            classes[code].rules.new(criterion=criterion, sequence=sequence,
                operator='>=', threshold=Decimal(threshold))
        RiskClass.save(list(classes.values()))

    def set_credit_limits(self):
        "A credit limit on every customer with an account, some nearly used"
        from proteus import Model
        Account = Model.get('customer.account')
        parties = {a.party for a in Account.find([])}
        Party = Model.get('party.party')
        parties = sorted(parties, key=lambda p: p.id)
        for i, party in enumerate(parties):
            party.credit_limit_amount = Decimal([5000, 20000, 1500][i % 3])
        Party.save(parties)

    # -- products and people -----------------------------------------------

    def create_products(self):
        from proteus import Model
        Uom = Model.get('product.uom')
        Category = Model.get('product.category')
        Template = Model.get('product.template')
        hour, = Uom.find([('name', '=', 'Hour')])
        unit, = Uom.find([('name', '=', 'Unit')])
        category, = Category.find([('name', '=', 'Service')])
        self.products = {}
        for key, name, uom, price, cost in [
                ('consultant', "Consultant", hour, 100, 60),
                ('senior', "Senior Consultant", hour, 150, 90),
                ('fixed', "Fixed Price", unit, 0, 0),
                ('hosting', "Hosting", unit, 200, 40),
                ('api', "API Call", unit, Decimal('0.05'), Decimal('0.01')),
                ('rental', "Equipment Rental", unit, 10, 4)]:
            template = Template(name=name, type='service',
                default_uom=uom, salable=True, sale_uom=uom,
                list_price=Decimal(price), account_category=category)
            template.save()
            product, = template.products
            product.cost_price = Decimal(cost)
            product.save()
            self.products[key] = product

    def create_employees(self):
        from proteus import Model
        Party = Model.get('party.party')
        Employee = Model.get('company.employee')
        self.employees = {}
        for key, name, role, cost in [
                ('alice', "Alice Martin", 'consultant', 50),
                ('bob', "Bob Peeters", 'senior', 80),
                ('pat', "Pat Lambert", None, 70)]:
            party = Party(name=name)
            party.save()
            employee = Employee(party=party, company=self.company)
            if role:
                employee.project_role = self.products[role]
            cost_price = employee.cost_prices.new()
            cost_price.date = self.today - dt.timedelta(days=365)
            cost_price.cost_price = Decimal(cost)
            employee.save()
            self.employees[key] = employee

    # -- customer_project --------------------------------------------------

    def _monday(self, weeks):
        monday = self.today - dt.timedelta(days=self.today.weekday())
        return monday + dt.timedelta(weeks=weeks)

    def create_project(self):
        from proteus import Model
        Account = Model.get('customer.account')
        Work = Model.get('project.work')
        Demand = Model.get('project.resource.demand')
        Staffing = Model.get('project.staffing')
        Milestone = Model.get('project.billing.milestone')
        Fee = Model.get('project.billing.fee')
        UnitType = Model.get('project.service.unit.type')
        Unit = Model.get('project.service.unit')
        Line = Model.get('timesheet.line')
        account = Account.find([('profile.code', '=', 'MONTH')],
            order=[('id', 'ASC')], limit=1)[0]
        self.project_customer = account.party
        p = self.products
        e = self.employees
        start = self._monday(-6)
        end = self._monday(14) - dt.timedelta(days=1)
        project = Work(name="Website Relaunch", type='project')
        project.party = account.party
        project.customer_account = account
        project.project_manager = e['pat']
        project.start_date = start
        project.end_date = end
        project.project_currency = self.company.currency
        design = project.children.new(name="Design", type='task')
        design.start_date = start
        design.end_date = self._monday(2) - dt.timedelta(days=1)
        design.time_and_material = True
        design.timesheet_available = True
        build = project.children.new(name="Build", type='task')
        build.start_date = self._monday(-2)
        build.end_date = end
        build.timesheet_available = True
        project.save()
        packages = {w.name: w for w in project.children}
        design, build = packages["Design"], packages["Build"]
        # demands and staffing: one week of Design left unstaffed
        for week, role, hours, staff in [
                (-6, 'consultant', 40, ('alice', 40)),
                (-5, 'consultant', 40, ('alice', 32)),
                (-4, 'senior', 16, ('bob', 16)),
                (0, 'consultant', 30, None),
                ]:
            demand = Demand(work_package=design, role=p[role],
                period='week', period_start=self._monday(week), hours=hours)
            demand.save()
            if staff:
                Staffing(demand=demand, employee=e[staff[0]],
                    hours=staff[1]).save()
        month = self.today.replace(day=1)
        demand = Demand(work_package=build, role=p['senior'],
            period='month', period_start=month, hours=80)
        demand.save()
        Staffing(demand=demand, employee=e['bob'], hours=60).save()
        # time recorded on Design, approved
        lines = []
        for week, key, hours in [(-6, 'alice', 8), (-6, 'alice', 8),
                (-5, 'alice', 6), (-4, 'bob', 5), (-1, 'alice', 4)]:
            line = Line(employee=e[key], date=self._monday(week)
                + dt.timedelta(days=1), company=self.company)
            line.work, = design.timesheet_works
            line.duration = dt.timedelta(hours=hours)
            line.save()
            lines.append(line)
        Line.click(lines[:4], 'approve')
        # billing plan: a reached milestone, one past its date not ticked,
        # one in the future, and a monthly hosting fee
        for name, amount, planned, reached in [
                ("Prototype", 5000, self.today - dt.timedelta(days=10),
                    True),
                ("Design sign-off", 3000, self.today - dt.timedelta(days=2),
                    False),
                ("Go-live", 8000, end, False)]:
            milestone = Milestone(work_package=build, name=name,
                product=p['fixed'], amount=Decimal(amount),
                planned_date=planned)
            if reached:
                milestone.reached = True
                milestone.reached_date = planned
            milestone.save()
        fee = Fee(work_package=build, name="Hosting", product=p['hosting'],
            amount=Decimal(200), period='month', start_date=build.start_date,
            end_date=end)
        fee.save()
        api = UnitType(name="API Calls", code='API', product=p['api'],
            unit_price=Decimal('0.05'), base_quantity=1000, period='month')
        api.save()
        for days, quantity in [(20, 600), (12, 700), (3, 450)]:
            Unit(project=project, type=api, quantity=quantity,
                date=self.today - dt.timedelta(days=days)).save()
        self.project = project

    # -- customer_invoicing_run --------------------------------------------

    def create_billables(self):
        "Sales on manual invoicing, a subscription and a manual item"
        from proteus import Model
        Account = Model.get('customer.account')
        Sale = Model.get('sale.sale')
        Product = Model.get('product.product')
        accounts = Account.find([('state', '=', 'active')],
            order=[('id', 'ASC')], limit=4)
        consulting, = Product.find([('name', '=', 'Consulting')])
        goods = Product.find([('type', '=', 'goods')], limit=2)
        for i, account in enumerate(accounts):
            sale = Sale(party=account.party, invoice_method='manual')
            sale.customer_account = account
            line = sale.lines.new()
            line.product = goods[i % len(goods)]
            line.quantity = 2 + i
            line = sale.lines.new()
            line.product = consulting
            line.quantity = 4
            sale.click('quote')
            sale.click('confirm')
        RuleSet = Model.get('sale.subscription.recurrence.rule.set')
        monthly = RuleSet(name="Monthly")
        rule, = monthly.rules
        rule.freq = 'monthly'
        rule.interval = 1
        monthly.save()
        Service = Model.get('sale.subscription.service')
        service = Service(product=self.products['rental'],
            consumption_recurrence=monthly)
        service.save()
        Subscription = Model.get('sale.subscription')
        subscription = Subscription(party=accounts[0].party,
            start_date=self.today - dt.timedelta(days=20),
            invoice_recurrence=monthly)
        line = subscription.lines.new()
        line.service = service
        line.quantity = 0
        subscription.click('quote')
        subscription.click('run')
        Consumption = Model.get('sale.subscription.line.consumption')
        line, = subscription.lines
        for days, quantity in [(15, 3), (5, 2)]:
            Consumption(line=line, quantity=quantity,
                date=self.today - dt.timedelta(days=days)).save()
        ManualItem = Model.get('customer.invoicing.manual_item')
        item = ManualItem(customer_account=accounts[1],
            product=self.products['hosting'], quantity=1,
            date=self.today - dt.timedelta(days=3))
        item.description = "On-site setup"
        item.save()

    def postpone_scheduled_run(self):
        """The scheduled invoicing run's next call tomorrow: its first call
        at the server's start would bill the demo's items of the per order
        profile (an immediate cycle) before the user runs one"""
        from proteus import Model
        Cron = Model.get('ir.cron')
        cron, = Cron.find([
                ('method', '=', 'customer.invoicing.run|run_scheduled')])
        tomorrow = self.today + dt.timedelta(days=1)
        cron.next_call = dt.datetime.combine(tomorrow, dt.time(1))
        cron.save()

    # -- customer_self_service ---------------------------------------------

    def create_self_service(self):
        from proteus import Model
        Type = Model.get('customer.self_service.type')
        # the emails of the type the module ships
        shipped, = Type.find([], limit=1)
        type_ = Type(name="Full Service", code='full',
            credentials_template=shipped.credentials_template,
            welcome_template=shipped.welcome_template)
        for name in Type._fields:
            if name.startswith('portal_') and (
                    Type._fields[name]['type'] == 'boolean'):
                setattr(type_, name, True)
        type_.save()
        customers = [(None, self.project_customer, 'portal')]
        for code, _, _, name, city in LANGUAGES:
            customers.append((code, self._language_customer(
                        code, name, city), f'portal-{code}'))
        for code, party, login in customers:
            self._portal_user(party, login, type_, code)

    def _language_customer(self, code, name, city):
        "A customer speaking the language with an account and an invoice"
        from proteus import Model
        Party = Model.get('party.party')
        Lang = Model.get('ir.lang')
        Profile = Model.get('customer.billing.profile')
        Account = Model.get('customer.account')
        Invoice = Model.get('account.invoice')
        Product = Model.get('product.product')
        lang, = Lang.find([('code', '=', code)])
        party = Party(name=name, lang=lang)
        address = (party.addresses[0] if party.addresses
            else party.addresses.new())
        address.street = "1 Market Square"
        address.city = city
        party.contact_mechanisms.new(type='email',
            value=f'billing-{code}@example.com')
        party.save()
        profile, = Profile.find([('code', '=', 'ORDER')])
        account = Account(code=f'CA-{code.upper()}', party=party,
            profile=profile)
        account.save()
        # today: the generated year of invoices numbered up to recent days
        invoice = Invoice(type='out', party=party, invoice_date=self.today)
        invoice.customer_account = account
        product, = Product.find([('name', '=', 'Consulting')])
        line = invoice.lines.new()
        line.product = product
        line.quantity = 3
        # an invoice line takes no price from the product (a sale line does)
        line.unit_price = product.list_price_used
        invoice.click('post')
        return party

    def _portal_user(self, party, login, type_, code):
        "Register the customer as the staff would, then set its password"
        from proteus import Model
        Party = Model.get('party.party')
        WebUser = Model.get('web.user')
        party = Party(party.id)
        party.css_login = login
        party.css_email = f'{login}@example.com'
        party.css_type = type_
        party.save()
        party.click('css_request')
        party.click('css_create_user')
        user, = WebUser.find([('login', '=', login)])
        user.password = PORTAL_PASSWORD
        user.save()
        # a password set by the staff asks for a new one at the first login:
        # the demo's known passwords stay
        user.css_password_change = False
        user.save()
        self.credentials.append(("portal", code or 'en', login,
                PORTAL_PASSWORD, party.name))

    # -- internal users ----------------------------------------------------

    def create_internal_users(self):
        "One user per language with every functional group of the suite"
        from proteus import Model
        User = Model.get('res.user')
        Group = Model.get('res.group')
        Company = Model.get('company.company')
        Lang = Model.get('ir.lang')
        admin, = User.find([('login', '=', 'admin')])
        admin_group = model_data(self.config, 'res', 'group_admin')
        group_ids = [g.id for g in admin.groups if g.id != admin_group]
        for code, login, name, _, _ in LANGUAGES:
            lang, = Lang.find([('code', '=', code)])
            password = login.title() + INTERNAL_SUFFIX
            user = User(login=login, name=name, language=lang,
                password=password)
            user.groups.extend([Group(i) for i in group_ids])
            user.companies.append(Company(self.company.id))
            user.company = self.company
            user.employee = None
            user.save()
            self.credentials.append(
                ("staff", code, login, password, name))


def format_credentials(credentials):
    lines = []
    for kind, lang, login, password, name in credentials:
        lines.append(f"{kind + ' (' + lang + '):':15s}    {login:12s} "
            f"password {password:18s} {name}")
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--database', '-d', required=True)
    parser.add_argument('--config', '-c', default=None)
    parser.add_argument('--credentials', default=None,
        help="file receiving the logins and passwords")
    args = parser.parse_args(argv)
    # proteus puts the database name into TRYTOND_DATABASE_URI's path,
    # which trytond's SQLite backend warns it replaces by [database] path
    warnings.filterwarnings('ignore',
        "The path specified in the URI will be overridden")
    from proteus import config as pconfig
    config = pconfig.set_trytond(args.database, user='admin',
        config_file=args.config)
    demo = DemoData(config)
    # the warnings (staffing beyond capacity ...) are part of the show
    with config.set_context(_skip_warnings=True):
        demo.build()
    text = format_credentials(demo.credentials)
    if args.credentials:
        with open(args.credentials, 'w') as fp:
            fp.write(text)
    sys.stdout.write(text)


if __name__ == '__main__':
    main()

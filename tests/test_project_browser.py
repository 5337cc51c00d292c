"""Browser test of customer_project: create, plan, staff, capture units and
release a billing document request

Screenshots (artifacts/screenshots/): customer-project-create.png,
customer-project-plan.png, customer-project-staffing.png,
customer-project-service-units.png, customer-project-request.png and
customer-project-request-invoiced.png.
"""
import os

from tests.browser import BrowserTestCase

CUSTOMER = "Lovelace Analytics"
PROJECT = "Engine Portal"


def create_project(config):
    """Create a company, a chart, roles, employees, a customer with a
    customer account, a staffed project with an approved timesheet, service
    units and a draft billing request; return the ids."""
    import datetime as dt
    from decimal import Decimal

    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart, get_accounts
    from trytond.modules.company.tests.tools import create_company

    create_company(config=config)
    create_chart(config=config)
    accounts = get_accounts(config=config)
    config.skip_warning = True

    Uom = Model.get('product.uom')
    hour, = Uom.find([('name', '=', 'Hour')])
    unit, = Uom.find([('name', '=', 'Unit')])
    Category = Model.get('product.category')
    category = Category(name="Services", accounting=True)
    category.account_revenue = accounts['revenue']
    category.save()
    Template = Model.get('product.template')

    def service(name, uom, price, cost=0):
        template = Template(name=name, type='service', default_uom=uom)
        template.list_price = Decimal(price)
        template.account_category = category
        template.save()
        product, = template.products
        product.cost_price = Decimal(cost)
        product.save()
        return product
    consultant = service("Consultant", hour, 100, 60)
    api_call = service("API Call", unit, 0)

    Party = Model.get('party.party')
    Employee = Model.get('company.employee')
    employee_party = Party(name="Ada")
    employee_party.save()
    ada = Employee(party=employee_party, project_role=consultant)
    cost = ada.cost_prices.new()
    cost.date = dt.date(2025, 1, 1)
    cost.cost_price = Decimal(50)
    ada.save()

    customer = Party(name=CUSTOMER)
    customer.save()
    Profile = Model.get('customer.billing.profile')
    profile = Profile(code='STD', name="Standard")
    profile.save()
    Account = Model.get('customer.account')
    Account(code='LA', party=customer, profile=profile).save()

    Work = Model.get('project.work')
    project_id, = Work.save_customer_projects([{
        'name': PROJECT, 'party': customer.id, 'project_manager': ada.id,
        'start_date': dt.date(2026, 1, 5), 'end_date': dt.date(2026, 3, 29),
        'work_packages': [{
            'name': "Discovery", 'time_and_material': True,
            'start_date': dt.date(2026, 1, 5),
            'end_date': dt.date(2026, 1, 31),
            'demands': [{
                'role': consultant.id, 'period': 'week',
                'period_start': dt.date(2026, 1, 5), 'hours': 40,
                'staffing': [{'employee': ada.id, 'hours': 32}],
                }],
            }],
        }], config.context)
    project = Work(project_id)
    package, = project.children
    package.timesheet_available = True
    package.save()

    Line = Model.get('timesheet.line')
    line = Line(employee=ada, date=dt.date(2026, 1, 6))
    line.work, = package.timesheet_works
    line.duration = dt.timedelta(hours=8)
    line.save()
    line.click('approve')

    UnitType = Model.get('project.service.unit.type')
    api = UnitType(name="API Calls", code='API', product=api_call)
    api.unit_price = Decimal('0.05')
    api.base_quantity = 1000
    api.save()
    Unit = Model.get('project.service.unit')
    Unit.capture([
            {'project': PROJECT, 'type': 'API',
                'date': dt.date(2026, 1, 10), 'quantity': 800},
            {'project': PROJECT, 'type': 'API',
                'date': dt.date(2026, 1, 20), 'quantity': 600},
            ], config.context)

    Request = Model.get('project.billing.request')
    request = Request(project=project, date=dt.date(2026, 1, 31))
    request.save()
    return {'project': project.id, 'request': request.id}


class CustomerProjectBrowserTest(BrowserTestCase):
    modules = ['customer_project']
    setup_hook = create_project

    def assert_screenshot(self, name, size=10_000):
        path = self.browser.screenshot(name)
        self.assertGreater(os.path.getsize(path), size)

    def test_1_create(self):
        "Create a customer project from the menu"
        browser = self.browser
        browser.open_menu('Projects', 'Customer Projects', 'Customer Projects')
        browser.click_button('New')
        browser.fill('name', "Turing Intranet")
        browser.fill_many2one('party', CUSTOMER)
        browser.save()
        browser.assert_text("Turing Intranet")
        self.assert_screenshot('customer-project-create')

    def test_2_plan_and_staff(self):
        "Show the plan and the staffing analysis"
        browser = self.browser
        browser.open_action('customer_project.act_resource_demand')
        # 40 hours demanded, 32 staffed: 8 unstaffed
        browser.assert_text('Discovery')
        browser.assert_text('8.00')
        self.assert_screenshot('customer-project-plan')
        browser.open_action('customer_project.act_staffing_analysis')
        browser.assert_text('Consultant')
        browser.assert_text('32.00')
        self.assert_screenshot('customer-project-staffing')

    def test_3_service_units(self):
        "Show the captured service units with their billable quantity"
        browser = self.browser
        browser.open_action('customer_project.act_service_unit')
        # 800 then 600 with 1000 included: 400 billable
        browser.assert_text('400')
        self.assert_screenshot('customer-project-service-units')

    def test_4_release_request(self):
        "Collect the items of a billing request and release it"
        browser = self.browser
        browser.open_model(
            'project.billing.request', self.setup_data['request'])
        browser.click_button('Collect Items')
        # 8 h at 100 and 400 API calls at 0.05: 800.00 + 20.00
        browser.wait_text('820.00')
        self.assert_screenshot('customer-project-request')
        browser.click_button('Release')
        browser.wait_text('Invoiced')
        self.assert_screenshot('customer-project-request-invoiced')

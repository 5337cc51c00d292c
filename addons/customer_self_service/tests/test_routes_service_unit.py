# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"""Portal route tests of the service units (customer_project activated)."""
import datetime
import re
from http import HTTPStatus

from trytond.modules.account.tests import create_chart
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase

from . import test_routes as portal

D = datetime.date


def create_project(party, name, units):
    """Create a project of the party with a task and the service units
    [(type, date, quantity)] captured in this order"""
    pool = Pool()
    Work = pool.get('project.work')
    Unit = pool.get('project.service.unit')
    project = Work(name=name, type='project', party=party)
    project.on_change_party()
    project.children = [Work(name=name + " task", type='task')]
    project.save()
    Unit.save([Unit(project=project, type=type_, date=date, quantity=quantity)
            for type_, date, quantity in units])
    return project


class CustomerSelfServiceUnitRouteTestCase(
        portal.PortalTestMixin, RouteTestCase):
    "Test Customer Self Service portal service units"
    module = 'customer_self_service'
    extras = ['customer_project']

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Type = pool.get('customer.self_service.type')
        WebUser = pool.get('web.user')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        UnitType = pool.get('project.service.unit.type')
        company = create_company()
        with set_company(company):
            create_chart(company)
            standard, = Type.search([('code', '=', 'standard')])
            with_units, = Type.copy([standard], default={
                    'code': 'projects', 'portal_projects': True,
                    'portal_service_units': True})
            alpha, alpha_user, _ = portal.create_customer_invoices(
                company, "Alpha", 'ALPHA', [])
            beta, beta_user, _ = portal.create_customer_invoices(
                company, "Beta", 'BETA', [])
            # Gamma's type does not grant the service units
            gamma, _, _ = portal.create_customer_invoices(
                company, "Gamma", 'GAMMA', [])
            WebUser.write([alpha_user, beta_user], {'css_type': with_units.id})

            unit, = Uom.search([('name', '=', 'Unit')])
            template = Template(name="API Call", type='service',
                default_uom=unit, list_price=0)
            template.products = [{}]
            template.save()
            product, = template.products
            api, hosting = UnitType.create([{
                        'name': "API Calls", 'code': 'API',
                        'product': product.id, 'unit_price': 0,
                        'base_quantity': 1000, 'period': 'month',
                        }, {
                        'name': "Hosting", 'code': 'HOST',
                        'product': product.id, 'unit_price': 0,
                        'base_quantity': 0, 'period': 'month',
                        }])
            # Alpha Website, 1000 API calls included per month, consumed in
            # the order of capture:
            #   2026-02-10  600 -> cumulative  600: billable   0
            #   2026-02-20  700 -> cumulative 1300: billable 300
            #   2026-03-05  300 -> new month,  300: billable   0
            #   hosting 2026-02-01 1.5, nothing included: billable 1.5
            website = create_project(alpha, "Alpha Website", [
                    (api, D(2026, 2, 10), 600),
                    (api, D(2026, 2, 20), 700),
                    (api, D(2026, 3, 5), 300),
                    (hosting, D(2026, 2, 1), 1.5)])
            # Alpha Support has no unit
            support = create_project(alpha, "Alpha Support", [])
            # Beta Platform: 2500 API calls in February: 1500 billable
            platform = create_project(beta, "Beta Platform", [
                    (api, D(2026, 2, 15), 2500)])
            cls.website, cls.support = website.id, support.id
            cls.website_task = website.children[0].id
            cls.platform = platform.id
            cls.beta_unit, = [u.id for u in pool.get(
                    'project.service.unit').search(
                    [('project', '=', platform.id)])]

    def units(self, page):
        "Return the rows (type, date, quantity, billable) of the page"
        return re.findall(
            r'<tr class="unit" id="unit-\d+">\s*<td>([^<]*)</td>\s*'
            r'<td>([^<]*)</td>\s*<td class="num quantity">([^<]*)</td>\s*'
            r'<td class="num billable">([^<]*)</td>', page)

    def test_service_units(self):
        "A customer sees the service units of its projects only"
        client = self.client()
        self.login(client, 'alpha')
        response = client.get(self.url('/service-units'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        page = response.get_data(as_text=True)
        self.assertIn('id="nav-service-units"', page)
        self.assertEqual(
            re.findall(r'<h2>([^<]*)</h2>', page),
            ["Alpha Support", "Alpha Website"])
        self.assertIn('No service unit.', page)
        # The most recent first; billable derived in setUpDatabase
        self.assertEqual(self.units(page), [
                ('API Calls', '03/05/2026', '300', '0'),
                ('API Calls', '02/20/2026', '700', '300'),
                ('API Calls', '02/10/2026', '600', '0'),
                ('Hosting', '02/01/2026', '1.5', '1.5'),
                ])
        self.assertNotIn('Beta', page)
        self.assertNotIn('2,500', page)

        # One of its projects, from the projects page
        page = client.get(self.url('/projects')).get_data(as_text=True)
        self.assertIn(f'service-units?project={self.website}', page)
        self.assertNotIn(f'service-units?project={self.platform}', page)
        response = client.get(
            self.url(f'/service-units?project={self.website}'))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        page = response.get_data(as_text=True)
        self.assertEqual(
            re.findall(r'<h2>([^<]*)</h2>', page), ["Alpha Website"])
        self.assertEqual(len(self.units(page)), 4)

        # Guessed and tampered project ids are not found: another customer's
        # project, a task, a unit id, a missing id, not a number
        for project in [self.platform, self.website_task, self.beta_unit,
                999999, 0, -1, 'abc', f'{self.website}%20OR%201=1', '']:
            with self.subTest(project=project):
                response = client.get(
                    self.url(f'/service-units?project={project}'))
                self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_service_units_other_customer(self):
        "The other customer sees its own units only"
        client = self.client()
        self.login(client, 'beta')
        page = client.get(self.url('/service-units')).get_data(as_text=True)
        self.assertEqual(
            re.findall(r'<h2>([^<]*)</h2>', page), ["Beta Platform"])
        # 2500 in February, 1000 included: 1500 billable
        self.assertEqual(self.units(page), [
                ('API Calls', '02/15/2026', '2,500', '1,500')])
        for project in [self.website, self.support]:
            response = client.get(
                self.url(f'/service-units?project={project}'))
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_service_units_capability(self):
        "A type without the capability gets no link and 403"
        client = self.client()
        self.login(client, 'gamma')
        page = client.get(self.url('/')).get_data(as_text=True)
        self.assertNotIn('nav-service-units', page)
        for path in [
                '/service-units', f'/service-units?project={self.website}']:
            response = client.get(self.url(path))
            self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)

        # Without a session: to the login page
        response = self.client().get(self.url('/service-units'))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertTrue(response.location.endswith('/login'))


del RouteTestCase

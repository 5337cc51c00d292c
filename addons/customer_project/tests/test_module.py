# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
import datetime as dt
import unittest

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.customer_billing.tests.tools import (
    check_text_column_posted)
from trytond.modules.customer_project.common import (
    next_period, period_end, period_start)
from trytond.modules.customer_project.exceptions import ProjectStageError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class CustomerProjectTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Project module"
    module = 'customer_project'

    @with_transaction()
    def test_stage_workflow(self):
        "Stage changes follow the transitions of the workflow"
        pool = Pool()
        Work = pool.get('project.work')
        company = create_company()
        with set_company(company):
            project, = Work.create([{
                        'name': "Project", 'type': 'project',
                        'company': company.id,
                        'children': [('create', [{
                                        'name': "Package", 'type': 'task',
                                        'company': company.id,
                                        }])],
                        }])
            package, = project.children

            def stages():
                return [w.stage for w in Work.browse([project, package])]

            Work.prepare_contract([project, package])
            # work packages have no stage of their own
            self.assertEqual(stages(), ['contract', 'planning'])
            with self.assertRaises(ProjectStageError):
                Work.complete([project])
            Work.sign_contract([project])
            Work.complete([project])
            self.assertEqual(stages(), ['completed', 'planning'])
            # completed goes back to completed only from closed (reopen)
            with self.assertRaises(ProjectStageError):
                Work._reopen_completed([project])
            with self.assertRaises(ProjectStageError):
                Work.prepare_contract([project])
            self.assertEqual(stages(), ['completed', 'planning'])

    @with_transaction()
    def test_stage_log_upgrade(self):
        "The stage log text of an earlier version becomes one chat post"
        pool = Pool()
        Work = pool.get('project.work')
        company = create_company()
        with set_company(company):
            project, = Work.create([{
                        'name': "Project", 'type': 'project',
                        'company': company.id,
                        }])
        check_text_column_posted(self, project, self.module, 'stage_log',
            "2025-03-31 10:00:00 Administrator: Late credit note\n")


    @with_transaction()
    def test_set_up_defaults(self):
        "A new project, its work packages and demands start filled in"
        pool = Pool()
        Work = pool.get('project.work')
        Demand = pool.get('project.resource.demand')
        Date = pool.get('ir.date')
        company = create_company()
        with set_company(company):
            # the currency of the company
            self.assertEqual(
                Work.default_project_currency(), company.currency.id)
            # a child created from the customer projects action (whose
            # context creates projects) is a work package
            context = Work.children.context
            with Transaction().set_context(default_type='project'):
                with Transaction().set_context(context):
                    self.assertEqual(
                        Work.default_get(['type'])['type'], 'task')
            # the Monday of the current week (weekly is the default period)
            today = Date.today()
            start = Demand.default_period_start()
            self.assertEqual(start.weekday(), 0)
            self.assertTrue(0 <= (today - start).days <= 6)


class PeriodTestCase(unittest.TestCase):
    "Test the period helpers"

    def test_week(self):
        "Weeks start on Monday"
        # 2026-01-07 is a Wednesday: its week runs from Monday 5 to Sunday 11
        self.assertEqual(
            period_start(dt.date(2026, 1, 7), 'week'), dt.date(2026, 1, 5))
        self.assertEqual(
            period_end(dt.date(2026, 1, 7), 'week'), dt.date(2026, 1, 11))
        self.assertEqual(
            next_period(dt.date(2026, 12, 30), 'week'), dt.date(2027, 1, 4))

    def test_month_and_year(self):
        "Months and years start on their first day"
        self.assertEqual(
            period_start(dt.date(2026, 2, 28), 'month'), dt.date(2026, 2, 1))
        self.assertEqual(
            period_end(dt.date(2026, 2, 10), 'month'), dt.date(2026, 2, 28))
        self.assertEqual(
            next_period(dt.date(2026, 12, 15), 'month'), dt.date(2027, 1, 1))
        self.assertEqual(
            next_period(dt.date(2026, 6, 15), 'year'), dt.date(2027, 1, 1))


del ModuleTestCase

# This file is part of Tryton.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import unittest

from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.customer_project.common import (
    next_period, period_end, period_start)
from trytond.tests.test_tryton import ModuleTestCase


class CustomerProjectTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Customer Project module"
    module = 'customer_project'


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

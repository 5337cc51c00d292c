# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
"Small shared helpers: periods and SQL snippets"
import datetime

from sql import Literal
from sql.conditionals import Case
from sql.functions import Extract

PERIODS = [
    ('week', "Week"),
    ('month', "Month"),
    ]


def period_start(date, period):
    "Return the first day of the period containing date"
    if date is None:
        return None
    if period == 'week':
        return date - datetime.timedelta(days=date.weekday())
    elif period == 'month':
        return date.replace(day=1)
    elif period == 'year':
        return date.replace(month=1, day=1)
    return date


def period_end(date, period):
    "Return the last day of the period starting at date"
    return next_period(period_start(date, period), period) - (
        datetime.timedelta(days=1))


def next_period(date, period):
    "Return the first day of the period following the one of date"
    date = period_start(date, period)
    if period == 'week':
        return date + datetime.timedelta(days=7)
    elif period == 'month':
        if date.month == 12:
            return date.replace(year=date.year + 1, month=1)
        return date.replace(month=date.month + 1)
    elif period == 'year':
        return date.replace(year=date.year + 1)
    raise ValueError(period)


def duration_hours(column):
    "SQL expression converting a duration column to hours"
    return Extract('EPOCH', column) / Literal(60 * 60)


def project_of_work(work):
    "SQL expression giving the customer project of a project.work row"
    return Case((work.type == 'project', work.id), else_=work.parent)

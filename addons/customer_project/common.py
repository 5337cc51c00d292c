# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
"Small shared helpers: periods and SQL snippets"
import datetime

from sql import Literal
from sql.conditionals import Case
from sql.functions import Extract

from trytond.i18n import gettext
from trytond.pool import Pool

from .exceptions import WizardInputError

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


# the dates a client may send to the wizards: the copy shifts a project's
# dates by the difference, which must stay inside the calendar
DATE_RANGE = (datetime.date(1900, 1, 1), datetime.date(2999, 12, 31))


def valid_id(value):
    "Tell if value is an id the database can store"
    return (isinstance(value, int) and not isinstance(value, bool)
        and 0 < value < 2 ** 31)


def valid_date(value):
    "Tell if value is a date inside DATE_RANGE"
    return (isinstance(value, datetime.date)
        and not isinstance(value, datetime.datetime)
        and DATE_RANGE[0] <= value <= DATE_RANGE[1])


def valid_value(field, value):
    "Tell if value has the type of field (None for any type)"
    if value is None:
        return True
    type_ = field._type
    if type_ == 'many2one':
        return valid_id(value)
    elif type_ in {'many2many', 'one2many'}:
        return (isinstance(value, (list, tuple))
            and all(valid_id(v) for v in value))
    elif type_ == 'date':
        return valid_date(value)
    elif type_ == 'boolean':
        return isinstance(value, bool)
    elif type_ in {'char', 'text'}:
        return isinstance(value, str)
    elif type_ == 'binary':
        return isinstance(value, (bytes, bytearray, memoryview))
    return True


class WizardStartMixin:
    """Check the start values a client sends with the wizard's execute:
    nothing guarantees they went through the form"""
    __slots__ = ()

    @classmethod
    def execute(cls, session_id, data, state_name):
        if not isinstance(data, dict):
            raise WizardInputError(gettext(
                    'customer_project.msg_wizard_value_invalid',
                    field=cls.__name__))
        if state_name != cls.end_state and 'start' in data:
            Start = Pool().get(cls.states['start'].model_name)
            check_start_values(Start, data['start'])
        return super().execute(session_id, data, state_name)


def check_start_values(View, values):
    "Raise WizardInputError unless values could come from View's form"
    if not isinstance(values, dict):
        raise WizardInputError(gettext(
                'customer_project.msg_wizard_value_invalid',
                field=View.__names__()['model']))
    for name, field in View._fields.items():
        if name not in values and not field.required:
            continue
        value = values.get(name)
        if not valid_value(field, value):
            raise WizardInputError(gettext(
                    'customer_project.msg_wizard_value_invalid',
                    field=field.string))
        if field.required and (
                value is None or value == [] or (
                    isinstance(value, str) and not value.strip())):
            raise WizardInputError(gettext(
                    'customer_project.msg_wizard_value_required',
                    field=field.string))
    unknown = sorted(values.keys() - View._fields.keys() - {'id'})
    if unknown:
        raise WizardInputError(gettext(
                'customer_project.msg_wizard_value_invalid',
                field=unknown[0]))

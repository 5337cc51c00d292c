# This file is part of the customer_status module.
"The ageing periods of the customer status in the accounting configuration"
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.transaction import without_check_access

from .exceptions import AgeingPeriodError

AGEING_FIELDS = ['ageing_days_1', 'ageing_days_2', 'ageing_days_3']


class Configuration(metaclass=PoolMeta):
    __name__ = 'account.configuration'

    ageing_days_1 = fields.Integer(
        "First Ageing Period", required=True,
        help="The last day after maturity of the first ageing period of "
        "the customer status, which starts on the first day after maturity.")
    ageing_days_2 = fields.Integer(
        "Second Ageing Period", required=True,
        help="The last day after maturity of the second ageing period, "
        "which starts the day after the first one ends.")
    ageing_days_3 = fields.Integer(
        "Third Ageing Period", required=True,
        help="The last day after maturity of the third ageing period; "
        "the amounts due longer are older.")

    @classmethod
    def default_ageing_days_1(cls):
        return 30

    @classmethod
    def default_ageing_days_2(cls):
        return 60

    @classmethod
    def default_ageing_days_3(cls):
        return 90

    @classmethod
    def validate_fields(cls, configurations, field_names):
        super().validate_fields(configurations, field_names)
        if field_names & set(AGEING_FIELDS):
            for configuration in configurations:
                configuration.check_ageing_days()

    def check_ageing_days(self):
        "Refuse ageing periods that are empty or overlap"
        days = [getattr(self, n) for n in AGEING_FIELDS]
        if not (0 < days[0] < days[1] < days[2]):
            raise AgeingPeriodError(gettext(
                    'customer_status.msg_ageing_periods_overlap',
                    first=days[0], second=days[1], third=days[2]))

    @classmethod
    def get_ageing_days(cls):
        """Return the last day after maturity of each of the three periods
        (every reader of a status uses them)"""
        with without_check_access():
            configuration = cls(1)
            return tuple(getattr(configuration, n) for n in AGEING_FIELDS)

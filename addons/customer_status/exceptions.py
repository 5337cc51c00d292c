# This file is part of the customer_status module.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class PeriodError(UserError):
    pass


class MissingRateError(UserError):
    pass


class NoReceivableAccountError(UserError):
    pass


class CompanyAccessError(AccessError):
    pass


class ProtestError(ValidationError):
    pass


class OverrideError(ValidationError):
    pass

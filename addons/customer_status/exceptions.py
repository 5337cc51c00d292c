# This file is part of the customer_status module.
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError, ValidationError


class PeriodError(UserError):
    pass


class StatusInputError(UserError):
    "Raised when the values asked for a status are missing or out of range"


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


class CreditExposureWarning(UserWarning):
    "Raised when a quotation would bring the exposure over the limit"


class CreditOverrideError(UserError):
    pass


class GroupLimitError(ValidationError):
    pass


class AgeingPeriodError(ValidationError):
    pass

# This file is part of Tryton.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError, ValidationError


class RunError(UserError):
    "Invalid invoicing run"


class RunValidationError(ValidationError):
    "Invalid invoicing run values"


class RunAccessError(AccessError):
    "Forbidden change on an invoicing run"


class ItemError(UserError):
    "An item of an invoicing run cannot be billed"


class ManualItemAccessError(AccessError):
    "Forbidden change on a billed manual item"


class RunWarning(UserWarning):
    "Warning about an invoicing run"


class InvoiceReleasedError(UserError):
    "A cancelled invoice whose units were released cannot be drafted"


class FeePeriodError(UserError):
    "A fee period cannot be released"

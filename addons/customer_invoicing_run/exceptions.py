# This file is part of the customer_invoicing_run module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class RunError(UserError):
    "Invalid invoicing run"


class RunAccessError(AccessError):
    "Forbidden change on an invoicing run"


class ItemError(UserError):
    "An item of an invoicing run cannot be billed"


class ItemAccessError(AccessError):
    "Forbidden change on a billed item of an invoicing run"


class ManualItemAccessError(AccessError):
    "Forbidden change on a billed manual item"


class InvoiceReleasedError(UserError):
    "A cancelled invoice whose units were released cannot be drafted"


class FeePeriodError(UserError):
    "A fee period cannot be released"

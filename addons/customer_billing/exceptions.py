# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import ValidationError


class AccountNotBillableError(UserError):
    "Raised when an obligation is billed through a non billable account"


class ThirdPartyError(UserError):
    "Raised when a third party is not authorised for an obligation"


class HeadquarterError(ValidationError):
    "Raised when a headquarter hierarchy is invalid"


class ChangeRequestError(UserError):
    "Raised when a party change request can not be processed"


class DuplicatePartyWarning(UserWarning):
    "Warn when a change request looks like an existing party"


class DeliveryError(UserError):
    "Raised when an invoice cannot be delivered through its channel"


class EDocumentError(UserError):
    "Raised when the e-invoice of an invoice is refused by its checks"

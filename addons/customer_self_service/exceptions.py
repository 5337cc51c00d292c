# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class SelfServiceError(UserError):
    pass


class StatusError(SelfServiceError):
    "The customer is not in a status allowing the action"


class LoginError(ValidationError):
    "The self-service user id is missing, malformed or already used"


class EmailError(ValidationError):
    "The self-service email address is missing or malformed"


class PrimaryAccountError(ValidationError):
    "The primary self-service account does not belong to the customer"


class PortalError(SelfServiceError):
    "An error shown on a portal page"


class PDFError(PortalError):
    "The PDF of a document can not be produced"

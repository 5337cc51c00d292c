# This file is part of the customer_project module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import ValidationError


class ProjectValidationError(ValidationError):
    "Raised when a customer project header is inconsistent"


class ProjectStageError(UserError):
    "Raised when a project stage transition is not allowed"


class PlanningValidationError(ValidationError):
    "Raised when a resource demand or a staffing is invalid"


class StaffingWarning(UserWarning):
    "Warn when an employee is overbooked or staffed outside dates"


class BillingPlanValidationError(ValidationError):
    "Raised when a milestone or a fee is invalid"


class ServiceUnitError(ValidationError):
    "Raised when a service unit is invalid"


class ServiceUnitImportError(UserError):
    "Raised when a service unit import file can not be read"


class BillingRequestError(UserError):
    "Raised when a billing document request can not be processed"


class ProjectAPIError(UserError):
    "Raised when a project API call is invalid"


class WizardInputError(UserError):
    "Raised when a wizard receives a value its form can not give"

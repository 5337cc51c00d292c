# This file is part of the customer_self_service module.  The COPYRIGHT file
# at the top level of this repository contains the full copyright notices and
# license terms.
"The SMTP server of customer_billing's tests (kept for existing imports)"
from trytond.modules.customer_billing.tests.smtp_server import (  # noqa: F401
    SMTPServer)

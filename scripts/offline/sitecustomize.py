"""Email addresses checked offline (loaded by ``scripts/demo``).

trytond 8.0 validates an email address with email_validator and
``check_deliverability=True`` hard-coded (``trytond.tools.email_``; only
its test mode, ``Pool.test``, turns it off) and has no configuration option
for it: the domain is looked up in DNS, so on a machine without DNS every
address is refused, and the demo's ``example.com`` addresses are refused
even with DNS (the domain publishes a null MX: it accepts no mail).
``scripts/demo`` puts this folder on ``PYTHONPATH`` of every process it
starts; the syntax checks and normalisation stay, only the DNS lookup is
skipped.  A real deployment does not load it (set ``DEMO_DNS=1`` to run the
demo with the lookup).
"""
import email_validator

_validate_email = email_validator.validate_email


def validate_email(email, *args, **kwargs):
    kwargs['check_deliverability'] = False
    return _validate_email(email, *args, **kwargs)


email_validator.validate_email = validate_email

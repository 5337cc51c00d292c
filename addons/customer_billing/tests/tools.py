# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
from sql import Column

from trytond.pool import Pool
from trytond.transaction import Transaction


def check_text_column_posted(test, record, module, name, text):
    """Check that updating module posts text, written in the column name of
    record by an earlier version, on the record's chat and drops the column
    (see customer_billing.upgrade.post_text_column)"""
    pool = Pool()
    Message = pool.get('ir.chat.message')
    Model = record.__class__
    Model.__table_handler__(module).add_column(name, 'TEXT')
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.update([Column(table, name)], [text],
            where=table.id == record.id))

    Model.__register__(module)

    message, = Message.search([('channel.resource', '=', str(record))])
    test.assertEqual(message.content, text)
    test.assertFalse(Model.__table_handler__(module).column_exist(name))

# This file is part of the customer_billing module.  The COPYRIGHT file at the
# top level of this repository contains the full copyright notices and license
# terms.
"Migrations shared by the modules of the suite"
from sql import Column, Null

from trytond.pool import Pool
from trytond.transaction import Transaction


def post_text_column(Model, module, name):
    """Post the text of column name of each record of Model on its chat as one
    message and drop the column (a hand-written log of an earlier version)"""
    pool = Pool()
    Channel = pool.get('ir.chat.channel')
    table_h = Model.__table_handler__(module)
    if not table_h.column_exist(name):
        return
    table = Model.__table__()
    column = Column(table, name)
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.id, column,
            where=column != Null, order_by=[table.id]))
    for id_, text in cursor.fetchall():
        if text.strip():
            Channel.post(Model(id_), text)
    table_h.drop_column(name)

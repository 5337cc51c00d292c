"""Compare an export of Tryton's translations with the committed .po files."""
import os

import polib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDONS = os.path.join(ROOT, 'addons')
MODULES = sorted(
    n for n in os.listdir(ADDONS)
    if os.path.isfile(os.path.join(ADDONS, n, 'tryton.cfg')))
LANGUAGES = ['de', 'es', 'fr', 'pt']


def locale_path(module, lang):
    return os.path.join(ADDONS, module, 'locale', lang + '.po')


def _load(po):
    "Entries of po (a path, the text of a file or None) by context and id"
    if po is None or (not isinstance(po, bytes) and not os.path.exists(po)):
        return {}
    if isinstance(po, bytes):
        po = po.decode('utf-8')
    return {(e.msgctxt, e.msgid): e for e in polib.pofile(po)}


def _translated(entry):
    if entry.msgid_plural:
        return all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def untranslated(exported, committed, name):
    """{name: [description, ...]} of the exported strings that committed
    lacks, leaves untranslated or marks fuzzy ({} when there are none)"""
    done = _load(committed)
    missing = []
    for key, entry in sorted(_load(exported).items()):
        found = done.get(key)
        if found is None:
            problem = 'absent'
        elif found.fuzzy:
            problem = 'fuzzy'
        elif not _translated(found):
            problem = 'untranslated'
        else:
            continue
        missing.append('%s %s %r' % (problem, key[0], key[1]))
    return {name: missing} if missing else {}

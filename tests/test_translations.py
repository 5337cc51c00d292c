"""Every translatable string of the suite is translated in each language.

The five modules are activated in one database and Tryton's own machinery
lists their strings, as the Set, Clean and Update Translations wizards and
the export of trytond-admin --export-translations do; each module's export
for de, es, fr and pt is compared with its committed locale/<lang>.po: a
string the export lists that the file lacks, leaves empty or marks fuzzy is
reported by its context and text.  scripts/translations export writes the
new strings into the files (with an empty msgstr to fill in).
"""
import unittest

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    activate_module, drop_db, with_transaction)

from .translations import LANGUAGES, MODULES, locale_path, untranslated


class TranslationsTestCase(unittest.TestCase):
    "Translations of the suite"

    @classmethod
    def setUpClass(cls):
        drop_db()
        activate_module(MODULES)

    @classmethod
    def tearDownClass(cls):
        drop_db()

    @staticmethod
    def _run_wizard(name, state, data=None):
        Wizard = Pool().get(name, type='wizard')
        session_id, _, _ = Wizard.create()
        Wizard.execute(session_id, data or {}, state)
        Wizard.delete(session_id)

    def _export(self):
        "{(module, lang): po bytes} as trytond-admin exports them"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        languages = Lang.search([('code', 'in', LANGUAGES)])
        Lang.write(languages, {'translatable': True})
        self._run_wizard('ir.translation.set', 'set_')
        self._run_wizard('ir.translation.clean', 'clean')
        for language in languages:
            self._run_wizard('ir.translation.update', 'update',
                {'start': {'language': language.id}})
        return {(m, l): Translation.translation_export(l, m)
            for m in MODULES for l in LANGUAGES}

    @with_transaction()
    def test_every_string_translated(self):
        "Each module's export in each language is translated, none fuzzy"
        exports = self._export()
        missing = {}
        for (module, lang), po in sorted(exports.items()):
            self.assertTrue(po, msg=f"{module} has no string to translate")
            missing.update(untranslated(
                    po, locale_path(module, lang), f'{module}/{lang}'))
        self.assertEqual(missing, {}, msg='\n'.join(
                f'{name}: {len(strings)} to translate:\n    '
                + '\n    '.join(strings)
                for name, strings in missing.items()))

    def test_untranslated_names_missing_strings(self):
        "The comparison names absent, empty and fuzzy strings"
        exported = (
            'msgctxt "field:a,b:"\nmsgid "B"\nmsgstr ""\n\n'
            'msgctxt "field:a,c:"\nmsgid "C"\nmsgstr ""\n\n'
            'msgctxt "field:a,d:"\nmsgid "D"\nmsgstr ""\n\n'
            'msgctxt "field:a,e:"\nmsgid "E"\nmsgstr ""\n').encode()
        committed = (
            'msgctxt "field:a,c:"\nmsgid "C"\nmsgstr ""\n\n'
            '#, fuzzy\nmsgctxt "field:a,d:"\nmsgid "D"\nmsgstr "Dd"\n\n'
            'msgctxt "field:a,e:"\nmsgid "E"\nmsgstr "Ee"\n').encode()
        self.assertEqual(untranslated(exported, committed, 'm/de'), {
                'm/de': [
                    "absent field:a,b: 'B'",
                    "untranslated field:a,c: 'C'",
                    "fuzzy field:a,d: 'D'",
                    ]})
        self.assertEqual(untranslated(committed, committed, 'm/de'),
            {'m/de': ["untranslated field:a,c: 'C'", "fuzzy field:a,d: 'D'"]})

"""results/index.csv and ci/publish.sh: every run indexed once with its
host and CPU facts, a run already in results/ indexed where it is (its
files untouched), --reindex rebuilding the index from the runs."""

import csv
import filecmp
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import synth
from tbsuite import index

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(HERE, 'fixtures', 'results')
OLD = '20261125T202027Z-4e5f7274'
NEW = '20261126T120000Z-5e7e7e7e'


def rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def publish(*args):
    return subprocess.run([os.path.join(ROOT, 'ci', 'publish.sh')] +
        list(args), capture_output=True, text=True, timeout=120)


class Index(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        shutil.copytree(FIXTURE, self.dir, dirs_exist_ok=True)
        synth.write_run(self.dir, NEW)
        self.index = os.path.join(self.dir, 'index.csv')

    def test_reindex(self):
        # a cost-only run and a directory that is not a run
        os.makedirs(os.path.join(self.dir, 'costonly', 'cost'))
        with open(os.path.join(self.dir, 'costonly', 'cost', 'cost.csv'),
                'w') as f:
            f.write('status,utc\nok,2026-11-20T00:00:00Z\nerror,\n')
        os.makedirs(os.path.join(self.dir, 'site', 'runs'))
        index.reindex(self.dir)
        got = rows(self.index)
        self.assertEqual(list(got[0]), index.COLUMNS)
        self.assertEqual([r['run_id'] for r in got], ['costonly', OLD, NEW])
        old = got[1]
        self.assertEqual(old['profile'], 'seed-2017')
        self.assertEqual((old['host'], old['cpu_model'], old['cores']),
            ('vm', 'AMD EPYC', '2'))
        self.assertIn('sha_ni', old['cpu_flags'])
        self.assertEqual((old['rows'], old['errors']), ('33', '0'))
        self.assertEqual(old['csv'], OLD + '.csv')
        self.assertEqual(got[0]['cost_csv'], 'costonly/cost/cost.csv')
        self.assertEqual((got[0]['rows'], got[0]['errors']), ('2', '1'))

    def test_profile_of_a_run_without_one(self):
        with open(os.path.join(self.dir, OLD, 'run.json'), 'w') as f:
            json.dump({'profile': None, 'matrix': None, 'argv': []}, f)
        index.reindex(self.dir)
        self.assertEqual(rows(self.index)[0]['profile'], 'default')

    def test_add_replaces_and_keeps_the_recorded_profile(self):
        index.add(self.dir, OLD, 'nightly')
        os.remove(os.path.join(self.dir, OLD, 'run.json'))
        index.add(self.dir, OLD)
        index.add(self.dir, NEW)
        got = rows(self.index)
        self.assertEqual([r['run_id'] for r in got], [OLD, NEW])
        self.assertEqual(got[0]['profile'], 'nightly')
        with open(self.index) as f:
            before = f.read()
        index.add(self.dir, NEW)
        with open(self.index) as f:
            self.assertEqual(f.read(), before)

    def test_an_old_index_gains_the_new_columns(self):
        with open(self.index, 'w') as f:
            f.write('run_id,utc,git_commit,profile,host,cpu_model,rows,'
                'errors,csv,report,cost_csv,memory_csv\n'
                'x,2026-01-01T00:00:00Z,abc,quick,h,m,1,0,,,,\n')
        index.add(self.dir, NEW)
        got = rows(self.index)
        self.assertEqual(list(got[0]), index.COLUMNS)
        self.assertEqual([r['run_id'] for r in got], ['x', NEW])
        self.assertEqual(got[0]['profile'], 'quick')

    def test_runs_include_what_the_index_lacks(self):
        index.add(self.dir, NEW)
        self.assertEqual([r['run_id'] for r in index.runs(self.dir)],
            [OLD, NEW])


class Publish(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.results = os.path.join(self.dir, 'results')
        shutil.copytree(FIXTURE, self.results)
        self.keep = os.path.join(self.dir, 'keep')
        shutil.copytree(FIXTURE, self.keep)

    def test_a_run_already_in_results(self):
        p = publish(OLD, '--from', self.results, '--to', self.results)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('already in', p.stderr)
        # the run's files are untouched, and indexed
        self.assertTrue(filecmp.cmp(os.path.join(self.results, OLD + '.csv'),
            os.path.join(self.keep, OLD + '.csv'), shallow=False))
        self.assertTrue(os.path.exists(os.path.join(self.results, OLD,
            'run.json')))
        got = rows(os.path.join(self.results, 'index.csv'))
        self.assertEqual([(r['run_id'], r['rows']) for r in got],
            [(OLD, '33')])

    def test_copy_and_reindex(self):
        to = os.path.join(self.dir, 'published')
        p = publish(OLD, '--from', self.results, '--to', to)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(filecmp.cmp(os.path.join(to, OLD + '.csv'),
            os.path.join(self.keep, OLD + '.csv'), shallow=False))
        os.remove(os.path.join(to, 'index.csv'))
        p = publish('--reindex', '--to', to)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([r['run_id'] for r in rows(os.path.join(to,
            'index.csv'))], [OLD])

    def test_site(self):
        to = os.path.join(self.dir, 'published')
        site = os.path.join(to, 'site')
        p = publish(OLD, '--from', self.results, '--to', to, '--site', site)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.exists(os.path.join(site, 'runs', OLD,
            'index.html')))
        # the site inside the results tree is not a run
        p = publish('--reindex', '--to', to, '--site', site)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([r['run_id'] for r in rows(os.path.join(to,
            'index.csv'))], [OLD])

    def test_usage_errors(self):
        for args in (['--reindex', OLD], ['nope', '--from', self.results],
                ['--reindex', '--to', os.path.join(self.dir, 'none')],
                ['--frobnicate']):
            p = publish(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertTrue(p.stderr.startswith('publish.sh: '), p.stderr)


if __name__ == '__main__':
    unittest.main()

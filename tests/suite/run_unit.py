"""run_unit.py: the suite's Python unit tests (tests/suite/test_*.py), one
`PASS name` or `FAIL name: why` line per test and `N passed, N failed` at
the end, as every test runner of the project prints.  Needs suite/ on
PYTHONPATH (ci/test.sh sets it)."""

import os
import sys
import unittest


class LineResult(unittest.TestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        print('PASS %s' % test.id(), flush=True)

    def _fail(self, test, err):
        line = str(err[1]).strip().splitlines()
        print('FAIL %s: %s' % (test.id(), line[-1] if line else err[0]),
              flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    suite = unittest.defaultTestLoader.discover(here, pattern='test_*.py',
                                                top_level_dir=here)
    result = LineResult()
    suite.run(result)
    failed = len(result.failures) + len(result.errors)
    print('%d passed, %d failed' % (result.testsRun - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

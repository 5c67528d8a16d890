"""What the suite's programs share: where the repository is, how they
report progress, how they read list options and show paths."""

import functools
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def log(who, msg):
    """One progress or problem line on stderr, `who: msg`, at once."""
    print('%s: %s' % (who, msg), file=sys.stderr, flush=True)


def logger(who):
    """log() for one program: logger('cost')('msg') -> `cost: msg`."""
    return functools.partial(log, who)


def split_list(values):
    """Option values given repeatedly and comma or space separated, as one
    list: ['a,b', 'c d'] -> ['a', 'b', 'c', 'd']."""
    out = []
    for v in values:
        out += [x for x in re.split(r'[,\s]+', v) if x]
    return out


def abspath(path):
    """path, relative to the repository root unless absolute."""
    return path if os.path.isabs(path) else os.path.join(ROOT, path)


def shown(path):
    """path relative to the repository when inside it (for messages)."""
    rel = os.path.relpath(path, ROOT)
    return path if rel.startswith('..') else rel

"""The backends and the TLS libraries, read from the one place each is
written.

BACKENDS are the choices of meson's `tls` option (meson_options.txt: meson
cannot read a list from a file, so its list is the source; ci/lib.sh's
tb_backends reads it the same way), in that order.  LIBRARIES are the lines
of suite/libs/series: each library suite/libs/build.sh builds, with its
tuned series and the series Debian ships.
"""

import os
import re

from .cli import ROOT

PLAINTEXT = 'none'      # the backend without TLS


def _meson_choices(path, option):
    with open(path) as f:
        text = f.read()
    m = re.search(r"option\(\s*'%s'.*?choices\s*:\s*\[([^\]]*)\]" % option,
        text, re.S)
    if not m:
        raise RuntimeError('%s has no choices for option %s' % (path,
            option))
    return tuple(re.findall(r"'([^']+)'", m.group(1)))


def _series(path):
    out = {}
    with open(path) as f:
        for line in f:
            fields = line.split('#', 1)[0].split()
            if fields:
                name, tuned, debian = fields
                out[name] = {'tuned': tuned, 'debian': debian}
    return out


BACKENDS = _meson_choices(os.path.join(ROOT, 'meson_options.txt'), 'tls')
TLS_BACKENDS = tuple(b for b in BACKENDS if b != PLAINTEXT)
LIBRARIES = _series(os.path.join(ROOT, 'suite', 'libs', 'series'))
FLAVORS = ('tuned', 'debian')

"""site_browser.py: the results site as a reader sees it, in headless
Chromium (Debian's `chromium`), driven over the DevTools protocol on a pipe
(--remote-debugging-pipe) with the standard library only.

Builds a site with suite/site from a fixture results directory (the small
committed run under tests/suite/fixtures/results/ plus two synthetic runs of
the block protocol's shape, the second with a library upgrade), then opens
the front page, one run page and the trends page and checks:
  - no console message of level error or warning, no exception, no failed
    load, no request leaving file:// (the site needs no network);
  - every <img> and <object> loaded (complete, with a size);
  - every link inside the site points to an existing file, and every
    #anchor to an element of its page;
  - every chart of the site, drawn with Chromium's fonts, keeps each
    text inside the picture and no two texts overlap (labels neither cut
    nor on top of each other);
  - each check reports a defect planted in a copy of the site;
and keeps screenshots: BUILD/front.png, BUILD/run.png, BUILD/trends.png.
Prints PASS/FAIL lines and `N passed, N failed`; exit 1 if any failed.

usage: tests/suite/site_browser.py [--build DIR] [--chromium PATH]
       (default build/site-test; needs suite/ on PYTHONPATH)
"""

import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import synth  # noqa: E402

FIXTURE = os.path.join(HERE, 'fixtures', 'results')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--hide-scrollbars',
    '--remote-debugging-pipe', '--window-size=1280,900']
TIMEOUT = 30.0      # seconds for one page to load or one command to answer

PASSED, FAILED = [], []


def check(name, problems):
    """PASS when problems is empty, else FAIL with the first few."""
    if problems:
        FAILED.append(name)
        print('FAIL %s: %s' % (name, '; '.join(str(p) for p in
            problems[:5]) + (' (and %d more)' % (len(problems) - 5) if
            len(problems) > 5 else '')), flush=True)
    else:
        PASSED.append(name)
        print('PASS %s' % name, flush=True)


class Browser:
    """One headless Chromium; commands and events over its pipe (fd 3:
    commands in, fd 4: answers and events out, NUL-separated JSON)."""

    def __init__(self, binary, profile):
        to_child, self.out = os.pipe()
        self.inp, from_child = os.pipe()

        def fds():
            # above 4 first, so neither dup2 below clobbers the other
            a = fcntl.fcntl(to_child, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.log = open(os.path.join(profile, 'chromium.log'), 'w')
        self.proc = subprocess.Popen([binary] + FLAGS + ['--user-data-dir='
            + profile, 'about:blank'], stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=fds,
            close_fds=False)
        os.close(to_child)
        os.close(from_child)
        self.buf = b''
        self.next_id = 0
        self.events = []
        self.session = None
        target = next(t for t in self.call('Target.getTargets')[
            'targetInfos'] if t['type'] == 'page')
        self.session = self.call('Target.attachToTarget', targetId=target[
            'targetId'], flatten=True)['sessionId']
        for domain in ('Page', 'Runtime', 'Log', 'Network'):
            self.call(domain + '.enable')

    def _read(self, deadline):
        while b'\0' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('chromium did not answer in %gs' %
                    TIMEOUT)
            ready, _, _ = select.select([self.inp], [], [], left)
            if ready:
                chunk = os.read(self.inp, 1 << 20)
                if not chunk:
                    raise EOFError('chromium exited (see its log)')
                self.buf += chunk
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)

    def call(self, method, **params):
        self.next_id += 1
        msg = {'id': self.next_id, 'method': method, 'params': params}
        if self.session and not method.startswith('Target.'):
            msg['sessionId'] = self.session
        os.write(self.out, json.dumps(msg).encode() + b'\0')
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = self._read(deadline)
            if m.get('id') == self.next_id:
                if 'error' in m:
                    raise RuntimeError('%s: %s' % (method, m['error']))
                return m.get('result', {})
            if 'method' in m:
                self.events.append(m)

    def wait_event(self, method):
        deadline = time.monotonic() + TIMEOUT
        while True:
            for i, e in enumerate(self.events):
                if e['method'] == method:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def open(self, url):
        """Navigate and wait for the load event; the events of the load."""
        self.events = []
        self.call('Page.navigate', url=url)
        self.wait_event('Page.loadEventFired')
        self.call('Runtime.evaluate', expression='1')   # drain
        seen, self.events = self.events, []
        return seen

    def js(self, expression):
        r = self.call('Runtime.evaluate', expression=expression,
            returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r:
            raise RuntimeError(r['exceptionDetails'].get('text'))
        return r['result'].get('value')

    def screenshot(self, path, max_height=8000):
        m = self.call('Page.getLayoutMetrics')['cssContentSize']
        clip = {'x': 0, 'y': 0, 'width': m['width'], 'height': min(
            m['height'], max_height), 'scale': 1}
        data = self.call('Page.captureScreenshot', format='png',
            captureBeyondViewport=True, clip=clip)['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call('Browser.close')
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def load_problems(events):
    """Console errors and warnings, exceptions, failed or network loads."""
    out = []
    for e in events:
        m, p = e['method'], e.get('params', {})
        if m == 'Runtime.consoleAPICalled' and p.get('type') in ('error',
                'warning', 'assert'):
            out.append('console %s: %s' % (p['type'], ' '.join(str(a.get(
                'value', a.get('description', ''))) for a in p.get('args',
                []))))
        elif m == 'Runtime.exceptionThrown':
            out.append('exception: %s' % p['exceptionDetails'].get('text'))
        elif m == 'Log.entryAdded' and p['entry'].get('level') in ('error',
                'warning'):
            out.append('log %s: %s %s' % (p['entry']['level'], p['entry'].get(
                'text'), p['entry'].get('url', '')))
        elif m == 'Network.loadingFailed':
            out.append('load failed: %s' % p.get('errorText'))
        elif m == 'Network.requestWillBeSent' and not p['request'][
                'url'].startswith(('file:', 'data:', 'about:')):
            out.append('network request: %s' % p['request']['url'])
    return out


PAGE_FACTS = """JSON.stringify({
  images: [...document.images].map(i => ({src: i.currentSrc || i.src,
    ok: i.complete && i.naturalWidth > 0})),
  objects: [...document.querySelectorAll('object')].map(o => ({src: o.data,
    ok: !!o.contentDocument})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  width: document.documentElement.scrollWidth,
  viewport: window.innerWidth})"""

SVG_FACTS = """JSON.stringify((() => {
  const svg = document.documentElement;
  const vb = svg.viewBox.baseVal;
  const boxes = [...document.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, x1: r.left, y1: r.top, x2: r.right,
      y2: r.bottom};
  });
  return {width: vb.width, height: vb.height, boxes: boxes};
})())"""


def page_problems(b, site, rel, shot=None):
    """{check: [problems]} of one page, and the charts its images show."""
    url = 'file://' + urllib.parse.quote(os.path.join(site, rel))
    out = {}
    out['no console error, failed load or network request'] = \
        load_problems(b.open(url))
    facts = json.loads(b.js(PAGE_FACTS))
    out['every image and object loads'] = ['%s did not load' % x['src']
        for x in facts['images'] + facts['objects'] if not x['ok']] + (
        [] if facts['images'] or rel == 'methods.html' else
        ['no image on the page'])
    bad = []
    for href in facts['links']:
        u = urllib.parse.urlparse(href)
        if u.scheme != 'file':
            bad.append('leaves the site: %s' % href)
            continue
        path = urllib.parse.unquote(u.path)
        if not os.path.realpath(path).startswith(os.path.realpath(site)):
            bad.append('outside the site: %s' % href)
        elif not os.path.isfile(path):
            bad.append('no file: %s' % os.path.relpath(path, site))
        elif u.fragment and path == os.path.join(site, rel) and \
                u.fragment not in facts['ids']:
            bad.append('no anchor #%s' % u.fragment)
    out['every link resolves to a file of the site'] = bad
    out['nothing wider than the window'] = [] if facts['width'] <= \
        facts['viewport'] else ['page is %dpx wide in a %dpx window' % (
        facts['width'], facts['viewport'])]
    if shot:
        b.screenshot(shot)
    return out, [urllib.parse.unquote(urllib.parse.urlparse(x['src']).path)
        for x in facts['images'] if x['src'].startswith('file:')]


def overlaps(a, b, slack=0.5):
    return (a['x1'] < b['x2'] - slack and b['x1'] < a['x2'] - slack and
        a['y1'] < b['y2'] - slack and b['y1'] < a['y2'] - slack)


def chart_problems(b, site, paths):
    """{check: [problems]} of the charts (SVG files) at paths."""
    cut, overlap, errors = [], [], []
    for path in sorted(set(p for p in paths if os.path.isfile(p))):
        name = os.path.relpath(path, site)
        errors += ['%s: %s' % (name, p) for p in load_problems(b.open(
            'file://' + urllib.parse.quote(path)))]
        f = json.loads(b.js(SVG_FACTS))
        for t in f['boxes']:
            if t['x1'] < -0.5 or t['y1'] < -0.5 or t['x2'] > f['width'] + \
                    0.5 or t['y2'] > f['height'] + 0.5:
                cut.append('%s: "%s" leaves the %dx%d picture' % (name,
                    t['text'], f['width'], f['height']))
        boxes = [t for t in f['boxes'] if t['text'].strip()]
        for i, x in enumerate(boxes):
            for y in boxes[i + 1:]:
                if overlaps(x, y):
                    overlap.append('%s: "%s" and "%s"' % (name, x['text'],
                        y['text']))
    return {'charts open without errors': errors,
        'chart texts stay inside their picture': cut,
        'chart texts do not overlap': overlap}


PLANTED = """
<img src="runs/no-such-chart.svg" alt="planted">
<img src="http://127.0.0.1:9/planted.png" alt="planted">
<img src="planted.svg" alt="planted">
<a href="no-such-page.html">planted</a> <a href="#no-such-anchor">planted</a>
<script>console.error('planted error')</script>
"""
PLANTED_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="200" \
height="60" viewBox="0 0 200 60"><text x="10" y="30">overlapping</text>\
<text x="14" y="32">labels</text><text x="150" y="30">cut at the edge</text>\
</svg>"""
# each planted defect, and the words its check must report
CAUGHT = (
    ('a missing chart', 'every image and object loads',
        'no-such-chart.svg did not load'),
    ('a load from the network', 'no console error, failed load or network '
        'request', 'network request: http://127.0.0.1:9/planted.png'),
    ('a console error', 'no console error, failed load or network request',
        'planted error'),
    ('a link to a missing page', 'every link resolves to a file of the site',
        'no file: no-such-page.html'),
    ('a link to a missing anchor', 'every link resolves to a file of the '
        'site', 'no anchor #no-such-anchor'),
    ('overlapping chart labels', 'chart texts do not overlap',
        '"overlapping" and "labels"'),
    ('a chart label cut at the edge', 'chart texts stay inside their '
        'picture', '"cut at the edge" leaves'),
)


def planted_checks(b, site, broken):
    """The same checks on a copy of the site with planted defects: each
    must be reported (a check that cannot fail proves nothing)."""
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(site, broken)
    with open(os.path.join(broken, 'index.html'), 'a') as f:
        f.write(PLANTED)
    with open(os.path.join(broken, 'planted.svg'), 'w') as f:
        f.write(PLANTED_SVG)
    found, charts_shown = page_problems(b, broken, 'index.html')
    found.update(chart_problems(b, broken, charts_shown))
    for what, name, words in CAUGHT:
        check('the checks catch %s' % what, [] if any(words in p for p in
            found[name]) else ['"%s" reported nothing with %r: %s' % (name,
            words, found[name][:3])])


def fixture(results):
    """The committed fixture run, results/README.md and two synthetic
    runs of the block protocol (the second with a newer tuned OpenSSL)."""
    shutil.rmtree(results, ignore_errors=True)
    shutil.copytree(FIXTURE, results)
    shutil.copy(os.path.join(ROOT, 'results', 'README.md'), results)
    synth.write_run(results, '20261126T120000Z-5e7e7e7e', seed=1,
        utc='2026-11-26T12:00:00Z')
    return synth.write_run(results, '20261127T120000Z-6f8f8f8f', seed=2,
        utc='2026-11-27T12:00:00Z', versions={'openssl': '3.6.4'})


def main(argv):
    p = argparse.ArgumentParser(usage=__doc__.split('\n\n')[-1].strip())
    p.add_argument('--build', default=os.path.join(ROOT, 'build',
        'site-test'))
    p.add_argument('--chromium', default=shutil.which('chromium') or
        'chromium')
    a = p.parse_args(argv)
    if not shutil.which(a.chromium):
        print('site_browser: %s not found: apt-get install -y chromium' %
            a.chromium, file=sys.stderr)
        return 2
    build = os.path.abspath(a.build)
    os.makedirs(build, exist_ok=True)
    results = os.path.join(build, 'results')
    site = os.path.join(build, 'site')
    newest = fixture(results)
    rc = subprocess.run([os.path.join(ROOT, 'suite', 'site'), '--results',
        results, '--out', site], capture_output=True, text=True)
    check('suite/site builds the fixture site', [] if rc.returncode == 0
        else ['exit %d: %s' % (rc.returncode, rc.stderr.strip())])
    if rc.returncode != 0:
        print('%d passed, %d failed' % (len(PASSED), len(FAILED)))
        return 1
    run_id = os.path.basename(newest)[:-4]
    profile = tempfile.mkdtemp(prefix='tb-chromium-')
    b = Browser(a.chromium, profile)
    try:
        shown = []
        for rel, shot in (('index.html', 'front.png'), ('runs/%s/index.html'
                % run_id, 'run.png'), ('trends.html', 'trends.png'),
                ('methods.html', None)):
            found, charts_shown = page_problems(b, site, rel, shot and
                os.path.join(build, shot))
            shown += charts_shown
            for name, problems in found.items():
                check('%s: %s' % (rel, name), problems)
        every = [os.path.join(d, f) for d, _, fs in os.walk(site)
            for f in fs if f.endswith('.svg')]
        check('the pages show charts (%d of the site\'s %d)' % (len(set(
            shown)), len(every)), [] if set(shown) <= set(every) and shown
            else ['shown: %s' % sorted(set(shown) - set(every))])
        for name, problems in chart_problems(b, site, every).items():
            check('%s (every chart of the site)' % name, problems)
        planted_checks(b, site, os.path.join(build, 'planted'))
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)
    print('screenshots: %s' % ' '.join(os.path.join(build, n) for n in
        ('front.png', 'run.png', 'trends.png')))
    print('%d passed, %d failed' % (len(PASSED), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

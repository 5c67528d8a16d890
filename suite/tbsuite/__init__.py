"""tbsuite: the benchmark suite's Python, one package.

Run as `python3 -m tbsuite.<module>` with suite/ on PYTHONPATH; the bash
entry points (suite/run_matrix.sh, suite/report, suite/site,
suite/compare, suite/cost/run_cost.sh, suite/memory/run_memory.sh,
suite/stress.sh) set that up.  The modules:

  runner       suite/run_matrix.sh: arguments, the matrix, --list, a run,
               resume, its summary
  matrixfile   matrix files: axes, settings, sections, cell specs,
               reference and comparisons, expansion into cells
  protocol     the block plan: seeds, shuffled orders, adaptive repeats
  blockrun     running a block plan: rows measured and written with their
               block and ratio to the reference
  cellstats    cells.csv and comparisons.csv: medians, intervals, ratios
  verify       suite/run_matrix.sh --verify: does a committed run reproduce
  context      what a run needs before its first cell: builds, the client,
               the canary, certificates, bodies, CPUs, library facts
  cells        one cell measured once: the modes, the clean window and the
               rules it must meet
  openloop     open-loop levels: fractions of a cell's capacity measured in
               the same run, and how long their windows are
  resumemodes  how a cell resumes (psk, resume_via, 0-RTT), what the
               server confirmed, the rules of resumed windows
  matrix_modes the matrix's cost and memory modes, the crypto-floor columns
  servers      starting tlsbench, nginx or the asyncio server, readiness,
               counters, a checked stop
  loadgen      running tlsbench-load and reading its JSON
  procstat     CPU, memory and descriptors of a process tree from /proc
  stats        medians with confidence intervals, ratios, the verdict
  builds       server builds (meson, tuned libraries), certificates,
               --version facts
  backends     the backends (meson_options.txt) and library series
               (suite/libs/series)
  hostfacts    the machine and the commit every row carries
  results      the results CSV: columns, durable appends, reading back
  tables       rows grouped into cells with medians and spreads (the
               runner's summary)
  figures      a run's figures: medians with 95% intervals (cells.csv or
               recomputed from the rows), the reference, the canary,
               ratios between cells with their verdict
  charts       SVG charts drawn in Python, one palette for every chart
  report       suite/report: report.md and its charts
  costreport   the report's cost, memory and floor sections
  axisreport   the report's pq, keys and ciphers sections: one axis per
               library against its baseline value
  latreport    the report's latency-under-load, 0-RTT and resumption-mode
               sections
  site         suite/site: the static results site
  compare      suite/compare: two runs side by side, a regression gate
  index        results/index.csv of committed runs (ci/publish.sh,
               ci/regress.sh, suite/site)
  callgrind    instructions per operation: a server under callgrind
  floor        the crypto floor, timed and in instructions
  standalone   what run_cost.sh and run_memory.sh share
  cost         suite/cost/run_cost.sh
  memory       suite/memory/run_memory.sh: memory per idle connection
  stress       suite/stress.sh's attacks and probe
  nginx_conf   an nginx configuration matching one cell
  cli          the repository root, progress lines, list options, paths
"""

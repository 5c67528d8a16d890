"""tbsuite: the benchmark suite's Python, one package.

Run as `python3 -m tbsuite.<module>` with suite/ on PYTHONPATH; the bash
entry points (suite/run_matrix.sh, suite/report, suite/compare,
suite/cost/run_cost.sh, suite/memory/run_memory.sh, suite/stress.sh) set
that up.  The modules:

  runner       suite/run_matrix.sh: arguments, resume, the run loop, summary
  matrixfile   matrix files: axes, settings, blocks, expansion into cells
  context      what a run needs before its first cell: builds, certificates,
               bodies, CPUs, library facts
  cells        one cell measured once: the modes and the measured window
  servers      starting tlsbench, nginx or the asyncio server, readiness,
               counters, a checked stop
  procstat     CPU, memory and descriptors of a process tree from /proc
  hostfacts    the machine and the commit every row carries
  results      the results CSV: columns, durable appends, reading back
  tables       rows grouped into cells with medians and spreads
  report       suite/report: report.md and its charts
  compare      suite/compare: two runs side by side, a regression gate
  cost         suite/cost/run_cost.sh: instructions per operation
  memory       suite/memory/run_memory.sh: memory per idle connection
  matrix_modes the matrix's cost and memory modes, the crypto-floor columns
  costreport   the report's cost, memory and floor sections
  nginx_conf   an nginx configuration matching one cell
  stress       suite/stress.sh's attacks and probe
"""

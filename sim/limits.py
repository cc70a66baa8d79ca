"""Upper bounds on what a scenario file may ask for, in one place.

Each limit is far above real planning use (tens to thousands of times what the shipped
scenarios ask for) and low enough that a run within it finishes and fits in memory. A file
beyond a limit is refused by validation (exit 2) with a message that names the limit, instead
of hanging, exhausting memory or failing after the simulation. ``scenarios/README.md``
("Limits") lists them for planners.
"""

from __future__ import annotations

# -- reading a file -------------------------------------------------------------------------

#: Largest scenario file read, in bytes (the shipped files have 2 kB).
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Values (mappings, lists, scalars) in one scenario, its ``extends`` included, once every
#: alias (``*x``) is expanded: a few aliases can otherwise stand for billions of values
#: ("billion laughs"). Reading 100,000 values takes about 10 s.
MAX_YAML_NODES = 100_000
#: Nesting depth of mappings and lists in one file.
MAX_YAML_DEPTH = 64
#: Files in one ``extends`` chain (the file itself included).
MAX_EXTENDS_DEPTH = 32
#: Characters in an ``extends`` path.
MAX_PATH_CHARS = 1024
#: Bytes (UTF-8) in one component of an ``extends`` path (the usual file-system limit).
MAX_PATH_PART_BYTES = 255

# -- what a scenario may ask for --------------------------------------------------------------

#: Vehicles in the whole fleet (the default reserve has 2,010). One replication of 100,000
#: vehicles takes about 20 s and 350 MB; 1,000,000 take minutes and gigabytes.
MAX_VEHICLES = 100_000
#: Vehicle classes a file may define or override (the defaults are 5): every class is routed
#: over the whole network before a run.
MAX_VEHICLE_CLASSES = 50
#: Dispatchers of one operator.
MAX_DISPATCHERS = 10_000
#: Lanes of a checkpoint, toll plaza or staging point (also green lanes).
MAX_LANES = 1_000
#: Checkpoints placed by ``checkpoints.count``.
MAX_CHECKPOINTS = 1_000
#: Ordinary vehicles per minute at one checkpoint or plaza (6,000 an hour).
MAX_BACKGROUND_PER_MIN = 100.0
#: Minutes of warm-up of the background traffic (one day).
MAX_WARMUP_MIN = 24 * 60.0
#: Latest alarm of an incident in a shared-fleet scenario, minutes after the first (a week).
MAX_AT_MIN = 7 * 24 * 60.0
#: Incidents one wave may generate.
MAX_WAVE_COUNT = 200
#: Ordinary vehicles one replication may simulate: every checkpoint's rate over the warm-up
#: and the 24 h after the alarm (checkpoints-2022 has about 260,000; the heap engine runs
#: some 150,000 a second).
MAX_ORDINARY_VEHICLES = 2_000_000
#: Minutes of warm-up a checkpoint's load may need to reach its steady state (one week): a
#: load close to 1 needs ever longer (at 0.9 on one lane about 2,400 minutes).
MAX_STEADY_WARMUP_MIN = 7 * 24 * 60.0
#: Largest fixed value, median, mean or upper bound of a duration distribution, minutes (one
#: day: a run stops 24 h after the incident is reported, so anything longer means "never").
MAX_DURATION_MIN = 24 * 60.0
#: Largest lognormal ``sigma`` (at 3 the 99th percentile is 1,100 times the median).
MAX_SIGMA = 3.0
#: Replications per incident (a scenario's ``replications`` and ``--reps``).
MAX_REPLICATIONS = 100_000
#: People or tonnes one incident may ask to move.
MAX_MOVE_AMOUNT = 10_000_000
#: Largest ``over_request`` factor.
MAX_OVER_REQUEST = 100.0
#: Largest ``mobilisation_factor`` of a vehicle class.
MAX_FACTOR = 100.0

# -- names in file names and figures ---------------------------------------------------------

#: Characters of a name's part in an output file name (``arrival-<name>.png``).
MAX_SLUG_CHARS = 60
#: Characters of a name in a figure's title or labels (longer names are cut with "…").
MAX_LABEL_CHARS = 60

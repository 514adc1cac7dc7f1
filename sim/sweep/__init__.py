"""Parameter sweeps: many policy settings, each over Monte Carlo replications on common random
numbers, run on local processes or a Dask cluster, and their analysis (``pointsim sweep``)."""

"""Calibration (``pointsim calibrate``): buying behaviour fitted from a transaction history
(:mod:`~sim.calibrate.btyd`, :mod:`~sim.calibrate.fit`), a behaviour response calibrated to an
observed effect (:mod:`~sim.calibrate.effect`), and the redemption catalogue against the point
value (:mod:`~sim.calibrate.catalogue`)."""
